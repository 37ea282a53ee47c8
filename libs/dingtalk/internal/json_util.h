#pragma once
// Lenient readers over nlohmann::json for DingTalk bodies.
//
// DingTalk's documentation shows scalars both natively (1, true) and quoted ("1", "true", "[2,3]"),
// and some arrays as single objects. These readers accept every one of those forms, ignore unknown
// fields and never throw: a missing or unusable value yields std::nullopt / an empty list.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sase::dingtalk::internal {

using Json = nlohmann::json;

// Parses text without exceptions; std::nullopt when it is not JSON.
std::optional<Json> ParseJson(std::string_view text);

std::optional<std::string> AsString(const Json& v);    // strings; numbers and bools as text
std::optional<int64_t> AsInt(const Json& v);           // integers, integral floats, decimal strings
std::optional<bool> AsBool(const Json& v);             // bools, 0/1, "true"/"false"/"1"/"0"
std::vector<int64_t> AsIntList(const Json& v);         // [1,"2"], "[1,2]", a single number
std::vector<std::string> AsStringList(const Json& v);  // ["a"], "[\"a\"]", a single string

// The objects of [{..}], a single {..}, or JSON text of either, by reference: into `v`, which must
// outlive the list, or into the list's own parse of JSON text. Not copied (a user page's objects
// were deep-copied here once each), hence neither copyable nor movable:
//   for (const Json& e : AsObjectList(v)) ...
class ObjectList {
 public:
  explicit ObjectList(const Json& v);
  ObjectList(const ObjectList&) = delete;
  ObjectList& operator=(const ObjectList&) = delete;
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

 private:
  void Add(const Json& v);
  std::optional<Json> owned_;  // the parse of JSON text
  std::vector<std::reference_wrapper<const Json>> items_;
};
inline ObjectList AsObjectList(const Json& v) { return ObjectList(v); }

// Member access on an object; a null/absent member or a non-object `obj` yields nullptr.
const Json* Member(const Json& obj, std::string_view key);

std::string GetString(const Json& obj, std::string_view key);  // "" when absent
std::optional<int64_t> GetInt(const Json& obj, std::string_view key);
bool GetBool(const Json& obj, std::string_view key, bool def = false);
std::optional<bool> GetOptBool(const Json& obj, std::string_view key);

}  // namespace sase::dingtalk::internal

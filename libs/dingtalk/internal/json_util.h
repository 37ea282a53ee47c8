#pragma once
// Lenient readers over nlohmann::json for DingTalk bodies.
//
// DingTalk's documentation shows scalars both natively (1, true) and quoted ("1", "true", "[2,3]"),
// and some arrays as single objects. These readers accept every one of those forms, ignore unknown
// fields and never throw: a missing or unusable value yields std::nullopt / an empty list.

#include <cstdint>
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
std::vector<Json> AsObjectList(const Json& v);         // [{..}], a single {..}, or JSON text of either

// Member access on an object; a null/absent member or a non-object `obj` yields nullptr.
const Json* Member(const Json& obj, std::string_view key);

std::string GetString(const Json& obj, std::string_view key);  // "" when absent
std::optional<int64_t> GetInt(const Json& obj, std::string_view key);
bool GetBool(const Json& obj, std::string_view key, bool def = false);
std::optional<bool> GetOptBool(const Json& obj, std::string_view key);

}  // namespace sase::dingtalk::internal

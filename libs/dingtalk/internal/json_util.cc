#include "dingtalk/internal/json_util.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace sase::dingtalk::internal {

std::optional<Json> ParseJson(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<std::string> AsString(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) return v.dump();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  return std::nullopt;
}

std::optional<int64_t> AsInt(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9.0e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (v.is_string()) {
    int64_t out = 0;
    std::string s(absl::StripAsciiWhitespace(v.get<std::string>()));
    if (absl::SimpleAtoi(s, &out)) return out;
  }
  return std::nullopt;
}

std::optional<bool> AsBool(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) {
    std::optional<int64_t> i = AsInt(v);
    if (i.has_value()) return *i != 0;
    return std::nullopt;
  }
  if (v.is_string()) {
    std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(v.get<std::string>()));
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
  }
  return std::nullopt;
}

namespace {
std::optional<Json> Unquote(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  std::string s(absl::StripAsciiWhitespace(v.get<std::string>()));
  if (s.empty() || (s.front() != '[' && s.front() != '{')) return std::nullopt;
  return ParseJson(s);
}
}  // namespace

std::vector<int64_t> AsIntList(const Json& v) {
  std::vector<int64_t> out;
  if (v.is_array()) {
    for (const Json& e : v) {
      if (std::optional<int64_t> i = AsInt(e)) out.push_back(*i);
    }
    return out;
  }
  if (std::optional<Json> inner = Unquote(v); inner.has_value() && inner->is_array()) return AsIntList(*inner);
  if (std::optional<int64_t> i = AsInt(v)) out.push_back(*i);
  return out;
}

std::vector<std::string> AsStringList(const Json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const Json& e : v) {
      if (std::optional<std::string> s = AsString(e)) out.push_back(*s);
    }
    return out;
  }
  if (std::optional<Json> inner = Unquote(v); inner.has_value() && inner->is_array()) return AsStringList(*inner);
  if (v.is_string() || v.is_number()) {
    if (std::optional<std::string> s = AsString(v); s.has_value() && !s->empty()) out.push_back(*s);
  }
  return out;
}

ObjectList::ObjectList(const Json& v) {
  if (v.is_array() || v.is_object()) {
    Add(v);
    return;
  }
  owned_ = Unquote(v);
  if (owned_.has_value()) Add(*owned_);
}

void ObjectList::Add(const Json& v) {
  if (v.is_object()) {
    items_.emplace_back(v);
    return;
  }
  for (const Json& e : v) {
    if (e.is_object()) items_.emplace_back(e);
  }
}

const Json* Member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string GetString(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr) return "";
  return AsString(*m).value_or("");
}

std::optional<int64_t> GetInt(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr) return std::nullopt;
  return AsInt(*m);
}

bool GetBool(const Json& obj, std::string_view key, bool def) { return GetOptBool(obj, key).value_or(def); }

std::optional<bool> GetOptBool(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr) return std::nullopt;
  return AsBool(*m);
}

}  // namespace sase::dingtalk::internal

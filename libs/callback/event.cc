#include "callback/event.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "callback/error.h"
#include "callback/json_internal.h"
#include "common/sha256.h"

namespace sase::callback {
namespace {

using Json = json_internal::Value;
using json_internal::View;

struct KindEntry {
  std::string_view type;
  EventKind kind;
};

constexpr std::array<KindEntry, 19> kKinds{{
    {"check_url", EventKind::kCheckUrl},
    {"check_create_suite_url", EventKind::kCheckUrl},
    {"check_update_suite_url", EventKind::kCheckUrl},
    {"user_add_org", EventKind::kUserAddOrg},
    {"user_modify_org", EventKind::kUserModifyOrg},
    {"user_leave_org", EventKind::kUserLeaveOrg},
    {"user_active_org", EventKind::kUserActiveOrg},
    {"org_dept_create", EventKind::kOrgDeptCreate},
    {"org_dept_modify", EventKind::kOrgDeptModify},
    {"org_dept_remove", EventKind::kOrgDeptRemove},
    {"org_admin_add", EventKind::kOrgAdminAdd},
    {"org_admin_remove", EventKind::kOrgAdminRemove},
    {"label_user_change", EventKind::kLabelUserChange},
    {"label_conf_add", EventKind::kLabelConfAdd},
    {"label_conf_modify", EventKind::kLabelConfModify},
    {"label_conf_del", EventKind::kLabelConfDel},
    {"org_change", EventKind::kOrgChange},
    {"org_remove", EventKind::kOrgRemove},
    {"exclusive_data_transfer", EventKind::kExclusiveDataTransfer},
}};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// The member of `object` whose key equals one of `names` case-insensitively (names in priority
// order), or nullptr. Among several keys matching the same name, the bytewise smallest wins, and
// among exact duplicates the last one: what nlohmann's sorted, last-write-wins object gave.
const Json* FindKey(const Json& object, std::initializer_list<std::string_view> names) {
  if (!object.IsObject()) return nullptr;
  for (std::string_view name : names) {
    const Json* found = nullptr;
    std::string_view found_key;
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      const std::string_view key = View(it->name);
      if (!EqualsIgnoreCase(key, name)) continue;
      if (found == nullptr || key <= found_key) {
        found = &it->value;
        found_key = key;
      }
    }
    if (found != nullptr) return found;
  }
  return nullptr;
}

// Looks at the top level first, then in a nested "data" object.
const Json* FindField(const Json& root, std::initializer_list<std::string_view> names) {
  if (const Json* v = FindKey(root, names); v != nullptr && !v->IsNull()) return v;
  if (const Json* data = FindKey(root, {"data"}); data != nullptr && data->IsObject()) {
    if (const Json* v = FindKey(*data, names); v != nullptr && !v->IsNull()) return v;
  }
  return nullptr;
}

// Non-negative int64 from a JSON integer or a string of decimal digits.
std::optional<std::int64_t> ToInt64(const Json& v) {
  if (v.IsUint64()) {
    const std::uint64_t u = v.GetUint64();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.IsInt64()) return std::nullopt;  // negative (non-negative ones are IsUint64 too)
  if (v.IsString()) {
    const std::string_view s = View(v);
    if (s.empty() || s.size() > 19) return std::nullopt;
    if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    std::int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return out;
  }
  return std::nullopt;  // floats (1.0, 1e3), booleans, null, arrays, objects
}

std::optional<std::string> ToIdString(const Json& v) {
  if (v.IsString()) {
    if (v.GetStringLength() == 0) return std::nullopt;
    return std::string(View(v));
  }
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  return std::nullopt;
}

// A single value or an array of values; false when any element is malformed.
template <typename T, typename Convert>
bool CollectIds(const Json* field, Convert convert, std::vector<T>& out) {
  if (field == nullptr) return true;
  auto add = [&](const Json& item) {
    std::optional<T> id = convert(item);
    if (!id.has_value()) return false;
    if (std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(std::move(*id));
    return true;
  };
  if (!field->IsArray()) return add(*field);
  bool ok = true;
  for (const Json& item : field->GetArray()) ok = add(item) && ok;
  return ok;
}

std::optional<std::int64_t> ToDeptId(const Json& v) {
  std::optional<std::int64_t> id = ToInt64(v);
  if (id.has_value() && *id <= 0) return std::nullopt;
  return id;
}

std::string Sha256Hex32(std::string_view data) {
  return absl::BytesToHexString(common::Sha256(data).substr(0, 16));
}

}  // namespace

EventKind EventKindFromType(std::string_view event_type) {
  for (const KindEntry& entry : kKinds) {
    if (EqualsIgnoreCase(entry.type, event_type)) return entry.kind;
  }
  return EventKind::kUnknown;
}

std::string_view EventKindName(EventKind kind) {
  for (const KindEntry& entry : kKinds) {
    if (entry.kind == kind) return entry.type;
  }
  return "unknown";
}

std::string ComputeDedupeKey(std::string_view event_type, std::string_view event_id,
                             std::int64_t time_ms, const std::vector<std::string>& user_ids,
                             const std::vector<std::int64_t>& dept_ids) {
  if (!event_id.empty()) return std::string(event_id);
  std::vector<std::string> users = user_ids;
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  std::vector<std::int64_t> depts = dept_ids;
  std::sort(depts.begin(), depts.end());
  depts.erase(std::unique(depts.begin(), depts.end()), depts.end());
  // Length-prefixed so that no two id sets encode alike.
  std::string canonical;
  for (const std::string& u : users) {
    canonical.append("u").append(std::to_string(u.size())).append(":").append(u);
  }
  for (std::int64_t d : depts) canonical.append("d").append(std::to_string(d)).append(";");
  std::string key(event_type);
  key.append(":").append(std::to_string(time_ms)).append(":").append(Sha256Hex32(canonical));
  return key;
}

absl::StatusOr<Event> ParseEvent(std::string_view json, std::int64_t fallback_time_ms) {
  json_internal::ParsedJson parsed;
  const Json& root = parsed.doc;
  if (!json_internal::Parse(json, parsed) || !root.IsObject()) {
    return MakeError(CallbackError::kBadJson, "message is not a JSON object");
  }
  Event event;
  const Json* type = FindKey(root, {"EventType"});
  if (type == nullptr || !type->IsString() || type->GetStringLength() == 0) {
    return MakeError(CallbackError::kBadEvent, "EventType missing or not a string");
  }
  event.event_type = std::string(View(*type));
  event.kind = EventKindFromType(event.event_type);
  const bool strict = event.kind != EventKind::kUnknown;

  if (const Json* id = FindKey(root, {"eventId"}); id != nullptr && !id->IsNull()) {
    if (std::optional<std::string> s = ToIdString(*id)) {
      event.event_id = std::move(*s);
    } else if (strict) {
      return MakeError(CallbackError::kBadEvent, "eventId is not a string");
    }
  }
  if (const Json* corp = FindField(root, {"CorpId", "eventCorpId"});
      corp != nullptr && corp->IsString()) {
    event.corp_id = std::string(View(*corp));
  }
  if (const Json* t = FindField(root, {"EventTime", "TimeStamp", "eventBornTime"})) {
    if (std::optional<std::int64_t> ms = ToInt64(*t)) {
      event.event_time_ms = *ms;
    } else if (strict) {
      return MakeError(CallbackError::kBadEvent, "event time is not a non-negative integer");
    }
  }
  std::vector<std::string> users;
  if (!CollectIds<std::string>(FindField(root, {"UserId", "UserIdList"}), ToIdString, users) &&
      strict) {
    return MakeError(CallbackError::kBadEvent, "user ids must be non-empty strings");
  }
  std::vector<std::int64_t> depts;
  if (!CollectIds<std::int64_t>(FindField(root, {"DeptId", "DeptIdList"}), ToDeptId, depts) &&
      strict) {
    return MakeError(CallbackError::kBadEvent, "dept ids must be positive integers");
  }
  event.user_ids = std::move(users);
  event.dept_ids = std::move(depts);
  const std::int64_t key_time = event.event_time_ms != 0 ? event.event_time_ms : fallback_time_ms;
  event.dedupe_key = ComputeDedupeKey(event.event_type, event.event_id, key_time, event.user_ids,
                                      event.dept_ids);
  event.raw_json = std::string(json);
  return event;
}

}  // namespace sase::callback

#include "sync_worker/source/field_mapping.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/timestamp.h"

namespace sase::sync_worker {
namespace {

namespace v1 = ::sase::dingtalk::v1;

std::string BoolText(bool b) { return b ? "true" : "false"; }

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::string JsonValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Parsed `extension` object; null when absent or not an object.
nlohmann::json ParseExtension(const std::string& text) {
  if (text.empty()) return nullptr;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return nullptr;
  return j;
}

}  // namespace

std::optional<std::string> SourceValue(const dingtalk::User& u, std::string_view field) {
  if (field.rfind("extension.", 0) == 0) {
    nlohmann::json ext = ParseExtension(u.extension);
    if (!ext.is_object()) return std::nullopt;
    auto it = ext.find(std::string(field.substr(10)));
    if (it == ext.end() || it->is_null()) return std::nullopt;
    return JsonValueText(*it);
  }
  if (field == "userid") return NonEmpty(u.userid);
  if (field == "unionid") return NonEmpty(u.unionid);
  if (field == "name") return NonEmpty(u.name);
  if (field == "avatar") return NonEmpty(u.avatar);
  if (field == "state_code") return NonEmpty(u.state_code);
  if (field == "mobile") return NonEmpty(u.mobile);
  if (field == "hide_mobile") return BoolText(u.hide_mobile);
  if (field == "telephone") return NonEmpty(u.telephone);
  if (field == "job_number") return NonEmpty(u.job_number);
  if (field == "title") return NonEmpty(u.title);
  if (field == "email") return NonEmpty(u.email);
  if (field == "org_email") return NonEmpty(u.org_email);
  if (field == "work_place") return NonEmpty(u.work_place);
  if (field == "remark") return NonEmpty(u.remark);
  if (field == "manager_userid") return NonEmpty(u.manager_userid);
  if (field == "hired_date") {
    if (!u.hired_date_ms) return std::nullopt;
    return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMillis(*u.hired_date_ms), absl::UTCTimeZone());
  }
  if (field == "active") return BoolText(u.active);
  if (field == "admin") return BoolText(u.admin);
  if (field == "boss") return BoolText(u.boss);
  if (field == "senior") return BoolText(u.senior);
  if (field == "real_authed") return BoolText(u.real_authed);
  if (field == "exclusive_account") return BoolText(u.exclusive_account);
  return std::nullopt;
}

Memberships MembershipsOf(const dingtalk::User& u, int64_t listed_in) {
  auto sort_unique = [](std::vector<int64_t>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  };
  Memberships m;
  m.depts = u.dept_id_list;
  if (listed_in != 0) m.depts.push_back(listed_in);
  sort_unique(m.depts);
  for (const dingtalk::DeptLeader& l : u.leader_in_dept) {
    if (l.leader) m.leader_of.push_back(l.dept_id);
  }
  sort_unique(m.leader_of);
  return m;
}

v1::User MapUser(const dingtalk::User& u, const std::vector<store::FieldMappingRecord>& rules) {
  v1::User out;
  out.set_dingtalk_userid(u.userid);
  out.set_unionid(u.unionid);
  out.set_name(u.name);
  out.set_email(u.email);
  out.set_org_email(u.org_email);
  out.set_mobile(u.mobile);
  out.set_job_number(u.job_number);
  out.set_title(u.title);
  out.set_avatar(u.avatar);
  out.set_manager_userid(u.manager_userid);
  out.set_active(u.active);
  out.set_status(u.disabled.value_or(false) ? v1::USER_DISABLED : v1::USER_ACTIVE);
  if (u.hired_date_ms) common::SetTimestampMillis(*u.hired_date_ms, out.mutable_hired_time());
  auto& attrs = *out.mutable_attributes();
  nlohmann::json ext = ParseExtension(u.extension);
  if (ext.is_object()) {
    for (auto it = ext.begin(); it != ext.end(); ++it) {
      if (it->is_null()) continue;
      attrs[absl::StrCat("extension.", it.key())] = JsonValueText(*it);
    }
  }
  for (const store::FieldMappingRecord& r : rules) {
    std::optional<std::string> v;
    if (r.source_field.rfind("extension.", 0) == 0) {
      if (ext.is_object()) {
        auto it = ext.find(r.source_field.substr(10));
        if (it != ext.end() && !it->is_null()) v = JsonValueText(*it);
      }
    } else {
      v = SourceValue(u, r.source_field);
    }
    const std::string& t = r.target_field;
    if (t.rfind("ext.", 0) == 0) {
      if (v) {
        attrs[t.substr(4)] = *v;
      } else {
        attrs.erase(t.substr(4));
      }
      continue;
    }
    std::string value = v.value_or("");
    if (t == "email") {
      out.set_email(value);
    } else if (t == "mobile") {
      out.set_mobile(value);
    } else if (t == "job_number") {
      out.set_job_number(value);
    } else if (t == "title") {
      out.set_title(value);
    } else if (t == "name") {
      out.set_name(value);
    } else if (t == "org_email") {
      out.set_org_email(value);
    }
  }
  return out;
}

}  // namespace sase::sync_worker

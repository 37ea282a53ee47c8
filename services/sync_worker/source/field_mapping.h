#pragma once
// Turning a DingTalk user (a v2/user/list item) into directory content, with the identity source's
// field mappings applied. Pure functions: no I/O.
//
// Built-in fields come from the same-named DingTalk fields (userid -> dingtalk_userid, unionid, name,
// email, org_email, mobile, job_number, title, avatar, manager_userid, active, hired_date ->
// hired_time; disable_status -> USER_DISABLED). Every key of DingTalk's `extension` JSON is kept as
// attribute "extension.<key>". Then each mapping copies its source ("email", ..., or
// "extension.<key>") to its target: a built-in field, or "ext.<name>" = attribute "<name>".
// department_ids / leader_department_ids are left to the caller (a user is listed once per
// department; the fetcher merges the listings).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dingtalk/types.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "store/field_mapping_record.h"

namespace sase::sync_worker {

// The value of `field` of `u` as text; nullopt when DingTalk did not send it. Booleans are
// "true"/"false", hired_date RFC 3339 (UTC), extension values their string (or compact JSON).
std::optional<std::string> SourceValue(const dingtalk::User& u, std::string_view field);

::sase::dingtalk::v1::User MapUser(const dingtalk::User& u, const std::vector<store::FieldMappingRecord>& rules);

// A user's direct departments (dept_id_list, plus `listed_in` when the user came from a
// department's listing and not 0) and the departments it leads (leader_in_dept), sorted, unique.
struct Memberships {
  std::vector<int64_t> depts;
  std::vector<int64_t> leader_of;
};
Memberships MembershipsOf(const dingtalk::User& u, int64_t listed_in = 0);

}  // namespace sase::sync_worker

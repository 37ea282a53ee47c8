#pragma once
// Typed results of DingTalk API calls (PROTOCOL.md §4–§6). Absent fields keep their defaults.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace sase::dingtalk {

inline constexpr int64_t kRootDeptId = 1;
inline constexpr int kMaxUserPageSize = 100;

struct DeptOrder {
  int64_t dept_id = 0;
  int64_t order = 0;
};

struct DeptLeader {
  int64_t dept_id = 0;
  bool leader = false;
};

struct Role {
  int64_t id = 0;
  std::string name;
  std::string group_name;
};

// v2/user/get `result` and v2/user/list items (§6.1).
struct User {
  std::string userid;
  std::string unionid;
  std::string name;
  std::string avatar;
  std::string state_code;
  std::string mobile;
  bool hide_mobile = false;
  std::string telephone;
  std::string job_number;
  std::string title;
  std::string email;
  std::string org_email;
  std::string work_place;
  std::string remark;
  std::string manager_userid;
  std::vector<int64_t> dept_id_list;
  // get: dept_order_list; list: `dept_order` for the listed department (stored here with its dept id).
  std::vector<DeptOrder> dept_order_list;
  // get: leader_in_dept; list: `leader` for the listed department (stored here with its dept id).
  std::vector<DeptLeader> leader_in_dept;
  std::string extension;       // custom fields, JSON object text as DingTalk sends it ("" when absent)
  std::string extension_i18n;  // JSON text
  std::optional<int64_t> hired_date_ms;
  bool active = false;
  bool admin = false;
  bool boss = false;
  bool senior = false;
  bool real_authed = false;
  std::vector<Role> role_list;
  // Dedicated DingTalk (exclusive) accounts, §5.7.
  bool exclusive_account = false;
  std::string exclusive_account_type;
  std::string login_id;
  std::string nickname;
  std::string exclusive_account_corp_id;
  std::string exclusive_account_corp_name;
  std::optional<bool> disabled;  // `disable_status`, when present

  // True when leader_in_dept marks the user as a manager of `dept_id`.
  bool IsLeaderOf(int64_t dept_id) const;
};

// department/get `result` (§6.2); listsub items fill only dept_id, name, parent_id,
// create_dept_group and auto_add_user.
struct Department {
  int64_t dept_id = 0;
  std::string name;
  int64_t parent_id = 0;  // 0 = none (root)
  int64_t order = 0;
  std::string source_identifier;
  std::string code;
  bool create_dept_group = false;
  bool auto_add_user = false;
  bool hide_dept = false;
  bool outer_dept = false;
  bool from_union_org = false;
  std::string org_dept_owner;
  std::vector<std::string> dept_manager_userid_list;
  std::optional<int64_t> member_count;
  std::optional<int64_t> owning_member_count;
};

struct UserPage {
  std::vector<User> users;
  bool has_more = false;
  int64_t next_cursor = 0;
};

// topapi/user/getbyunionid.
struct UnionIdLookup {
  std::string userid;
  int64_t contact_type = 0;  // 0 employee, 1 external contact
};

// topapi/v2/user/getuserinfo (free login inside the DingTalk client).
struct FreeLoginUser {
  std::string userid;
  std::string unionid;
  std::string associated_unionid;
  std::string name;
  std::string device_id;
  bool sys = false;       // is an admin
  int64_t sys_level = 0;  // 1 primary admin, 2 sub-admin, 100 boss, 0 other
};

// App access token (cached by the client). `token` is a secret: never log it.
struct AccessToken {
  std::string token;
  absl::Time expires_at;
};

// /v1.0/oauth2/userAccessToken. Both tokens are secrets.
struct UserAccessToken {
  std::string access_token;
  std::string refresh_token;
  absl::Time expires_at;
  std::string corp_id;  // only when the login scope included corpid
};

// /v1.0/contact/users/me.
struct Me {
  std::string nick;
  std::string avatar_url;
  std::string mobile;
  std::string open_id;
  std::string union_id;
  std::string email;
  std::string state_code;
};

// One entry of call_back/get_call_back_failed_result (both documented layouts).
struct FailedCallback {
  std::string call_back_tag;  // e.g. "user_add_org", "org_dept_remove"
  int64_t event_time_ms = 0;
  std::string corp_id;
  std::vector<std::string> userids;
  std::vector<int64_t> dept_ids;
  std::string raw_json;  // the entry as received
};

struct FailedCallbackPage {
  std::vector<FailedCallback> events;
  bool has_more = false;
};

}  // namespace sase::dingtalk

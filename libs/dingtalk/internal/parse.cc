#include "dingtalk/internal/parse.h"

#include "absl/strings/str_cat.h"
#include "dingtalk/error.h"

namespace sase::dingtalk {

bool User::IsLeaderOf(int64_t dept_id) const {
  for (const DeptLeader& l : leader_in_dept) {
    if (l.dept_id == dept_id) return l.leader;
  }
  return false;
}

namespace internal {
namespace {

absl::Status Malformed(std::string_view what) {
  return MakeError(ApiError::kBadResponse, absl::StrCat("malformed DingTalk response: ", std::string(what)));
}

// `result` as an object (some doc examples quote it as JSON text).
const Json* ResultObject(const Json& body, Json* storage) {
  const Json* r = Member(body, "result");
  if (r == nullptr) return nullptr;
  if (r->is_object()) return r;
  if (r->is_string()) {
    std::optional<Json> inner = ParseJson(r->get<std::string>());
    if (inner.has_value() && inner->is_object()) {
      *storage = std::move(*inner);
      return storage;
    }
  }
  return nullptr;
}

// A JSON-text field that DingTalk sends as a string but a simulator may send as an object.
std::string JsonText(const Json& obj, std::string_view key) {
  const Json* m = Member(obj, key);
  if (m == nullptr) return "";
  if (m->is_string()) return m->get<std::string>();
  if (m->is_object() || m->is_array()) return m->dump();
  return "";
}

absl::Time ExpiryFrom(const Json& body, absl::Time now) {
  std::optional<int64_t> s = GetInt(body, "expireIn");
  if (!s.has_value()) s = GetInt(body, "expires_in");
  if (!s.has_value() || *s <= 0) s = 7200;
  return now + absl::Seconds(*s);
}

}  // namespace

User ParseUser(const Json& obj, int64_t listed_dept_id) {
  User u;
  u.userid = GetString(obj, "userid");
  u.unionid = GetString(obj, "unionid");
  u.name = GetString(obj, "name");
  u.avatar = GetString(obj, "avatar");
  u.state_code = GetString(obj, "state_code");
  u.mobile = GetString(obj, "mobile");
  u.hide_mobile = GetBool(obj, "hide_mobile");
  u.telephone = GetString(obj, "telephone");
  u.job_number = GetString(obj, "job_number");
  u.title = GetString(obj, "title");
  u.email = GetString(obj, "email");
  u.org_email = GetString(obj, "org_email");
  u.work_place = GetString(obj, "work_place");
  u.remark = GetString(obj, "remark");
  u.manager_userid = GetString(obj, "manager_userid");
  if (const Json* m = Member(obj, "dept_id_list")) u.dept_id_list = AsIntList(*m);
  if (const Json* m = Member(obj, "dept_order_list")) {
    for (const Json& e : AsObjectList(*m)) {
      std::optional<int64_t> d = GetInt(e, "dept_id");
      if (d.has_value()) u.dept_order_list.push_back({*d, GetInt(e, "order").value_or(0)});
    }
  }
  if (const Json* m = Member(obj, "leader_in_dept")) {
    for (const Json& e : AsObjectList(*m)) {
      std::optional<int64_t> d = GetInt(e, "dept_id");
      if (d.has_value()) u.leader_in_dept.push_back({*d, GetBool(e, "leader")});
    }
  }
  if (listed_dept_id > 0) {
    if (std::optional<bool> leader = GetOptBool(obj, "leader"); leader.has_value() && u.leader_in_dept.empty()) {
      u.leader_in_dept.push_back({listed_dept_id, *leader});
    }
    if (std::optional<int64_t> order = GetInt(obj, "dept_order"); order.has_value() && u.dept_order_list.empty()) {
      u.dept_order_list.push_back({listed_dept_id, *order});
    }
  }
  u.extension = JsonText(obj, "extension");
  u.extension_i18n = JsonText(obj, "extension_i18n");
  u.hired_date_ms = GetInt(obj, "hired_date");
  u.active = GetBool(obj, "active");
  u.admin = GetBool(obj, "admin");
  u.boss = GetBool(obj, "boss");
  u.senior = GetBool(obj, "senior");
  u.real_authed = GetBool(obj, "real_authed");
  if (const Json* m = Member(obj, "role_list")) {
    for (const Json& e : AsObjectList(*m)) {
      u.role_list.push_back({GetInt(e, "id").value_or(0), GetString(e, "name"), GetString(e, "group_name")});
    }
  }
  u.exclusive_account = GetBool(obj, "exclusive_account");
  u.exclusive_account_type = GetString(obj, "exclusive_account_type");
  u.login_id = GetString(obj, "login_id");
  u.nickname = GetString(obj, "nickname");
  u.exclusive_account_corp_id = GetString(obj, "exclusive_account_corp_id");
  u.exclusive_account_corp_name = GetString(obj, "exclusive_account_corp_name");
  u.disabled = GetOptBool(obj, "disable_status");
  return u;
}

Department ParseDepartment(const Json& obj) {
  Department d;
  d.dept_id = GetInt(obj, "dept_id").value_or(0);
  d.name = GetString(obj, "name");
  d.parent_id = GetInt(obj, "parent_id").value_or(0);
  d.order = GetInt(obj, "order").value_or(0);
  d.source_identifier = GetString(obj, "source_identifier");
  d.code = GetString(obj, "code");
  d.create_dept_group = GetBool(obj, "create_dept_group");
  d.auto_add_user = GetBool(obj, "auto_add_user");
  d.hide_dept = GetBool(obj, "hide_dept");
  d.outer_dept = GetBool(obj, "outer_dept");
  d.from_union_org = GetBool(obj, "from_union_org");
  d.org_dept_owner = GetString(obj, "org_dept_owner");
  if (const Json* m = Member(obj, "dept_manager_userid_list")) d.dept_manager_userid_list = AsStringList(*m);
  d.member_count = GetInt(obj, "member_count");
  d.owning_member_count = GetInt(obj, "owning_member_count");
  return d;
}

absl::StatusOr<UserPage> ParseUserPage(const Json& body, int64_t dept_id) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  if (r == nullptr) return Malformed("v2/user/list without result");
  UserPage page;
  page.has_more = GetBool(*r, "has_more");
  page.next_cursor = GetInt(*r, "next_cursor").value_or(0);
  if (const Json* list = Member(*r, "list")) {
    for (const Json& e : AsObjectList(*list)) {
      User u = ParseUser(e, dept_id);
      if (u.userid.empty()) return Malformed("v2/user/list item without userid");
      page.users.push_back(std::move(u));
    }
  }
  if (page.has_more && page.next_cursor <= 0) return Malformed("has_more without next_cursor");
  return page;
}

absl::StatusOr<User> ParseUserGet(const Json& body) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  if (r == nullptr) return Malformed("v2/user/get without result");
  User u = ParseUser(*r);
  if (u.userid.empty()) return Malformed("v2/user/get without userid");
  return u;
}

absl::StatusOr<std::vector<Department>> ParseListSub(const Json& body) {
  const Json* r = Member(body, "result");
  std::vector<Department> out;
  if (r == nullptr) return out;  // no children
  for (const Json& e : AsObjectList(*r)) {
    Department d = ParseDepartment(e);
    if (d.dept_id == 0) return Malformed("listsub item without dept_id");
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> ParseListSubId(const Json& body) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  if (r == nullptr) return std::vector<int64_t>{};
  const Json* list = Member(*r, "dept_id_list");
  if (list == nullptr) return std::vector<int64_t>{};
  return AsIntList(*list);
}

absl::StatusOr<Department> ParseDepartmentGet(const Json& body) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  if (r == nullptr) return Malformed("department/get without result");
  Department d = ParseDepartment(*r);
  if (d.dept_id == 0) return Malformed("department/get without dept_id");
  return d;
}

absl::StatusOr<UnionIdLookup> ParseGetByUnionId(const Json& body) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  if (r == nullptr) return Malformed("getbyunionid without result");
  UnionIdLookup out{GetString(*r, "userid"), GetInt(*r, "contact_type").value_or(0)};
  if (out.userid.empty()) return Malformed("getbyunionid without userid");
  return out;
}

absl::StatusOr<int64_t> ParseCount(const Json& body) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  std::optional<int64_t> count = r ? GetInt(*r, "count") : std::nullopt;
  if (!count.has_value()) return Malformed("user/count without result.count");
  return *count;
}

absl::StatusOr<FreeLoginUser> ParseGetUserInfo(const Json& body) {
  Json storage;
  const Json* r = ResultObject(body, &storage);
  if (r == nullptr) return Malformed("getuserinfo without result");
  FreeLoginUser u;
  u.userid = GetString(*r, "userid");
  u.unionid = GetString(*r, "unionid");
  u.associated_unionid = GetString(*r, "associated_unionid");
  u.name = GetString(*r, "name");
  u.device_id = GetString(*r, "device_id");
  u.sys = GetBool(*r, "sys");
  u.sys_level = GetInt(*r, "sys_level").value_or(0);
  if (u.userid.empty()) return Malformed("getuserinfo without userid");
  return u;
}

absl::StatusOr<Me> ParseMe(const Json& body) {
  Me me;
  me.nick = GetString(body, "nick");
  me.avatar_url = GetString(body, "avatarUrl");
  me.mobile = GetString(body, "mobile");
  me.open_id = GetString(body, "openId");
  me.union_id = GetString(body, "unionId");
  me.email = GetString(body, "email");
  me.state_code = GetString(body, "stateCode");
  if (me.union_id.empty()) return Malformed("users/me without unionId");
  return me;
}

absl::StatusOr<FailedCallbackPage> ParseFailedCallbacks(const Json& body) {
  FailedCallbackPage page;
  page.has_more = GetBool(body, "has_more");
  const Json* list = Member(body, "failed_list");
  if (list == nullptr) return page;
  for (const Json& e : AsObjectList(*list)) {
    FailedCallback f;
    f.call_back_tag = GetString(e, "call_back_tag");
    f.event_time_ms = GetInt(e, "event_time").value_or(0);
    f.raw_json = e.dump();
    // Current layout nests the data under the tag's name; the 2016 layout is flat.
    const Json* data = f.call_back_tag.empty() ? nullptr : Member(e, f.call_back_tag);
    const Json& src = (data != nullptr && data->is_object()) ? *data : e;
    f.corp_id = GetString(src, "corpid");
    if (f.corp_id.empty()) f.corp_id = GetString(e, "corpid");
    for (std::string_view key : {"userid", "userId", "UserId"}) {
      if (const Json* m = Member(src, key)) {
        for (std::string& id : AsStringList(*m)) {
          if (!id.empty()) f.userids.push_back(std::move(id));
        }
      }
    }
    for (std::string_view key : {"deptid", "dept_id", "deptId", "DeptId"}) {
      if (const Json* m = Member(src, key)) {
        std::vector<int64_t> ids = AsIntList(*m);
        f.dept_ids.insert(f.dept_ids.end(), ids.begin(), ids.end());
      }
    }
    page.events.push_back(std::move(f));
  }
  return page;
}

absl::StatusOr<AccessToken> ParseAccessToken(const Json& body, absl::Time now) {
  AccessToken t;
  t.token = GetString(body, "accessToken");
  if (t.token.empty()) t.token = GetString(body, "access_token");
  if (t.token.empty()) return Malformed("token response without a token");
  t.expires_at = ExpiryFrom(body, now);
  return t;
}

absl::StatusOr<UserAccessToken> ParseUserAccessToken(const Json& body, absl::Time now) {
  UserAccessToken t;
  t.access_token = GetString(body, "accessToken");
  t.refresh_token = GetString(body, "refreshToken");
  t.corp_id = GetString(body, "corpId");
  if (t.access_token.empty()) return Malformed("userAccessToken response without accessToken");
  t.expires_at = ExpiryFrom(body, now);
  return t;
}

}  // namespace internal
}  // namespace sase::dingtalk

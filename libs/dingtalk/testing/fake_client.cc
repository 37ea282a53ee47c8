#include "dingtalk/testing/fake_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sase::dingtalk::testing {

FakeClient::FakeClient() { depts_[kRootDeptId] = MakeDepartment(kRootDeptId, "root", 0); }

void FakeClient::AddDepartment(Department d) {
  std::lock_guard<std::mutex> lock(mu_);
  depts_[d.dept_id] = std::move(d);
}

void FakeClient::RemoveDepartment(int64_t dept_id) {
  std::lock_guard<std::mutex> lock(mu_);
  depts_.erase(dept_id);
}

void FakeClient::AddUser(User u) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = u.userid;
  users_[id] = std::move(u);
}

void FakeClient::RemoveUser(const std::string& userid) {
  std::lock_guard<std::mutex> lock(mu_);
  users_.erase(userid);
}

void FakeClient::AddAuthCode(const std::string& auth_code, const std::string& unionid) {
  std::lock_guard<std::mutex> lock(mu_);
  auth_codes_[auth_code] = unionid;
}

void FakeClient::AddFreeLoginCode(const std::string& code, const std::string& userid) {
  std::lock_guard<std::mutex> lock(mu_);
  free_codes_[code] = userid;
}

void FakeClient::AddFailedCallback(FailedCallback event) {
  std::lock_guard<std::mutex> lock(mu_);
  failed_callbacks_.push_back(std::move(event));
}

void FakeClient::FailNext(const std::string& api_name, absl::Status status, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < times; ++i) fail_next_[api_name].push_back(status);
}

void FakeClient::FailAlways(const std::string& api_name, absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_always_[api_name] = std::move(status);
}

void FakeClient::ClearFailures() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_.clear();
  fail_always_.clear();
}

int FakeClient::Calls(const std::string& api_name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(api_name);
  return it == calls_.end() ? 0 : it->second;
}

int FakeClient::TotalCalls() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [name, count] : calls_) n += count;
  return n;
}

ClientStats FakeClient::Stats() const { return stats_.Snapshot(); }

absl::Status FakeClient::Enter(const std::string& api_name, const CallOptions& opts) {
  ++calls_[api_name];
  stats_.AddCall();
  if (opts.stats != nullptr) opts.stats->AddCall();
  absl::Status failure;
  if (auto it = fail_always_.find(api_name); it != fail_always_.end()) {
    failure = it->second;
  } else if (auto q = fail_next_.find(api_name); q != fail_next_.end() && !q->second.empty()) {
    failure = q->second.front();
    q->second.pop_front();
  }
  if (ReasonOf(failure) == ApiError::kThrottled) {
    stats_.AddThrottle();
    if (opts.stats != nullptr) opts.stats->AddThrottle();
  }
  return failure;
}

absl::StatusOr<AccessToken> FakeClient::GetAccessToken(const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kAccessToken, opts);
  if (!s.ok()) return s;
  return AccessToken{"fake-app-token", absl::Now() + absl::Hours(2)};
}

absl::StatusOr<std::vector<Department>> FakeClient::ListSubDepartments(int64_t dept_id, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kListSub, opts);
  if (!s.ok()) return s;
  if (!depts_.contains(dept_id)) return MakeError(ApiError::kNotFound, "department not found", "60003");
  std::vector<Department> out;
  for (const auto& [id, d] : depts_) {
    if (id != dept_id && d.parent_id == dept_id) {
      Department item;
      item.dept_id = d.dept_id;
      item.name = d.name;
      item.parent_id = d.parent_id;
      item.create_dept_group = d.create_dept_group;
      item.auto_add_user = d.auto_add_user;
      out.push_back(std::move(item));
    }
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> FakeClient::ListSubDepartmentIds(int64_t dept_id, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kListSubId, opts);
  if (!s.ok()) return s;
  if (!depts_.contains(dept_id)) return MakeError(ApiError::kNotFound, "department not found", "60003");
  std::vector<int64_t> out;
  for (const auto& [id, d] : depts_) {
    if (id != dept_id && d.parent_id == dept_id) out.push_back(id);
  }
  return out;
}

absl::StatusOr<Department> FakeClient::GetDepartment(int64_t dept_id, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kDepartmentGet, opts);
  if (!s.ok()) return s;
  auto it = depts_.find(dept_id);
  if (it == depts_.end()) return MakeError(ApiError::kNotFound, "department not found", "60003");
  return it->second;
}

absl::StatusOr<UserPage> FakeClient::ListUsersPage(int64_t dept_id, int64_t cursor, int size, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (size < 1 || size > kMaxUserPageSize || cursor < 0) {
    return MakeError(ApiError::kInvalidArgument, absl::StrCat("bad page size ", size, " or cursor ", cursor));
  }
  absl::Status s = Enter(api::kUserList, opts);
  if (!s.ok()) return s;
  if (!depts_.contains(dept_id)) return MakeError(ApiError::kNotFound, "department not found", "60003");
  std::vector<const User*> members;
  for (const auto& [id, u] : users_) {
    if (std::find(u.dept_id_list.begin(), u.dept_id_list.end(), dept_id) != u.dept_id_list.end()) {
      members.push_back(&u);
    }
  }
  UserPage page;
  int64_t end = std::min<int64_t>(cursor + size, static_cast<int64_t>(members.size()));
  for (int64_t i = cursor; i < end; ++i) page.users.push_back(*members[static_cast<size_t>(i)]);
  page.has_more = end < static_cast<int64_t>(members.size());
  page.next_cursor = page.has_more ? end : 0;
  return page;
}

absl::StatusOr<User> FakeClient::GetUser(const std::string& userid, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kUserGet, opts);
  if (!s.ok()) return s;
  auto it = users_.find(userid);
  if (it == users_.end()) return MakeError(ApiError::kNotFound, "user not found", "33012");
  return it->second;
}

absl::StatusOr<UnionIdLookup> FakeClient::GetUserIdByUnionId(const std::string& unionid, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kGetByUnionId, opts);
  if (!s.ok()) return s;
  for (const auto& [id, u] : users_) {
    if (u.unionid == unionid) return UnionIdLookup{id, 0};
  }
  return MakeError(ApiError::kNotFound, "user not found", "60121");
}

absl::StatusOr<int64_t> FakeClient::CountUsers(bool only_active, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kUserCount, opts);
  if (!s.ok()) return s;
  int64_t n = 0;
  for (const auto& [id, u] : users_) {
    if (!only_active || u.active) ++n;
  }
  return n;
}

absl::StatusOr<FreeLoginUser> FakeClient::GetUserInfoByCode(const std::string& code, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kGetUserInfo, opts);
  if (!s.ok()) return s;
  auto it = free_codes_.find(code);
  if (it == free_codes_.end()) return MakeError(ApiError::kInvalidAuthCode, "unknown temp auth code", "40078");
  std::string userid = it->second;
  free_codes_.erase(it);  // single use
  FreeLoginUser out;
  out.userid = userid;
  if (auto u = users_.find(userid); u != users_.end()) {
    out.unionid = u->second.unionid;
    out.name = u->second.name;
  }
  return out;
}

absl::StatusOr<UserAccessToken> FakeClient::ExchangeUserAuthCode(const std::string& auth_code,
                                                                 const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kUserAccessToken, opts);
  if (!s.ok()) return s;
  auto it = auth_codes_.find(auth_code);
  if (it == auth_codes_.end()) return MakeError(ApiError::kInvalidAuthCode, "unknown auth code");
  std::string token = "user-token-" + auth_code;
  user_tokens_[token] = it->second;
  auth_codes_.erase(it);  // single use
  return UserAccessToken{token, "refresh-" + auth_code, absl::Now() + absl::Hours(2), ""};
}

absl::StatusOr<Me> FakeClient::GetMe(const std::string& user_access_token, const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kUsersMe, opts);
  if (!s.ok()) return s;
  auto it = user_tokens_.find(user_access_token);
  if (it == user_tokens_.end()) return MakeError(ApiError::kAuth, "invalid user token", "InvalidAuthentication");
  Me me;
  me.union_id = it->second;
  for (const auto& [id, u] : users_) {
    if (u.unionid == me.union_id) {
      me.nick = u.name;
      me.email = u.email;
    }
  }
  return me;
}

absl::StatusOr<FailedCallbackPage> FakeClient::GetFailedCallbacks(const CallOptions& opts) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status s = Enter(api::kFailedCallbacks, opts);
  if (!s.ok()) return s;
  FailedCallbackPage page;
  size_t n = std::min<size_t>(failed_callbacks_.size(), 200);
  page.events.assign(failed_callbacks_.begin(), failed_callbacks_.begin() + static_cast<std::ptrdiff_t>(n));
  failed_callbacks_.erase(failed_callbacks_.begin(), failed_callbacks_.begin() + static_cast<std::ptrdiff_t>(n));
  page.has_more = !failed_callbacks_.empty();
  return page;
}

}  // namespace sase::dingtalk::testing

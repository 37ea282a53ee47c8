#pragma once
// In-memory dingtalk::Client for tests of the sync engine and login flow.
//
//   FakeClient dt;
//   dt.AddDepartment(MakeDepartment(2, "研发部", kRootDeptId));
//   dt.AddUser(UserBuilder("zhangsan").InDept(2).Build());
//   dt.FailNext(api::kUserList, MakeError(ApiError::kThrottled, "x"));   // inject errors
//   ... run the code under test ...
//   EXPECT_EQ(dt.Calls(api::kUserList), 3);
//
// Semantics follow DingTalk: listsub returns direct children only, user list returns the direct
// members of a department ordered by userid with cursor = offset, unknown ids are kNotFound.
// Thread-safe.

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dingtalk/client.h"
#include "dingtalk/error.h"

namespace sase::dingtalk::testing {

// A department with the fields listsub returns (designated initializers trip -Wmissing-field-initializers).
inline Department MakeDepartment(int64_t dept_id, std::string name, int64_t parent_id) {
  Department d;
  d.dept_id = dept_id;
  d.name = std::move(name);
  d.parent_id = parent_id;
  return d;
}

class UserBuilder {
 public:
  explicit UserBuilder(std::string userid) {
    user_.userid = userid;
    user_.unionid = "union-" + userid;
    user_.name = userid;
    user_.active = true;
  }
  UserBuilder& InDept(int64_t dept_id, bool leader = false) {
    user_.dept_id_list.push_back(dept_id);
    user_.leader_in_dept.push_back({dept_id, leader});
    return *this;
  }
  UserBuilder& Name(std::string v) {
    user_.name = std::move(v);
    return *this;
  }
  UserBuilder& UnionId(std::string v) {
    user_.unionid = std::move(v);
    return *this;
  }
  UserBuilder& Email(std::string v) {
    user_.email = std::move(v);
    return *this;
  }
  UserBuilder& OrgEmail(std::string v) {
    user_.org_email = std::move(v);
    return *this;
  }
  UserBuilder& Mobile(std::string v) {
    user_.mobile = std::move(v);
    return *this;
  }
  UserBuilder& Title(std::string v) {
    user_.title = std::move(v);
    return *this;
  }
  UserBuilder& JobNumber(std::string v) {
    user_.job_number = std::move(v);
    return *this;
  }
  UserBuilder& Extension(std::string json_text) {
    user_.extension = std::move(json_text);
    return *this;
  }
  UserBuilder& Active(bool v) {
    user_.active = v;
    return *this;
  }
  UserBuilder& Manager(std::string userid) {
    user_.manager_userid = std::move(userid);
    return *this;
  }
  User Build() const { return user_; }

 private:
  User user_;
};

class FakeClient final : public Client {
 public:
  FakeClient();

  // Organisation. The root (dept 1, "root") exists from the start.
  void AddDepartment(Department d);  // replaces an existing one with the same id
  void RemoveDepartment(int64_t dept_id);
  void AddUser(User u);  // replaces an existing one with the same userid
  void RemoveUser(const std::string& userid);

  // Login fixtures.
  void AddAuthCode(const std::string& auth_code, const std::string& unionid);  // OAuth code -> users/me
  void AddFreeLoginCode(const std::string& code, const std::string& userid);   // getuserinfo
  void AddFailedCallback(FailedCallback event);                                // returned once

  // Failure injection by API name (api::k...): the next `times` calls fail with `status`.
  void FailNext(const std::string& api_name, absl::Status status, int times = 1);
  // Every call fails until ClearFailures().
  void FailAlways(const std::string& api_name, absl::Status status);
  void ClearFailures();

  int Calls(const std::string& api_name) const;
  int TotalCalls() const;

  absl::StatusOr<AccessToken> GetAccessToken(const CallOptions& opts) override;
  absl::StatusOr<std::vector<Department>> ListSubDepartments(int64_t dept_id, const CallOptions& opts) override;
  absl::StatusOr<std::vector<int64_t>> ListSubDepartmentIds(int64_t dept_id, const CallOptions& opts) override;
  absl::StatusOr<Department> GetDepartment(int64_t dept_id, const CallOptions& opts) override;
  absl::StatusOr<UserPage> ListUsersPage(int64_t dept_id, int64_t cursor, int size, const CallOptions& opts) override;
  absl::StatusOr<User> GetUser(const std::string& userid, const CallOptions& opts) override;
  absl::StatusOr<UnionIdLookup> GetUserIdByUnionId(const std::string& unionid, const CallOptions& opts) override;
  absl::StatusOr<int64_t> CountUsers(bool only_active, const CallOptions& opts) override;
  absl::StatusOr<FreeLoginUser> GetUserInfoByCode(const std::string& code, const CallOptions& opts) override;
  absl::StatusOr<UserAccessToken> ExchangeUserAuthCode(const std::string& auth_code, const CallOptions& opts) override;
  absl::StatusOr<Me> GetMe(const std::string& user_access_token, const CallOptions& opts) override;
  absl::StatusOr<FailedCallbackPage> GetFailedCallbacks(const CallOptions& opts) override;
  ClientStats Stats() const override;

 private:
  // Counts the call and returns an injected failure, if any. Requires mu_.
  absl::Status Enter(const std::string& api_name, const CallOptions& opts);

  mutable std::mutex mu_;
  std::map<int64_t, Department> depts_;
  std::map<std::string, User> users_;
  std::map<std::string, std::string> auth_codes_;   // code -> unionid
  std::map<std::string, std::string> user_tokens_;  // token -> unionid
  std::map<std::string, std::string> free_codes_;   // code -> userid
  std::vector<FailedCallback> failed_callbacks_;
  std::map<std::string, std::deque<absl::Status>> fail_next_;
  std::map<std::string, absl::Status> fail_always_;
  std::map<std::string, int> calls_;
  CallStats stats_;
};

}  // namespace sase::dingtalk::testing

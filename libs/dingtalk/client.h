#pragma once
// The DingTalk directory/login API as the sync engine and login flow use it. HttpClient is the
// real implementation; testing/fake_client.h is an in-memory one for tests.
//
// Every method returns a typed result or a status built by MakeError (see error.h): branch on
// ReasonOf(status). Calls are rate-limited per (app, API) and retried on throttling and transient
// errors inside the client; a returned kThrottled/kUnreachable means the retries ran out.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dingtalk/rate_limiter.h"
#include "dingtalk/types.h"

namespace sase::dingtalk {

// API names: the `api` metric label, the rate-limit key (RateLimitConfig::api_qps) and the keys
// FakeClient counts calls and injects failures under.
namespace api {
inline constexpr char kGetToken[] = "gettoken";
inline constexpr char kAccessToken[] = "oauth2_access_token";
inline constexpr char kListSub[] = "department_listsub";
inline constexpr char kListSubId[] = "department_listsubid";
inline constexpr char kDepartmentGet[] = "department_get";
inline constexpr char kUserList[] = "user_list";
inline constexpr char kUserGet[] = "user_get";
inline constexpr char kGetByUnionId[] = "user_getbyunionid";
inline constexpr char kUserCount[] = "user_count";
inline constexpr char kGetUserInfo[] = "user_getuserinfo";
inline constexpr char kUserAccessToken[] = "oauth2_user_access_token";
inline constexpr char kUsersMe[] = "contact_users_me";
inline constexpr char kFailedCallbacks[] = "get_call_back_failed_result";
}  // namespace api

// Counters a caller can read: per client (Client::Stats) or per caller (CallOptions::stats).
struct ClientStats {
  int64_t api_calls = 0;        // HTTP attempts, including retries and token fetches
  int64_t throttled = 0;        // attempts answered with a throttling error
  int64_t retries = 0;          // attempts repeated after back-off or a token refresh
  int64_t token_refreshes = 0;  // app tokens fetched
};

// Thread-safe accumulator a caller (e.g. one sync run) passes in CallOptions.
class CallStats {
 public:
  void AddCall() { api_calls_.fetch_add(1, std::memory_order_relaxed); }
  void AddThrottle() { throttled_.fetch_add(1, std::memory_order_relaxed); }
  void AddRetry() { retries_.fetch_add(1, std::memory_order_relaxed); }
  void AddTokenRefresh() { token_refreshes_.fetch_add(1, std::memory_order_relaxed); }
  ClientStats Snapshot() const {
    return {api_calls_.load(std::memory_order_relaxed), throttled_.load(std::memory_order_relaxed),
            retries_.load(std::memory_order_relaxed), token_refreshes_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<int64_t> api_calls_{0};
  std::atomic<int64_t> throttled_{0};
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> token_refreshes_{0};
};

struct CallOptions {
  Priority priority = Priority::kBulk;
  CallStats* stats = nullptr;  // optional, not owned

  static CallOptions Bulk(CallStats* s = nullptr) { return {Priority::kBulk, s}; }
  static CallOptions Interactive(CallStats* s = nullptr) { return {Priority::kInteractive, s}; }
};

class Client {
 public:
  virtual ~Client() = default;

  // The app access token (cached; fetched single-flight when missing or about to expire).
  virtual absl::StatusOr<AccessToken> GetAccessToken(const CallOptions& opts) = 0;

  // topapi/v2/department/listsub: direct children of `dept_id` (root = 1).
  virtual absl::StatusOr<std::vector<Department>> ListSubDepartments(int64_t dept_id, const CallOptions& opts) = 0;
  // topapi/v2/department/listsubid: ids of the direct children.
  virtual absl::StatusOr<std::vector<int64_t>> ListSubDepartmentIds(int64_t dept_id, const CallOptions& opts) = 0;
  // topapi/v2/department/get.
  virtual absl::StatusOr<Department> GetDepartment(int64_t dept_id, const CallOptions& opts) = 0;

  // topapi/v2/user/list: one page of the department's direct members. cursor starts at 0;
  // 1 <= size <= 100 (InvalidArgument otherwise, without a call).
  virtual absl::StatusOr<UserPage> ListUsersPage(int64_t dept_id, int64_t cursor, int size,
                                                 const CallOptions& opts) = 0;
  // topapi/v2/user/get.
  virtual absl::StatusOr<User> GetUser(const std::string& userid, const CallOptions& opts) = 0;
  // topapi/user/getbyunionid (kNotFound = not a member of this organisation).
  virtual absl::StatusOr<UnionIdLookup> GetUserIdByUnionId(const std::string& unionid, const CallOptions& opts) = 0;
  // topapi/user/count.
  virtual absl::StatusOr<int64_t> CountUsers(bool only_active, const CallOptions& opts) = 0;

  // topapi/v2/user/getuserinfo: free-login code (5 min, single use) -> user.
  virtual absl::StatusOr<FreeLoginUser> GetUserInfoByCode(const std::string& code, const CallOptions& opts) = 0;
  // /v1.0/oauth2/userAccessToken: OAuth authCode -> user token (kInvalidAuthCode when rejected).
  virtual absl::StatusOr<UserAccessToken> ExchangeUserAuthCode(const std::string& auth_code,
                                                               const CallOptions& opts) = 0;
  // /v1.0/contact/users/me with a user token.
  virtual absl::StatusOr<Me> GetMe(const std::string& user_access_token, const CallOptions& opts) = 0;

  // topapi/call_back/get_call_back_failed_result (up to 200 entries per call; has_more).
  virtual absl::StatusOr<FailedCallbackPage> GetFailedCallbacks(const CallOptions& opts) = 0;

  // Totals since the client was created.
  virtual ClientStats Stats() const = 0;
};

}  // namespace sase::dingtalk

#pragma once
// Client over DingTalk's HTTPS APIs (libcurl, connection reuse), with the app-token cache,
// per-(app, API) rate limiting with a priority lane, bounded back-off with jitter, metrics and
// counters. Thread-safe: one instance per DingTalk app, shared by all threads.

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dingtalk/client.h"
#include "common/clock.h"
#include "dingtalk/http_transport.h"
#include "dingtalk/internal/classify.h"
#include "dingtalk/metrics.h"
#include "dingtalk/rate_limiter.h"
#include "dingtalk/token_cache.h"

namespace prometheus {
class Registry;
}

namespace sase::dingtalk {

enum class TokenEndpoint {
  kNew,  // POST {api_base_url}/v1.0/oauth2/accessToken {"appKey","appSecret"}
  kOld,  // GET {oapi_base_url}/gettoken?appkey=&appsecret=
};

struct RetryConfig {
  int max_attempts = 4;                                        // bulk calls: first try + 3 retries
  int interactive_max_attempts = 2;                            // logon must answer quickly
  absl::Duration throttle_backoff = absl::Seconds(1);          // first wait after a throttling answer
  absl::Duration transient_backoff = absl::Milliseconds(200);  // first wait after 5xx / timeout / busy
  absl::Duration max_backoff = absl::Seconds(8);
  double jitter = 0.3;  // each wait is base * 2^n * (1 + U[0, jitter])
};

struct ClientConfig {
  std::string app_key;
  std::string app_secret;  // secret: never logged; DebugString() redacts it
  std::string oapi_base_url = "https://oapi.dingtalk.com";
  std::string api_base_url = "https://api.dingtalk.com";
  TokenEndpoint token_endpoint = TokenEndpoint::kNew;
  std::string language = "zh_CN";
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(15);
  std::string ca_file;  // extra CA bundle, empty = system store
  absl::Duration token_refresh_early = absl::Minutes(10);
  RetryConfig retry;
  RateLimitConfig rate_limit;  // used only when ClientDeps::limiter is null

  absl::Status Validate() const;
  std::string DebugString() const;  // app_secret shown as "<redacted>"
};

struct ClientDeps {
  prometheus::Registry* registry = nullptr;  // metrics; null = none
  common::Clock* clock = nullptr;                    // null = common::SystemClock()
  std::shared_ptr<RateLimiter> limiter;      // share one per process for the process cap
  std::shared_ptr<HttpTransport> transport;  // null = a CurlTransport from the config
  uint64_t jitter_seed = 0;                  // 0 = random
};

class HttpClient final : public Client {
 public:
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(ClientConfig config, ClientDeps deps = {});

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

  RateLimiter& limiter() { return *limiter_; }

  // Static description of one endpoint (public for the table in the .cc).
  struct ApiSpec {
    const char* name;  // metric label and rate-limit key
    internal::ApiStyle style;
    const char* method;  // "GET" / "POST"
    const char* path;
    bool app_token;          // sends the app access token
    bool token_call;         // is a token endpoint
    const char* permission;  // permission point named when DingTalk's message does not
  };

 private:
  HttpClient(ClientConfig config, ClientDeps deps);

  using Parser = std::function<absl::Status(const internal::Json&)>;
  // Runs one API call with rate limiting, token handling and retries; hands the JSON body of a
  // successful answer to `parse` (a parse failure is a kBadResponse outcome in the metrics).
  absl::Status Call(const ApiSpec& api, const internal::Json* body, const std::string& query,
                    const std::string& user_token, const CallOptions& opts, const Parser& parse);
  absl::StatusOr<AccessToken> FetchToken();
  absl::Duration Backoff(ApiError reason, int attempt);

  const ClientConfig config_;
  common::Clock& clock_;
  std::shared_ptr<RateLimiter> limiter_;
  std::shared_ptr<HttpTransport> transport_;
  std::unique_ptr<Metrics> metrics_;
  TokenCache tokens_;
  CallStats stats_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace sase::dingtalk

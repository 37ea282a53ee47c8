#include "dingtalk/http_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "dingtalk/error.h"
#include "dingtalk/internal/parse.h"

namespace sase::dingtalk {
namespace {

// Token refreshes within one call (each after DingTalk invalidated the token in use).
constexpr int kMaxTokenRefreshes = 3;

using internal::ApiStyle;
using internal::Json;
using Spec = HttpClient::ApiSpec;

constexpr Spec kOldToken{api::kGetToken, ApiStyle::kOapi, "GET", "/gettoken", false, true, ""};
constexpr Spec kNewToken{api::kAccessToken, ApiStyle::kNewApi, "POST", "/v1.0/oauth2/accessToken", false, true, ""};
constexpr Spec kListSub{
    "department_listsub",       ApiStyle::kOapi, "POST", "/topapi/v2/department/listsub", true, false,
    "qyapi_get_department_list"};
constexpr Spec kListSubId{
    "department_listsubid",     ApiStyle::kOapi, "POST", "/topapi/v2/department/listsubid", true, false,
    "qyapi_get_department_list"};
constexpr Spec kDeptGet{api::kDepartmentGet,        ApiStyle::kOapi, "POST", "/topapi/v2/department/get", true, false,
                        "qyapi_get_department_list"};
constexpr Spec kUserList{
    "user_list", ApiStyle::kOapi, "POST", "/topapi/v2/user/list", true, false, "qyapi_get_department_member"};
constexpr Spec kUserGet{api::kUserGet, ApiStyle::kOapi, "POST", "/topapi/v2/user/get", true, false, "qyapi_get_member"};
constexpr Spec kByUnionId{api::kGetByUnionId, ApiStyle::kOapi, "POST", "/topapi/user/getbyunionid", true, false,
                          "qyapi_get_member"};
constexpr Spec kCount{api::kUserCount, ApiStyle::kOapi, "POST", "/topapi/user/count", true, false, "qyapi_get_member"};
constexpr Spec kGetUserInfo{
    "user_getuserinfo", ApiStyle::kOapi, "POST", "/topapi/v2/user/getuserinfo", true, false, ""};
constexpr Spec kUserToken{
    "oauth2_user_access_token", ApiStyle::kNewApi, "POST", "/v1.0/oauth2/userAccessToken", false, false, ""};
constexpr Spec kMe{api::kUsersMe, ApiStyle::kNewApi,  "GET", "/v1.0/contact/users/me", false,
                   false,         "Contact.User.Read"};
constexpr Spec kFailed{
    api::kFailedCallbacks, ApiStyle::kOapi, "GET", "/topapi/call_back/get_call_back_failed_result", true, false, ""};

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool ValidBase(const std::string& url) {
  return (absl::StartsWith(url, "https://") || absl::StartsWith(url, "http://")) && url.find('?') == std::string::npos;
}

ClientConfig Normalized(ClientConfig c) {
  c.oapi_base_url = TrimSlash(std::move(c.oapi_base_url));
  c.api_base_url = TrimSlash(std::move(c.api_base_url));
  return c;
}

template <typename T>
absl::Status Assign(absl::StatusOr<T> v, T* out) {
  if (!v.ok()) return v.status();
  *out = std::move(*v);
  return absl::OkStatus();
}

}  // namespace

absl::Status ClientConfig::Validate() const {
  if (app_key.empty()) return absl::InvalidArgumentError("dingtalk: app_key is required");
  if (app_secret.empty()) return absl::InvalidArgumentError("dingtalk: app_secret is required");
  if (!ValidBase(oapi_base_url)) return absl::InvalidArgumentError("dingtalk: oapi_base_url must be an http(s) URL");
  if (!ValidBase(api_base_url)) return absl::InvalidArgumentError("dingtalk: api_base_url must be an http(s) URL");
  if (retry.max_attempts < 1 || retry.interactive_max_attempts < 1) {
    return absl::InvalidArgumentError("dingtalk: retry attempts must be >= 1");
  }
  if (rate_limit.qps_per_api <= 0) return absl::InvalidArgumentError("dingtalk: qps_per_api must be > 0");
  if (connect_timeout <= absl::ZeroDuration() || request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("dingtalk: timeouts must be > 0");
  }
  return absl::OkStatus();
}

std::string ClientConfig::DebugString() const {
  return absl::StrCat("app_key=", app_key, " app_secret=<redacted> oapi_base_url=", oapi_base_url,
                      " api_base_url=", api_base_url,
                      " token_endpoint=", token_endpoint == TokenEndpoint::kNew ? "new" : "old",
                      " connect_timeout=", absl::FormatDuration(connect_timeout),
                      " request_timeout=", absl::FormatDuration(request_timeout),
                      " qps_per_api=", rate_limit.qps_per_api, " max_attempts=", retry.max_attempts);
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(ClientConfig config, ClientDeps deps) {
  config = Normalized(std::move(config));
  RETURN_IF_ERROR(config.Validate());
  if (deps.transport == nullptr) {
    TransportOptions t;
    t.connect_timeout = config.connect_timeout;
    t.total_timeout = config.request_timeout;
    t.ca_file = config.ca_file;
    ASSIGN_OR_RETURN(std::unique_ptr<CurlTransport> curl, CurlTransport::Create(std::move(t)));
    deps.transport = std::move(curl);
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(config), std::move(deps)));
}

HttpClient::HttpClient(ClientConfig config, ClientDeps deps)
    : config_(std::move(config)),
      clock_(deps.clock != nullptr ? *deps.clock : common::SystemClock()),
      limiter_(deps.limiter != nullptr ? std::move(deps.limiter)
                                       : std::make_shared<RateLimiter>(config_.rate_limit, clock_)),
      transport_(std::move(deps.transport)),
      metrics_(deps.registry != nullptr ? std::make_unique<Metrics>(*deps.registry) : nullptr),
      tokens_([this] { return FetchToken(); }, clock_, config_.token_refresh_early),
      rng_(deps.jitter_seed != 0 ? deps.jitter_seed : std::random_device{}()) {}

absl::Duration HttpClient::Backoff(ApiError reason, int attempt) {
  absl::Duration base =
      reason == ApiError::kThrottled ? config_.retry.throttle_backoff : config_.retry.transient_backoff;
  absl::Duration d = base * std::pow(2.0, std::min(attempt, 16));
  d = std::min(d, config_.retry.max_backoff);
  double u;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    u = std::uniform_real_distribution<double>(0.0, std::max(0.0, config_.retry.jitter))(rng_);
  }
  return d * (1.0 + u);
}

absl::Status HttpClient::Call(const ApiSpec& api, const Json* body, const std::string& query,
                              const std::string& user_token, const CallOptions& opts, const Parser& parse) {
  const std::string& base = api.style == ApiStyle::kOapi ? config_.oapi_base_url : config_.api_base_url;
  const int max_attempts =
      opts.priority == Priority::kInteractive ? config_.retry.interactive_max_attempts : config_.retry.max_attempts;
  // A token DingTalk invalidates is refreshed, and again whenever a later attempt finds the
  // refreshed one invalidated too (a throttling back-off can outlast a token); a token refused on
  // its first use after the refresh is DingTalk refusing what it just issued, and not retried.
  int refreshes = 0;
  bool token_fresh = false;  // this attempt uses the token fetched by the previous one's refresh
  for (int attempt = 0;; ++attempt) {
    limiter_->Acquire(config_.app_key, api.name, opts.priority);
    std::string token;
    if (api.app_token) {
      absl::StatusOr<AccessToken> t = tokens_.Get();
      if (!t.ok()) return t.status();
      token = t->token;
    }
    HttpRequest req;
    req.method = api.method;
    req.url = absl::StrCat(base, api.path);
    std::string q = query;
    if (api.app_token) q = absl::StrCat("access_token=", UrlEncode(token), q.empty() ? "" : "&", q);
    if (!q.empty()) absl::StrAppend(&req.url, "?", q);
    req.headers.push_back("Accept: application/json");
    if (!user_token.empty()) req.headers.push_back(absl::StrCat("x-acs-dingtalk-access-token: ", user_token));
    if (body != nullptr) {
      req.headers.push_back("Content-Type: application/json");
      req.body = body->dump();
    }

    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<HttpResponse> resp = transport_->Do(req);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    internal::Classified c;
    if (resp.ok()) {
      c = internal::ClassifyResponse(api.style, resp->status, resp->content_type, resp->body, api.token_call);
    } else {
      c.reason = ReasonOf(resp.status()) == ApiError::kNone ? ApiError::kUnreachable : ReasonOf(resp.status());
      c.code = DingTalkCodeOf(resp.status());
      c.message = std::string(resp.status().message());
    }
    if (c.reason == ApiError::kNone) {
      absl::Status parsed = parse(c.body);
      if (!parsed.ok()) {
        c.reason = ReasonOf(parsed) == ApiError::kNone ? ApiError::kBadResponse : ReasonOf(parsed);
        c.code = "parse";
        c.message = std::string(parsed.message());
      }
    }
    // The OAuth code exchange answers a bad/used code with some 4xx: that is the user's code, not our request.
    if (&api == &kUserToken &&
        (c.reason == ApiError::kInvalidArgument || c.reason == ApiError::kUnknown || c.reason == ApiError::kNotFound)) {
      c.reason = ApiError::kInvalidAuthCode;
    }
    // GetMe runs on the user's token: an invalid token there is the user's, not the app's.
    if (!api.app_token) c.token_invalid = false;

    stats_.AddCall();
    if (opts.stats != nullptr) opts.stats->AddCall();
    if (c.reason == ApiError::kThrottled) {
      stats_.AddThrottle();
      if (opts.stats != nullptr) opts.stats->AddThrottle();
      if (metrics_) metrics_->RecordThrottle(api.name);
    }
    if (metrics_) metrics_->RecordRequest(api.name, c.reason == ApiError::kNone ? "ok" : ReasonName(c.reason), seconds);
    if (c.reason == ApiError::kNone) return absl::OkStatus();

    bool retry = false;
    const bool refused_fresh = c.token_invalid && api.app_token && token_fresh;
    token_fresh = false;
    if (c.token_invalid && api.app_token && !refused_fresh && refreshes < kMaxTokenRefreshes) {
      tokens_.Invalidate(token);
      ++refreshes;
      token_fresh = true;
      retry = true;
    } else if (c.token_invalid && api.app_token) {
      // The token fetch succeeded, so the credentials are right: not kAuth (bad_credentials).
      c.reason = ApiError::kUnknown;
      c.message = refused_fresh ? "DingTalk refused the access token it had just issued"
                                : "DingTalk kept invalidating fresh access tokens";
    } else if (IsRetryable(c.reason) && attempt + 1 < max_attempts) {
      absl::Duration wait = Backoff(c.reason, attempt);
      common::LogDebug("dingtalk call retried", {{"api", api.name},
                                                 {"reason", std::string(ReasonName(c.reason))},
                                                 {"code", c.code},
                                                 {"attempt", attempt + 1},
                                                 {"backoff_ms", absl::ToInt64Milliseconds(wait)}});
      if (c.reason == ApiError::kThrottled) limiter_->Pause(config_.app_key, api.name, wait);
      clock_.SleepFor(wait);
      retry = true;
    }
    if (retry) {
      stats_.AddRetry();
      if (opts.stats != nullptr) opts.stats->AddRetry();
      continue;
    }
    if (IsRetryable(c.reason) || c.reason == ApiError::kAuth || c.token_invalid) {
      // Never the URL, token or secret: only the API name, reason and DingTalk's code.
      common::LogWarn("dingtalk call failed", {{"api", api.name},
                                               {"reason", std::string(ReasonName(c.reason))},
                                               {"code", c.code},
                                               {"attempts", attempt + 1}});
    }
    std::string permission = c.permission;
    if (c.reason == ApiError::kPermissionDenied && permission.empty()) permission = api.permission;
    std::string message = absl::StrCat("dingtalk ", api.name, ": ", c.message.empty() ? "error" : c.message);
    if (!c.code.empty()) absl::StrAppend(&message, " [", c.code, "]");
    if (attempt > 0) absl::StrAppend(&message, " after ", attempt + 1, " attempts");
    return MakeError(c.reason, message, c.code, permission);
  }
}

absl::StatusOr<AccessToken> HttpClient::FetchToken() {
  CallOptions opts = CallOptions::Interactive();
  AccessToken token;
  Parser parse = [&](const Json& b) { return Assign(internal::ParseAccessToken(b, clock_.Now()), &token); };
  if (config_.token_endpoint == TokenEndpoint::kNew) {
    Json req = {{"appKey", config_.app_key}, {"appSecret", config_.app_secret}};
    RETURN_IF_ERROR(Call(kNewToken, &req, "", "", opts, parse));
  } else {
    RETURN_IF_ERROR(
        Call(kOldToken, nullptr,
             absl::StrCat("appkey=", UrlEncode(config_.app_key), "&appsecret=", UrlEncode(config_.app_secret)), "",
             opts, parse));
  }
  stats_.AddTokenRefresh();
  if (metrics_) metrics_->RecordTokenRefresh();
  return token;
}

absl::StatusOr<AccessToken> HttpClient::GetAccessToken(const CallOptions&) { return tokens_.Get(); }

absl::StatusOr<std::vector<Department>> HttpClient::ListSubDepartments(int64_t dept_id, const CallOptions& opts) {
  Json req = {{"dept_id", dept_id}, {"language", config_.language}};
  std::vector<Department> out;
  RETURN_IF_ERROR(
      Call(kListSub, &req, "", "", opts, [&](const Json& b) { return Assign(internal::ParseListSub(b), &out); }));
  return out;
}

absl::StatusOr<std::vector<int64_t>> HttpClient::ListSubDepartmentIds(int64_t dept_id, const CallOptions& opts) {
  Json req = {{"dept_id", dept_id}};
  std::vector<int64_t> out;
  RETURN_IF_ERROR(
      Call(kListSubId, &req, "", "", opts, [&](const Json& b) { return Assign(internal::ParseListSubId(b), &out); }));
  return out;
}

absl::StatusOr<Department> HttpClient::GetDepartment(int64_t dept_id, const CallOptions& opts) {
  Json req = {{"dept_id", dept_id}, {"language", config_.language}};
  Department out;
  RETURN_IF_ERROR(
      Call(kDeptGet, &req, "", "", opts, [&](const Json& b) { return Assign(internal::ParseDepartmentGet(b), &out); }));
  return out;
}

absl::StatusOr<UserPage> HttpClient::ListUsersPage(int64_t dept_id, int64_t cursor, int size, const CallOptions& opts) {
  if (size < 1 || size > kMaxUserPageSize) {
    return MakeError(ApiError::kInvalidArgument, absl::StrCat("dingtalk user_list: size ", size, " not in 1..100"));
  }
  if (cursor < 0) return MakeError(ApiError::kInvalidArgument, "dingtalk user_list: negative cursor");
  Json req = {{"dept_id", dept_id},
              {"cursor", cursor},
              {"size", size},
              {"contain_access_limit", false},
              {"language", config_.language}};
  UserPage out;
  RETURN_IF_ERROR(Call(kUserList, &req, "", "", opts,
                       [&](const Json& b) { return Assign(internal::ParseUserPage(b, dept_id), &out); }));
  return out;
}

absl::StatusOr<User> HttpClient::GetUser(const std::string& userid, const CallOptions& opts) {
  if (userid.empty()) return MakeError(ApiError::kInvalidArgument, "dingtalk user_get: empty userid");
  Json req = {{"userid", userid}, {"language", config_.language}};
  User out;
  RETURN_IF_ERROR(
      Call(kUserGet, &req, "", "", opts, [&](const Json& b) { return Assign(internal::ParseUserGet(b), &out); }));
  return out;
}

absl::StatusOr<UnionIdLookup> HttpClient::GetUserIdByUnionId(const std::string& unionid, const CallOptions& opts) {
  if (unionid.empty()) return MakeError(ApiError::kInvalidArgument, "dingtalk user_getbyunionid: empty unionid");
  Json req = {{"unionid", unionid}};
  UnionIdLookup out;
  RETURN_IF_ERROR(Call(kByUnionId, &req, "", "", opts,
                       [&](const Json& b) { return Assign(internal::ParseGetByUnionId(b), &out); }));
  return out;
}

absl::StatusOr<int64_t> HttpClient::CountUsers(bool only_active, const CallOptions& opts) {
  Json req = {{"only_active", only_active}};
  int64_t out;
  RETURN_IF_ERROR(
      Call(kCount, &req, "", "", opts, [&](const Json& b) { return Assign(internal::ParseCount(b), &out); }));
  return out;
}

absl::StatusOr<FreeLoginUser> HttpClient::GetUserInfoByCode(const std::string& code, const CallOptions& opts) {
  if (code.empty()) return MakeError(ApiError::kInvalidAuthCode, "dingtalk user_getuserinfo: empty code");
  Json req = {{"code", code}};
  FreeLoginUser out;
  RETURN_IF_ERROR(Call(kGetUserInfo, &req, "", "", opts,
                       [&](const Json& b) { return Assign(internal::ParseGetUserInfo(b), &out); }));
  return out;
}

absl::StatusOr<UserAccessToken> HttpClient::ExchangeUserAuthCode(const std::string& auth_code,
                                                                 const CallOptions& opts) {
  if (auth_code.empty()) return MakeError(ApiError::kInvalidAuthCode, "dingtalk oauth2_user_access_token: empty code");
  Json req = {{"clientId", config_.app_key},
              {"clientSecret", config_.app_secret},
              {"code", auth_code},
              {"grantType", "authorization_code"}};
  UserAccessToken out;
  RETURN_IF_ERROR(Call(kUserToken, &req, "", "", opts,
                       [&](const Json& b) { return Assign(internal::ParseUserAccessToken(b, clock_.Now()), &out); }));
  return out;
}

absl::StatusOr<Me> HttpClient::GetMe(const std::string& user_access_token, const CallOptions& opts) {
  if (user_access_token.empty()) return MakeError(ApiError::kAuth, "dingtalk contact_users_me: empty user token");
  Me out;
  RETURN_IF_ERROR(Call(kMe, nullptr, "", user_access_token, opts,
                       [&](const Json& b) { return Assign(internal::ParseMe(b), &out); }));
  return out;
}

absl::StatusOr<FailedCallbackPage> HttpClient::GetFailedCallbacks(const CallOptions& opts) {
  FailedCallbackPage out;
  RETURN_IF_ERROR(Call(kFailed, nullptr, "", "", opts,
                       [&](const Json& b) { return Assign(internal::ParseFailedCallbacks(b), &out); }));
  return out;
}

ClientStats HttpClient::Stats() const { return stats_.Snapshot(); }

}  // namespace sase::dingtalk

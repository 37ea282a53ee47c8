// HttpClient against a tiny DingTalk look-alike (cpp-httplib) on 127.0.0.1:0.
#include "dingtalk/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "dingtalk/error.h"
#include "common/testing/fake_clock.h"

namespace sase::dingtalk {
namespace {

using Json = nlohmann::json;
using common::testing::FakeClock;

constexpr char kAppKey[] = "dingappkey";
constexpr char kAppSecret[] = "TOP-SECRET-app-secret";
constexpr char kJsonType[] = "application/json;charset=UTF-8";

// Mimics DingTalk: token endpoints issue "tok-N"; other paths are answered by per-test handlers.
class FakeDingTalk {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  FakeDingTalk() {
    auto dispatch = [this](const httplib::Request& req, httplib::Response& res) { Dispatch(req, res); };
    server_.Get(".*", dispatch);
    server_.Post(".*", dispatch);
    server_.set_payload_max_length(1 << 20);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeDingTalk() {
    server_.stop();
    thread_.join();
  }

  std::string base() const { return absl::StrCat("http://127.0.0.1:", port_); }
  void On(const std::string& path, Handler h) {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_[path] = std::move(h);
  }
  int Hits(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_[path];
  }
  std::string ValidToken() {
    std::lock_guard<std::mutex> lock(mu_);
    return valid_token_;
  }
  // The token is rejected (as an expired one would be) until the next token call.
  void ExpireToken() {
    std::lock_guard<std::mutex> lock(mu_);
    valid_token_ = "expired";
  }
  std::set<int> RemotePorts() {
    std::lock_guard<std::mutex> lock(mu_);
    return remote_ports_;
  }
  std::vector<Json> Bodies(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_[path];
  }
  std::vector<std::string> HeaderValues(const std::string& path, const std::string& header) {
    std::lock_guard<std::mutex> lock(mu_);
    return headers_[path + "|" + header];
  }

  static void Reply(httplib::Response& res, const Json& body, int status = 200) {
    res.status = status;
    res.set_content(body.dump(), kJsonType);
  }

 private:
  void Dispatch(const httplib::Request& req, httplib::Response& res) {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++hits_[req.path];
      remote_ports_.insert(req.remote_port);
      Json body = Json::parse(req.body, nullptr, false);
      if (!body.is_discarded()) bodies_[req.path].push_back(body);
      headers_[req.path + "|x-acs-dingtalk-access-token"].push_back(
          req.get_header_value("x-acs-dingtalk-access-token"));
      if (req.path == "/v1.0/oauth2/accessToken" || req.path == "/gettoken") {
        bool good = req.path == "/gettoken"
                        ? (req.get_param_value("appkey") == kAppKey && req.get_param_value("appsecret") == kAppSecret)
                        : (!body.is_discarded() && body.value("appKey", "") == kAppKey &&
                           body.value("appSecret", "") == kAppSecret);
        if (!good) {
          if (req.path == "/gettoken") {
            Reply(res, {{"errcode", 40096}, {"errmsg", "不合法的appKey或appSecret"}});
          } else {
            Reply(res,
                  {{"requestid", "r"},
                   {"code", "invalidClientIdOrSecret"},
                   {"message", "无效的clientId或者clientSecret"}},
                  400);
          }
          return;
        }
        valid_token_ = absl::StrCat("tok-", ++token_seq_);
        if (req.path == "/gettoken") {
          Reply(res, {{"errcode", 0}, {"access_token", valid_token_}, {"errmsg", "ok"}, {"expires_in", 7200}});
        } else {
          Reply(res, {{"accessToken", valid_token_}, {"expireIn", 7200}});
        }
        return;
      }
      if (req.path.rfind("/topapi/", 0) == 0 && req.get_param_value("access_token") != valid_token_) {
        Reply(res, {{"errcode", 88},
                    {"sub_code", "40014"},
                    {"sub_msg", "不合法的access_token"},
                    {"errmsg", "ding talk error[subcode=40014,submsg=不合法的access_token]"},
                    {"request_id", "16l4ew3d47pdp"}});
        return;
      }
      auto it = handlers_.find(req.path);
      if (it != handlers_.end()) h = it->second;
    }
    if (h) {
      h(req, res);
    } else {
      res.status = 404;
      res.set_content(R"({"code":"NotFound","message":"no handler"})", kJsonType);
    }
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, int> hits_;
  std::map<std::string, std::vector<Json>> bodies_;
  std::map<std::string, std::vector<std::string>> headers_;
  std::set<int> remote_ports_;
  std::string valid_token_ = "none-yet";
  int token_seq_ = 0;
};

class HttpClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpClient> MakeClient(ClientConfig cfg = {}) {
    if (cfg.app_key.empty()) cfg.app_key = kAppKey;
    if (cfg.app_secret.empty()) cfg.app_secret = kAppSecret;
    cfg.oapi_base_url = sim_.base();
    cfg.api_base_url = sim_.base() + "/";
    cfg.connect_timeout = absl::Seconds(2);
    if (cfg.request_timeout == absl::Seconds(15)) cfg.request_timeout = absl::Seconds(5);
    ClientDeps deps;
    deps.registry = &registry_;
    deps.clock = &clock_;
    deps.jitter_seed = 42;
    absl::StatusOr<std::unique_ptr<HttpClient>> c = HttpClient::Create(cfg, deps);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  double CounterValue(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> got;
        for (const auto& l : m.label) got[l.name] = l.value;
        bool match = true;
        for (const auto& [k, v] : labels) match = match && got[k] == v;
        if (match) return m.counter.value;
      }
    }
    return 0;
  }

  static Json UserJson(const std::string& userid, int64_t dept) {
    return {{"userid", userid},
            {"name", "用户" + userid},
            {"dept_id_list", {dept}},
            {"active", true},
            {"unionid", "u-" + userid}};
  }

  FakeDingTalk sim_;
  FakeClock clock_;
  prometheus::Registry registry_;
};

TEST_F(HttpClientTest, PagesThroughDepartmentMembers) {
  constexpr int kUsers = 250;
  sim_.On("/topapi/v2/user/list", [](const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body);
    int64_t cursor = body["cursor"].get<int64_t>();
    int64_t size = body["size"].get<int64_t>();
    Json list = Json::array();
    for (int64_t i = cursor; i < std::min<int64_t>(cursor + size, kUsers); ++i) {
      list.push_back(UserJson("user" + std::to_string(i), body["dept_id"].get<int64_t>()));
    }
    bool more = cursor + size < kUsers;
    Json result = {{"has_more", more}, {"list", list}};
    if (more) result["next_cursor"] = cursor + size;
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"errmsg", "ok"}, {"result", result}, {"request_id", "x"}});
  });
  auto client = MakeClient();
  std::set<std::string> seen;
  int64_t cursor = 0;
  int pages = 0;
  for (;;) {
    absl::StatusOr<UserPage> page = client->ListUsersPage(7, cursor, 100, CallOptions::Bulk());
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const User& u : page->users) {
      seen.insert(u.userid);
      EXPECT_EQ(u.dept_id_list, std::vector<int64_t>{7});
    }
    if (!page->has_more) break;
    cursor = page->next_cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kUsers));
  EXPECT_EQ(sim_.Hits("/topapi/v2/user/list"), 3);
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 1);
  EXPECT_EQ(sim_.Bodies("/topapi/v2/user/list")[0]["size"], 100);
  // Keep-alive: every call went over one connection.
  EXPECT_EQ(sim_.RemotePorts().size(), 1u);
  ClientStats stats = client->Stats();
  EXPECT_EQ(stats.api_calls, 4);  // token + 3 pages
  EXPECT_EQ(stats.token_refreshes, 1);
  EXPECT_EQ(CounterValue("sase_dingtalk_requests_total", {{"api", "user_list"}, {"outcome", "ok"}}), 3);
  EXPECT_EQ(CounterValue("sase_dingtalk_token_refreshes_total", {}), 1);
}

TEST_F(HttpClientTest, RejectsPageSizeOutsideOneToHundredWithoutACall) {
  auto client = MakeClient();
  EXPECT_EQ(ReasonOf(client->ListUsersPage(1, 0, 101, CallOptions::Bulk()).status()), ApiError::kInvalidArgument);
  EXPECT_EQ(ReasonOf(client->ListUsersPage(1, 0, 0, CallOptions::Bulk()).status()), ApiError::kInvalidArgument);
  EXPECT_EQ(sim_.Hits("/topapi/v2/user/list"), 0);
}

struct ErrorCase {
  const char* name;
  int http_status;
  const char* content_type;
  const char* body;
  ApiError want;
  const char* want_permission;
};

class HttpErrorTest : public HttpClientTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(HttpErrorTest, MapsToTypedStatus) {
  const ErrorCase& c = GetParam();
  sim_.On("/topapi/v2/user/get", [&c](const httplib::Request&, httplib::Response& res) {
    res.status = c.http_status;
    res.set_content(c.body, c.content_type);
  });
  ClientConfig cfg;
  cfg.retry.max_attempts = 2;
  auto client = MakeClient(cfg);
  absl::StatusOr<User> u = client->GetUser("zhangsan", CallOptions::Bulk());
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(ReasonName(ReasonOf(u.status())), ReasonName(c.want)) << u.status();
  EXPECT_EQ(u.status().code(), CodeFor(c.want));
  EXPECT_EQ(PermissionOf(u.status()), c.want_permission);
  // Never a token or secret in the message.
  EXPECT_EQ(std::string(u.status().message()).find("tok-"), std::string::npos) << u.status();
  EXPECT_EQ(std::string(u.status().message()).find("access_token="), std::string::npos) << u.status();
  EXPECT_EQ(std::string(u.status().message()).find(kAppSecret), std::string::npos) << u.status();
  int want_calls = IsRetryable(c.want) ? 2 : 1;
  EXPECT_EQ(sim_.Hits("/topapi/v2/user/get"), want_calls);
  EXPECT_EQ(
      CounterValue("sase_dingtalk_requests_total", {{"api", "user_get"}, {"outcome", std::string(ReasonName(c.want))}}),
      want_calls);
}

INSTANTIATE_TEST_SUITE_P(
    Classes, HttpErrorTest,
    ::testing::Values(
        ErrorCase{"not_found_60121", 200, kJsonType, R"({"errcode":60121,"errmsg":"找不到该用户"})",
                  ApiError::kNotFound, ""},
        ErrorCase{"invalid_userid_33012", 200, kJsonType, R"({"errcode":33012,"errmsg":"无效的userId"})",
                  ApiError::kNotFound, ""},
        ErrorCase{"permission_named", 200, kJsonType,
                  R"({"errcode":60011,"errmsg":"应用尚未开通所需的权限：[qyapi_get_member]"})",
                  ApiError::kPermissionDenied, "qyapi_get_member"},
        ErrorCase{
            "permission_88_default_point", 200, kJsonType,
            R"({"errcode":88,"sub_code":"60011","sub_msg":"没有调用该接口的权限","errmsg":"ding talk error[subcode=60011,submsg=没有调用该接口的权限]"})",
            ApiError::kPermissionDenied, "qyapi_get_member"},
        ErrorCase{"out_of_scope", 200, kJsonType, R"({"errcode":50002,"errmsg":"员工不在权限范围内"})",
                  ApiError::kOutOfScope, ""},
        ErrorCase{"ip_not_allowed", 200, kJsonType, R"({"errcode":60020,"errmsg":"访问ip不在白名单之中"})",
                  ApiError::kIpNotAllowed, ""},
        ErrorCase{
            "throttled_88", 200, kJsonType,
            R"({"errcode":88,"sub_code":"90018","sub_msg":"接口次数过多","errmsg":"ding talk error[subcode=90018,submsg=接口次数过多]"})",
            ApiError::kThrottled, ""},
        ErrorCase{"throttled_90002", 200, kJsonType, R"({"errcode":90002,"errmsg":"请求都被暂时禁用了"})",
                  ApiError::kThrottled, ""},
        ErrorCase{"ip_ban_html", 200, "text/html;charset=utf-8",
                  "<html><head><title>访问被拒绝</title></head><body>punish</body></html>", ApiError::kUnreachable, ""},
        ErrorCase{"ip_ban_punish_json", 200, kJsonType,
                  R"({"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"xxx"})", ApiError::kUnreachable, ""},
        ErrorCase{"server_503", 503, "text/plain", "Service Unavailable", ApiError::kUnreachable, ""},
        ErrorCase{"malformed_ok", 200, kJsonType, R"({"errcode":0,"errmsg":"ok"})", ApiError::kBadResponse, ""},
        ErrorCase{"quoted_not_found", 200, kJsonType, R"({"errcode":"60121","errmsg":"找不到该用户"})",
                  ApiError::kNotFound, ""}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return std::string(param_info.param.name); });

TEST_F(HttpClientTest, QuotedScalarsTolerated) {
  sim_.On("/topapi/v2/user/get", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"errcode":"0","result":{"userid":"zhangsan","active":"true","dept_id_list":"[2,3]",
        "hired_date":"1597573616828","leader_in_dept":{"leader":"true","dept_id":"2"},"admin":"false",
        "extension":"{\"爱好\":\"旅游\"}"},"errmsg":"ok"})",
                    kJsonType);
  });
  auto client = MakeClient();
  absl::StatusOr<User> u = client->GetUser("zhangsan", CallOptions::Bulk());
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->active);
  EXPECT_FALSE(u->admin);
  EXPECT_EQ(u->dept_id_list, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(u->hired_date_ms, 1597573616828);
  EXPECT_TRUE(u->IsLeaderOf(2));
  EXPECT_EQ(u->extension, R"({"爱好":"旅游"})");
  EXPECT_EQ(sim_.Bodies("/topapi/v2/user/get")[0]["userid"], "zhangsan");
}

TEST_F(HttpClientTest, RefreshesTokenOnceOn40014ThenSucceeds) {
  sim_.On("/topapi/user/count", [](const httplib::Request&, httplib::Response& res) {
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"errmsg", "ok"}, {"result", {{"count", 4}}}});
  });
  auto client = MakeClient();
  ASSERT_EQ(client->CountUsers(false, CallOptions::Bulk()).value_or(-1), 4);
  sim_.ExpireToken();  // DingTalk now answers 88/40014 for the cached token
  absl::StatusOr<int64_t> n = client->CountUsers(true, CallOptions::Bulk());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4);
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 2);
  EXPECT_EQ(sim_.Hits("/topapi/user/count"), 3);  // ok, rejected, ok
  EXPECT_EQ(client->Stats().token_refreshes, 2);
  EXPECT_EQ(client->Stats().retries, 1);
  for (absl::Duration d : clock_.Sleeps()) {
    EXPECT_LT(d, absl::Milliseconds(100)) << "a token refresh must not back off";  // rate pacing only
  }
}

TEST_F(HttpClientTest, AFreshTokenRefusedOnFirstUseIsNotBadCredentials) {
  sim_.On("/topapi/user/count", [](const httplib::Request&, httplib::Response& res) {
    FakeDingTalk::Reply(res, {{"errcode", 42001}, {"errmsg", "access_token超时"}});
  });
  auto client = MakeClient();
  absl::StatusOr<int64_t> n = client->CountUsers(true, CallOptions::Bulk());
  ASSERT_FALSE(n.ok());
  EXPECT_NE(ReasonOf(n.status()), ApiError::kAuth) << "the token fetch succeeded: the AppSecret is right";
  EXPECT_EQ(ReasonOf(n.status()), ApiError::kUnknown) << n.status();
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 2);
  EXPECT_EQ(sim_.Hits("/topapi/user/count"), 2) << "one refresh, then the fresh token's refusal ends the call";
}

// DingTalk invalidates the token twice within one call's retries (a throttling back-off outlasts
// the refreshed token): the client refreshes again instead of failing as bad credentials.
TEST_F(HttpClientTest, ATokenInvalidatedTwiceWithinOneCallIsRefreshedAgain) {
  std::atomic<int> hits{0};
  sim_.On("/topapi/user/count", [&](const httplib::Request&, httplib::Response& res) {
    if (++hits <= 2) {
      sim_.ExpireToken();  // the token in use expires during the back-off that follows
      FakeDingTalk::Reply(res, {{"errcode", 90018}, {"errmsg", "服务器繁忙"}});
      return;
    }
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"errmsg", "ok"}, {"result", {{"count", 4}}}});
  });
  ClientConfig cfg;
  cfg.retry.max_attempts = 6;
  auto client = MakeClient(cfg);
  absl::StatusOr<int64_t> n = client->CountUsers(true, CallOptions::Bulk());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4);
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 3) << "the first token and two refreshes";
  EXPECT_EQ(client->Stats().token_refreshes, 3);
}

TEST_F(HttpClientTest, BadAppSecretIsAuthWithoutCallingTheApi) {
  for (TokenEndpoint endpoint : {TokenEndpoint::kNew, TokenEndpoint::kOld}) {
    ClientConfig cfg;
    cfg.app_secret = "wrong-secret";
    cfg.token_endpoint = endpoint;
    auto client = MakeClient(cfg);
    absl::StatusOr<std::vector<Department>> d = client->ListSubDepartments(1, CallOptions::Interactive());
    EXPECT_EQ(ReasonOf(d.status()), ApiError::kAuth) << d.status();
    EXPECT_EQ(std::string(d.status().message()).find("wrong-secret"), std::string::npos);
  }
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 1);
  EXPECT_EQ(sim_.Hits("/gettoken"), 1);
  EXPECT_EQ(sim_.Hits("/topapi/v2/department/listsub"), 0);
}

TEST_F(HttpClientTest, OldTokenEndpointWorks) {
  sim_.On("/topapi/v2/department/listsub", [](const httplib::Request&, httplib::Response& res) {
    FakeDingTalk::Reply(res, {{"errcode", 0},
                              {"errmsg", "ok"},
                              {"result",
                               {{{"auto_add_user", true},
                                 {"create_dept_group", true},
                                 {"dept_id", 147953855},
                                 {"name", "财务部"},
                                 {"parent_id", 1}}}}});
  });
  ClientConfig cfg;
  cfg.token_endpoint = TokenEndpoint::kOld;
  auto client = MakeClient(cfg);
  absl::StatusOr<std::vector<Department>> d = client->ListSubDepartments(1, CallOptions::Bulk());
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].name, "财务部");
  EXPECT_EQ(sim_.Hits("/gettoken"), 1);
}

TEST_F(HttpClientTest, ConcurrentCallersShareOneTokenFetch) {
  sim_.On("/topapi/v2/department/get", [](const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body);
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"dept_id", body["dept_id"]}, {"name", "d"}}}});
  });
  ClientConfig cfg;
  cfg.rate_limit.qps_per_api = 1000;
  auto client = MakeClient(cfg);
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      if (client->GetDepartment(100 + i, CallOptions::Bulk()).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 1);
  EXPECT_EQ(sim_.Hits("/topapi/v2/department/get"), kThreads);
}

TEST_F(HttpClientTest, RefreshesTokenBeforeExpiry) {
  sim_.On("/topapi/v2/department/listsubid", [](const httplib::Request&, httplib::Response& res) {
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"dept_id_list", {2, 3}}}}});
  });
  auto client = MakeClient();
  ASSERT_TRUE(client->ListSubDepartmentIds(1, CallOptions::Bulk()).ok());
  clock_.Advance(absl::Seconds(7200 - 600 - 5));
  ASSERT_TRUE(client->ListSubDepartmentIds(1, CallOptions::Bulk()).ok());
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 1);
  clock_.Advance(absl::Seconds(10));  // now inside the 10-minute early window
  absl::StatusOr<std::vector<int64_t>> ids = client->ListSubDepartmentIds(1, CallOptions::Bulk());
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 2);
  EXPECT_EQ(sim_.Hits("/topapi/v2/department/listsubid"), 3);  // no call was rejected
}

TEST_F(HttpClientTest, BacksOffOnThrottlingThenSucceeds) {
  std::atomic<int> calls{0};
  sim_.On("/topapi/v2/user/list", [&calls](const httplib::Request&, httplib::Response& res) {
    int n = ++calls;
    if (n == 1) {
      FakeDingTalk::Reply(res, {{"errcode", 88},
                                {"sub_code", "90018"},
                                {"sub_msg", "接口次数过多"},
                                {"errmsg", "ding talk error[subcode=90018,submsg=接口次数过多]"}});
    } else if (n == 2) {
      FakeDingTalk::Reply(res, {{"errcode", 90018}, {"errmsg", "限流"}});
    } else {
      FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"has_more", false}, {"list", Json::array()}}}});
    }
  });
  auto client = MakeClient();
  CallStats run;
  absl::StatusOr<UserPage> page = client->ListUsersPage(1, 0, 100, CallOptions::Bulk(&run));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(calls.load(), 3);
  // Back-off: >= 1 s then >= 2 s, jitter at most +30 %.
  std::vector<absl::Duration> sleeps = clock_.Sleeps();
  std::vector<absl::Duration> long_sleeps;
  for (absl::Duration d : sleeps) {
    if (d >= absl::Milliseconds(500)) long_sleeps.push_back(d);
  }
  ASSERT_EQ(long_sleeps.size(), 2u);
  EXPECT_GE(long_sleeps[0], absl::Seconds(1));
  EXPECT_LE(long_sleeps[0], absl::Milliseconds(1300));
  EXPECT_GE(long_sleeps[1], absl::Seconds(2));
  EXPECT_LE(long_sleeps[1], absl::Milliseconds(2600));
  EXPECT_EQ(run.Snapshot().throttled, 2);
  EXPECT_EQ(run.Snapshot().api_calls, 3);
  EXPECT_EQ(client->Stats().throttled, 2);
  EXPECT_EQ(CounterValue("sase_dingtalk_throttled_total", {{"api", "user_list"}}), 2);
  EXPECT_EQ(CounterValue("sase_dingtalk_requests_total", {{"api", "user_list"}, {"outcome", "throttled"}}), 2);
}

TEST_F(HttpClientTest, ThrottlingRetriesAreBounded) {
  sim_.On("/topapi/v2/user/list", [](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content(R"({"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"暂时禁用"})", kJsonType);
  });
  ClientConfig cfg;
  cfg.retry.max_attempts = 3;
  auto client = MakeClient(cfg);
  absl::StatusOr<UserPage> page = client->ListUsersPage(1, 0, 100, CallOptions::Bulk());
  EXPECT_EQ(ReasonOf(page.status()), ApiError::kThrottled);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(sim_.Hits("/topapi/v2/user/list"), 3);
}

TEST_F(HttpClientTest, RecoversFromServerErrorsAndIpBanPage) {
  std::atomic<int> calls{0};
  sim_.On("/topapi/v2/department/get", [&calls](const httplib::Request&, httplib::Response& res) {
    int n = ++calls;
    if (n == 1) {
      res.status = 502;
      res.set_content("bad gateway", "text/plain");
    } else if (n == 2) {
      res.set_content("<html><body>您的请求被拒绝</body></html>", "text/html");
    } else {
      FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"dept_id", 1}, {"name", "根"}}}});
    }
  });
  auto client = MakeClient();
  absl::StatusOr<Department> d = client->GetDepartment(1, CallOptions::Bulk());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->name, "根");
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(client->Stats().retries, 2);
}

TEST_F(HttpClientTest, TimeoutIsUnreachable) {
  sim_.On("/topapi/user/getbyunionid", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));  // longer than the client's timeout
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"userid", "u"}}}});
  });
  ClientConfig cfg;
  cfg.request_timeout = absl::Milliseconds(200);
  cfg.retry.interactive_max_attempts = 1;
  auto client = MakeClient(cfg);
  absl::StatusOr<UnionIdLookup> r = client->GetUserIdByUnionId("union", CallOptions::Interactive());
  EXPECT_EQ(ReasonOf(r.status()), ApiError::kUnreachable) << r.status();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnreachable) {
  // A port that was free a moment ago and has no listener.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int closed_port = ntohs(addr.sin_port);
  ::close(fd);
  ClientConfig cfg;
  cfg.app_key = kAppKey;
  cfg.app_secret = kAppSecret;
  cfg.oapi_base_url = absl::StrCat("http://127.0.0.1:", closed_port);
  cfg.api_base_url = cfg.oapi_base_url;
  cfg.retry.max_attempts = 2;
  ClientDeps deps;
  deps.clock = &clock_;
  auto client = HttpClient::Create(cfg, deps);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<AccessToken> t = (*client)->GetAccessToken(CallOptions::Bulk());
  EXPECT_EQ(ReasonOf(t.status()), ApiError::kUnreachable) << t.status();
  EXPECT_EQ(std::string(t.status().message()).find(kAppSecret), std::string::npos);
}

TEST_F(HttpClientTest, InteractiveCallSkipsTheBulkQueue) {
  sim_.On("/topapi/v2/user/get", [](const httplib::Request&, httplib::Response& res) {
    FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"userid", "zhangsan"}}}});
  });
  ClientConfig cfg;
  cfg.rate_limit.qps_per_api = 2;
  auto client = MakeClient(cfg);
  ASSERT_TRUE(client->GetAccessToken(CallOptions::Bulk()).ok());
  // Saturate user_get's bucket with bulk traffic.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->GetUser("zhangsan", CallOptions::Bulk()).ok());
  clock_.ClearSleeps();
  EXPECT_GT(client->limiter().TryAcquire(kAppKey, "user_get", Priority::kBulk), absl::ZeroDuration());
  ASSERT_TRUE(client->GetUser("zhangsan", CallOptions::Interactive()).ok());
  EXPECT_TRUE(clock_.Sleeps().empty()) << "interactive call waited for the bulk lane";
}

TEST_F(HttpClientTest, LoginFlows) {
  sim_.On("/v1.0/oauth2/userAccessToken", [](const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body);
    if (body["code"] == "good-code" && body["clientId"] == kAppKey && body["grantType"] == "authorization_code") {
      FakeDingTalk::Reply(
          res, {{"accessToken", "user-tok"}, {"refreshToken", "r"}, {"expireIn", 7200}, {"corpId", "corp1"}});
    } else {
      FakeDingTalk::Reply(res, {{"code", "invalidParameter.authCode.notFound"}, {"message", "bad code"}}, 400);
    }
  });
  sim_.On("/v1.0/contact/users/me", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("x-acs-dingtalk-access-token") != "user-tok") {
      FakeDingTalk::Reply(res, {{"code", "InvalidAuthentication"}, {"message", "不合法的access_token"}}, 400);
      return;
    }
    FakeDingTalk::Reply(res, {{"nick", "zhangsan"}, {"unionId", "union-1"}, {"openId", "o"}});
  });
  sim_.On("/topapi/user/getbyunionid", [](const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body);
    if (body["unionid"] == "union-1") {
      FakeDingTalk::Reply(res, {{"errcode", "0"}, {"result", {{"contact_type", "0"}, {"userid", "zhangsan"}}}});
    } else {
      FakeDingTalk::Reply(res, {{"errcode", 60121}, {"errmsg", "找不到该用户"}});
    }
  });
  sim_.On("/topapi/v2/user/getuserinfo", [](const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body);
    if (body["code"] == "free-code") {
      FakeDingTalk::Reply(res, {{"errcode", 0}, {"result", {{"userid", "zhangsan"}, {"sys", true}, {"sys_level", 1}}}});
    } else {
      FakeDingTalk::Reply(res, {{"errcode", 40078}, {"errmsg", "不存在的临时授权码"}});
    }
  });
  auto client = MakeClient();
  CallOptions login = CallOptions::Interactive();
  absl::StatusOr<UserAccessToken> ut = client->ExchangeUserAuthCode("good-code", login);
  ASSERT_TRUE(ut.ok()) << ut.status();
  EXPECT_EQ(ut->corp_id, "corp1");
  absl::StatusOr<Me> me = client->GetMe(ut->access_token, login);
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->union_id, "union-1");
  absl::StatusOr<UnionIdLookup> id = client->GetUserIdByUnionId(me->union_id, login);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->userid, "zhangsan");

  EXPECT_EQ(ReasonOf(client->ExchangeUserAuthCode("used-code", login).status()), ApiError::kInvalidAuthCode);
  EXPECT_EQ(ReasonOf(client->GetMe("bogus", login).status()), ApiError::kAuth);
  EXPECT_EQ(ReasonOf(client->GetUserIdByUnionId("stranger", login).status()), ApiError::kNotFound);
  absl::StatusOr<FreeLoginUser> free = client->GetUserInfoByCode("free-code", login);
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_TRUE(free->sys);
  EXPECT_EQ(ReasonOf(client->GetUserInfoByCode("stale", login).status()), ApiError::kInvalidAuthCode);
  // The user token never triggered an app-token refresh.
  EXPECT_EQ(sim_.Hits("/v1.0/oauth2/accessToken"), 1);
  EXPECT_EQ(sim_.HeaderValues("/v1.0/contact/users/me", "x-acs-dingtalk-access-token")[0], "user-tok");
}

TEST_F(HttpClientTest, FailedCallbacks) {
  sim_.On("/topapi/call_back/get_call_back_failed_result", [](const httplib::Request&, httplib::Response& res) {
    FakeDingTalk::Reply(res, {{"errcode", 0},
                              {"errmsg", "ok"},
                              {"has_more", false},
                              {"failed_list",
                               {{{"user_leave_org", {{"userid", {"u1", "u2"}}, {"corpid", "ding1"}}},
                                 {"call_back_tag", "user_leave_org"},
                                 {"event_time", 1606126433000}}}}});
  });
  auto client = MakeClient();
  absl::StatusOr<FailedCallbackPage> page = client->GetFailedCallbacks(CallOptions::Bulk());
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].call_back_tag, "user_leave_org");
  EXPECT_EQ(page->events[0].userids, (std::vector<std::string>{"u1", "u2"}));
}

TEST(ClientConfig, ValidatesAndRedacts) {
  ClientConfig cfg;
  EXPECT_FALSE(cfg.Validate().ok());
  cfg.app_key = "k";
  cfg.app_secret = "s3cr3t";
  EXPECT_TRUE(cfg.Validate().ok());
  EXPECT_EQ(cfg.DebugString().find("s3cr3t"), std::string::npos);
  cfg.oapi_base_url = "ftp://x";
  EXPECT_FALSE(cfg.Validate().ok());
}

}  // namespace
}  // namespace sase::dingtalk

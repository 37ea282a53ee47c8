// `sasectl login-test` over real HTTP against one in-process fake playing ingress and the
// DingTalk simulator (cpp-httplib on 127.0.0.1:0), its assertions signed by the server's signer.
#include "sasectl/login_flow.h"

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/web.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "login/assertion_signer.h"
#include "sasectl/runner.h"

namespace sase::sasectl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRedirect[] = "app://sase/cb";
constexpr char kAuthCode[] = "authcode-never-printed-1";
constexpr char kFreeCode[] = "freecode-never-printed-2";
constexpr char kOAuthState[] = "signed.oauth.state";
constexpr char kAppState[] = "signed.in-app.state";

// Ingress and the simulator in one server: the routes login-test uses, with their wire shapes.
class FakeLogonServer {
 public:
  FakeLogonServer() : signer_(*login::AssertionSigner::Ephemeral()) {
    s_.Get("/dingtalk/login/idp-1", [this](const httplib::Request& q, httplib::Response& r) { Start(q, r); });
    s_.Get("/oauth2/auth", [this](const httplib::Request& q, httplib::Response& r) { Authorize(q, r); });
    s_.Get("/open-dev/dingtalk", [this](const httplib::Request& q, httplib::Response& r) { Callback(q, r); });
    s_.Get("/ui/dingAuth/", [this](const httplib::Request& q, httplib::Response& r) { Homepage(q, r); });
    s_.Post("/ui/dingAuth/login", [this](const httplib::Request& q, httplib::Response& r) { HomepageLogin(q, r); });
    s_.Post("/admin/free_login_codes", [this](const httplib::Request& q, httplib::Response& r) { FreeCode(q, r); });
    s_.Get("/.well-known/jwks.json", [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(login::JwksDocument(signer_->PublicJwks()), "application/json");
    });
    port_ = s_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { s_.listen_after_bind(); });
    while (!s_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeLogonServer() {
    s_.stop();
    thread_.join();
  }

  std::string base() const { return absl::StrCat("http://127.0.0.1:", port_); }
  std::string last_assertion() {
    std::lock_guard<std::mutex> l(mu_);
    return assertion_;
  }
  std::string last_accept(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    return accept_[path];
  }
  std::atomic<bool> closed{false};  // the source refuses logons (idp_closed)

 private:
  void Seen(const httplib::Request& q) {
    std::lock_guard<std::mutex> l(mu_);
    accept_[q.path] = q.get_header_value("Accept");
  }
  static void Refuse(httplib::Response& r, int status, const std::string& reason) {
    r.status = status;
    r.set_content(json{{"error", reason}, {"message", "Refused by the fake."}}.dump(), "application/json");
  }
  void Start(const httplib::Request& q, httplib::Response& r) {
    Seen(q);
    if (q.get_param_value("redirect_uri") != kRedirect) return Refuse(r, 400, "redirect_not_allowed");
    client_state_ = q.get_param_value("state");
    r.set_redirect(common::AppendQuery(base() + "/oauth2/auth", {{"client_id", "k"}, {"state", kOAuthState}}), 302);
  }
  void Authorize(const httplib::Request& q, httplib::Response& r) {
    if (q.get_param_value("sim_userid") != "u1") {
      r.status = 400;
      r.set_content("<p id=\"sim-error\">Invalid request: parameter <code>sim_userid</code> is not a user.</p>",
                    "text/html");
      return;
    }
    r.set_redirect(common::AppendQuery(base() + "/open-dev/dingtalk", {{"authCode", kAuthCode}, {"state", kOAuthState}}),
                   302);
  }
  void Callback(const httplib::Request& q, httplib::Response& r) {
    Seen(q);
    if (q.get_param_value("authCode") != kAuthCode || q.get_param_value("state") != kOAuthState) {
      return Refuse(r, 400, "code_invalid");
    }
    r.set_content(json{{"redirect", ClientRedirect()}, {"expires_in", 300}}.dump(), "application/json");
  }
  void Homepage(const httplib::Request& q, httplib::Response& r) {
    Seen(q);
    if (closed) return Refuse(r, 403, "idp_closed");
    client_state_ = q.get_param_value("state");
    r.set_content(absl::StrCat("<script>var cfg = {corpId: \"c\", clientId: \"k\", state: ", common::JsString(kAppState),
                               ", endpoint: \"/ui/dingAuth/login\"};</script>"),
                  "text/html");
  }
  void HomepageLogin(const httplib::Request& q, httplib::Response& r) {
    json body = json::parse(q.body, nullptr, false);
    if (q.get_header_value("Content-Type") != "application/json" || !body.is_object() ||
        body.value("code", "") != kFreeCode || body.value("state", "") != kAppState) {
      return Refuse(r, 400, "bad_request");
    }
    r.set_content(json{{"redirect", ClientRedirect()}, {"expires_in", 300}}.dump(), "application/json");
  }
  void FreeCode(const httplib::Request& q, httplib::Response& r) {
    json body = json::parse(q.body, nullptr, false);
    if (!body.is_object() || body.value("userid", "") != "u1") {
      r.status = 404;
      r.set_content(R"({"ok":false,"error":"user not found"})", "application/json");
      return;
    }
    r.set_content(json{{"ok", true}, {"code", kFreeCode}}.dump(), "application/json");
  }
  std::string ClientRedirect() {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    const json claims = {{"iss", "sase-dingtalk"}, {"aud", "sase-client"}, {"sub", "user-1"}, {"tenant", "demo"},
                         {"idp", "idp-1"}, {"dingtalk_userid", "u1"}, {"name", "王小明"}, {"dept_ids", {1}},
                         {"iat", now}, {"exp", now + 300}, {"jti", "j1"}};
    const std::string assertion = *signer_->Sign(claims);
    std::lock_guard<std::mutex> l(mu_);
    assertion_ = assertion;
    return absl::StrCat(kRedirect, "#", common::FormEncode({{"assertion", assertion}, {"token_type", "Bearer"},
                                                            {"expires_in", "300"}, {"state", client_state_}}));
  }

  std::unique_ptr<login::AssertionSigner> signer_;
  httplib::Server s_;
  std::thread thread_;
  int port_ = 0;
  std::string client_state_;
  std::mutex mu_;
  std::string assertion_;
  std::map<std::string, std::string> accept_;
};

class SasectlLoginFlowTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> argv) {
    out_.str("");
    err_.str("");
    return RunSasectl(argv, out_, err_, [](const char*) -> const char* { return nullptr; });
  }
  std::vector<std::string> Args(const std::string& userid, const std::string& redirect = kRedirect) {
    return {"login-test", "--idp", "idp-1", "--userid", userid, "--redirect-uri", redirect,
            "--ingress", server_.base() + "/", "--sim", server_.base(), "--timeout", "5"};
  }
  void ExpectNothingSecret() {
    const std::string all = out_.str() + err_.str();
    EXPECT_THAT(all, Not(HasSubstr(kAuthCode)));
    EXPECT_THAT(all, Not(HasSubstr(kFreeCode)));
    if (!server_.last_assertion().empty()) {
      EXPECT_THAT(all, Not(HasSubstr(server_.last_assertion())));
    }
  }

  FakeLogonServer server_;
  std::ostringstream out_, err_;
};

TEST_F(SasectlLoginFlowTest, OAuthLogonIsVerified) {
  ASSERT_EQ(Run(Args("u1")), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("flow:             oauth\n"));
  EXPECT_THAT(out_.str(), HasSubstr("dingtalk_userid:  u1\n"));
  EXPECT_THAT(out_.str(), HasSubstr("name:             王小明\n"));
  EXPECT_THAT(out_.str(), HasSubstr("signature: verified with kid "));
  EXPECT_THAT(out_.str(), HasSubstr(absl::StrCat(server_.last_assertion().size(), " characters, starting ",
                                                 server_.last_assertion().substr(0, 12))));
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(server_.last_accept("/dingtalk/login/idp-1"), "application/json");
  EXPECT_EQ(server_.last_accept("/open-dev/dingtalk"), "application/json");
  ExpectNothingSecret();
}

TEST_F(SasectlLoginFlowTest, InAppLogonWithJsonOutput) {
  std::vector<std::string> args = Args("u1");
  args.insert(args.end(), {"--flow", "in_app", "--json"});
  ASSERT_EQ(Run(args), 0) << err_.str();
  json j = json::parse(out_.str());
  EXPECT_EQ(j["flow"], "in_app");
  EXPECT_EQ(j["claims"]["sub"], "user-1");
  EXPECT_EQ(j["signature"]["verified"], true);
  EXPECT_EQ(server_.last_accept("/ui/dingAuth/"), "text/html");
  ExpectNothingSecret();
}

TEST_F(SasectlLoginFlowTest, RefusalsPrintTheReasonCode) {
  EXPECT_EQ(Run(Args("u1", "https://evil.example/cb")), 4);
  EXPECT_EQ(err_.str(), "login refused: redirect_not_allowed (Refused by the fake.)\n");
  EXPECT_EQ(out_.str(), "");

  server_.closed = true;
  std::vector<std::string> args = Args("u1");
  args.insert(args.end(), {"--flow", "in_app"});
  EXPECT_EQ(Run(args), 1);
  EXPECT_EQ(err_.str(), "login refused: idp_closed (Refused by the fake.)\n");
}

TEST_F(SasectlLoginFlowTest, UnknownUserIsNotFound) {
  EXPECT_EQ(Run(Args("nobody")), 3);
  EXPECT_THAT(err_.str(), HasSubstr("error: NOT_FOUND: DingTalk simulator: nobody is not a user"));
  std::vector<std::string> args = Args("nobody");
  args.insert(args.end(), {"--flow", "in_app"});
  EXPECT_EQ(Run(args), 3);
  ExpectNothingSecret();
}

TEST_F(SasectlLoginFlowTest, UsageAndUnreachable) {
  std::vector<std::string> bad_flow = Args("u1");
  bad_flow.insert(bad_flow.end(), {"--flow", "qr"});
  EXPECT_EQ(Run(bad_flow), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--flow takes oauth or in_app"));
  EXPECT_EQ(Run({"login-test", "--idp", "i", "--userid", "u", "--redirect-uri", "a://b", "--ingress", "ftp://x"}), 2);
  EXPECT_EQ(Run({"login-test", "--idp", "i", "--userid", "u", "--redirect-uri", "a://b", "--ingress",
                 "http://127.0.0.1:1", "--timeout", "2"}),
            1);
  EXPECT_THAT(err_.str(), HasSubstr("error: UNAVAILABLE: GET http://127.0.0.1:1/dingtalk/login/i: "));
  EXPECT_THAT(err_.str(), Not(HasSubstr("redirect_uri=")));
}

}  // namespace
}  // namespace sase::sasectl

#pragma once
// The public half of "log on with DingTalk" (README "How a logon flows"):
//   GET  /dingtalk/login?enterprise=ID[&redirect_uri=]  the tenant's logon options (JSON; HTML for browsers)
//   GET  /dingtalk/login/{idp_id}?redirect_uri=&state=  302 to DingTalk's authorize page
//   GET  /dingtalk/login/{idp_id}/qr?redirect_uri=&state= DingTalk's embedded QR code (DTFrameLogin)
//   GET  /open-dev/dingtalk?authCode|code=&state=       DingTalk's redirect back: complete, then 302
//                                                      to the client's redirect_uri#assertion=...
//   GET  /ui/dingAuth/?idp_id=[&redirect_uri=&state=]   the homepage inside DingTalk (dd.requestAuthCode)
//   POST /ui/dingAuth/login {"code","state"}            its code, answered with {"redirect"} as JSON
//   GET  /.well-known/jwks.json                         the keys that verify assertions
//
// The `state` DingTalk carries is signed here (login::StateSigner), expires, and binds the source,
// the client's redirect, the flow and a nonce that sync_worker consumes once in PostgreSQL. Ingress
// holds no database credentials, no AppSecret and no signing key: sync_worker checks the redirect
// again, exchanges the code and signs. Every refusal ends on a page (JSON when asked) naming a
// reason code, counted in sase_ingress_login_total and logged (rate-limited) without codes,
// tokens or personal data.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/log.h"
#include "ingress/http_server.h"
#include "ingress/login_backend.h"
#include "login/state_token.h"

namespace boost::asio {
class thread_pool;
}
namespace prometheus {
class Registry;
}

namespace sase::ingress {

struct LoginHandlerOptions {
  // Our public origin, e.g. https://sase.example.com: the callback DingTalk redirects to is
  // public_base_url + "/open-dev/dingtalk" (register it in the DingTalk console).
  std::string public_base_url;
  std::string authorize_url = "https://login.dingtalk.com/oauth2/auth";
  std::string qr_script_url = "https://g.alicdn.com/dingding/h5-dingtalk-login/0.21.0/ddlogin.js";
  std::string jsapi_script_url = "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js";
  std::string scope = "openid corpid";
  absl::Duration state_lifetime = absl::Minutes(10);
  absl::Duration jwks_cache = absl::Seconds(30);
  int threads = 4;        // blocking calls into sync_worker
  int max_backlog = 512;  // queued logon requests beyond this get 503 login_busy
};

class LoginHandler {
 public:
  LoginHandler(LoginHandlerOptions options, login::StateSigner states, LoginBackend& backend, common::Clock& clock,
               prometheus::Registry& registry);
  ~LoginHandler();

  // For a listener on port 0: the origin once the port is known (before traffic is expected).
  void SetPublicBaseUrl(const std::string& base_url);

  // True when `req` is a logon route; the handler then answers it (later, from its pool).
  bool Handle(HttpRequest& req, HttpResponder& respond);
  // Answers what is queued and stops the pool.
  void Stop();

 private:
  struct Metrics;
  void Dispatch(const std::string& route, HttpRequest req, HttpResponder respond);
  HttpReply Serve(const std::string& route, const HttpRequest& req);
  HttpReply Discovery(const HttpRequest& req);
  // The ENABLED source a logon starts with (into *out), or the refusal to answer: idp_unknown,
  // idp_closed, login_unavailable.
  std::optional<HttpReply> EnabledSource(const std::string& route, const std::string& idp_id, bool json,
                                         ::sase::dingtalk::v1::LoginOption* out);
  HttpReply Start(const HttpRequest& req, const std::string& idp_id, bool qr);
  HttpReply Callback(const HttpRequest& req);
  HttpReply Homepage(const HttpRequest& req);
  HttpReply HomepageLogin(const HttpRequest& req);
  HttpReply Jwks();
  // Completes a verified state with DingTalk's code: the client's redirect with the assertion, or
  // a refusal. `json`: answer {"redirect": ...} instead of a 302.
  HttpReply Complete(const std::string& route, const login::LoginState& state, const std::string& code, bool json);
  HttpReply Refuse(const std::string& route, const std::string& reason, bool json, const std::string& detail = "");

  LoginHandlerOptions options_;
  login::StateSigner states_;
  LoginBackend& backend_;
  common::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  common::LogLimiter log_limiter_{5};
  std::string PublicBase();
  std::string CallbackUrl() { return PublicBase() + "/open-dev/dingtalk"; }

  std::mutex base_mu_;
  std::string public_base_;  // guarded by base_mu_
  std::string frame_origin_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::atomic<int> backlog_{0};
  std::mutex jwks_mu_;
  std::string jwks_;
  absl::Time jwks_at_ = absl::InfinitePast();
};

}  // namespace sase::ingress

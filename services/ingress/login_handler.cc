#include "ingress/login_handler.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/timestamp.h"
#include "common/validation.h"
#include "common/web.h"
#include "ingress/login_pages.h"
#include "login/random.h"
#include "login/refusal_name.h"

namespace sase::ingress {
namespace pb = ::sase::dingtalk::v1;
namespace {

constexpr char kDiscoveryPath[] = "/dingtalk/login";
constexpr char kStartPrefix[] = "/dingtalk/login/";  // + {idp_id} [+ "/qr"]
constexpr char kCallbackPath[] = "/open-dev/dingtalk";
constexpr char kHomepagePath[] = "/ui/dingAuth/";
constexpr char kHomepageLoginPath[] = "/ui/dingAuth/login";
constexpr char kJwksPath[] = "/.well-known/jwks.json";
constexpr size_t kStartPrefixLen = sizeof(kStartPrefix) - 1;
constexpr size_t kMaxClientState = 512;
constexpr size_t kMaxCode = 512;

std::string Param(const HttpRequest& req, const std::string& key) {
  auto it = req.params.find(key);
  return it == req.params.end() ? std::string() : it->second;
}

// Browsers ask for text/html; the SASE client and scripts for JSON.
bool AsksHtml(const HttpRequest& req) { return absl::StrContains(req.accept, "text/html"); }
bool AsksJson(const HttpRequest& req) {
  return absl::StrContains(req.accept, "application/json") && !AsksHtml(req);
}

HttpReply Json(int status, const nlohmann::json& body) {
  HttpReply r{status, body.dump(), "application/json"};
  r.headers = LoginResponseHeaders("default-src 'none'; frame-ancestors 'none'");
  return r;
}

HttpReply Html(int status, Page page) {
  HttpReply r{status, std::move(page.html), "text/html; charset=utf-8"};
  r.headers = LoginResponseHeaders(page.csp);
  return r;
}

bool ValidEnterprise(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

// DingTalk's error= value, kept only as a bounded token for the log.
std::string SafeToken(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '?';
  return out;
}

}  // namespace

struct LoginHandler::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : family(prometheus::BuildCounter()
                   .Name("sase_ingress_login_total")
                   .Help("Logon requests by route and outcome (ok or a reason code)")
                   .Register(r)) {}
  void Count(const std::string& route, const std::string& outcome) {
    prometheus::Counter* c;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& slot = by_key[absl::StrCat(route, "|", std::string(outcome))];
      if (slot == nullptr) slot = &family.Add({{"route", route}, {"outcome", std::string(outcome)}});
      c = slot;
    }
    c->Increment();
  }
  prometheus::Family<prometheus::Counter>& family;
  std::mutex mu;
  absl::flat_hash_map<std::string, prometheus::Counter*> by_key;
};

LoginHandler::LoginHandler(LoginHandlerOptions options, login::StateSigner states, LoginBackend& backend,
                           common::Clock& clock, prometheus::Registry& registry)
    : options_(std::move(options)),
      states_(std::move(states)),
      backend_(backend),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)),
      public_base_(options_.public_base_url),
      frame_origin_(OriginOf(options_.authorize_url)),
      pool_(std::make_unique<boost::asio::thread_pool>(static_cast<size_t>(std::max(1, options_.threads)))) {}

LoginHandler::~LoginHandler() { Stop(); }

void LoginHandler::SetPublicBaseUrl(const std::string& base_url) {
  std::lock_guard<std::mutex> lock(base_mu_);
  public_base_ = base_url;
}

std::string LoginHandler::PublicBase() {
  std::lock_guard<std::mutex> lock(base_mu_);
  return public_base_;
}

void LoginHandler::Stop() {
  if (pool_ != nullptr) pool_->join();
}

bool LoginHandler::Handle(HttpRequest& req, HttpResponder& respond) {
  const std::string& path = req.path;
  std::string route;
  std::string method = "GET";
  if (path == kDiscoveryPath) {
    route = "discovery";
  } else if (absl::StartsWith(path, kStartPrefix) && path.size() > kStartPrefixLen) {
    route = absl::EndsWith(path, "/qr") ? "qr" : "start";
  } else if (path == kCallbackPath) {
    route = "callback";
  } else if (path == kHomepagePath || path == "/ui/dingAuth") {
    route = "homepage";
  } else if (path == kHomepageLoginPath) {
    route = "homepage_login";
    method = "POST";
  } else if (path == kJwksPath) {
    route = "jwks";
  } else {
    return false;
  }
  if (req.method != method && !(method == "GET" && req.method == "HEAD")) {
    metrics_->Count(route, "method_not_allowed");
    respond({405, "{\"error\":\"method_not_allowed\"}", "application/json", {{"Allow", method}}});
    return true;
  }
  Dispatch(route, std::move(req), std::move(respond));
  return true;
}

void LoginHandler::Dispatch(const std::string& route, HttpRequest req, HttpResponder respond) {
  if (backlog_.fetch_add(1) >= options_.max_backlog) {
    backlog_.fetch_sub(1);
    respond(Refuse(route, "login_busy", AsksJson(req) || route == "discovery" || route == "jwks"));
    return;
  }
  boost::asio::post(*pool_, [this, route, req = std::move(req), respond = std::move(respond)]() mutable {
    backlog_.fetch_sub(1);
    respond(Serve(route, req));
  });
}

HttpReply LoginHandler::Serve(const std::string& route, const HttpRequest& req) {
  if (route == "discovery") return Discovery(req);
  if (route == "start" || route == "qr") {
    std::string_view rest = std::string_view(req.path).substr(kStartPrefixLen);
    if (route == "qr") rest.remove_suffix(3);
    return Start(req, std::string(rest), route == "qr");
  }
  if (route == "callback") return Callback(req);
  if (route == "homepage") return Homepage(req);
  if (route == "homepage_login") return HomepageLogin(req);
  return Jwks();
}

HttpReply LoginHandler::Refuse(const std::string& route, const std::string& reason, bool json, const std::string& detail) {
  metrics_->Count(route, reason);
  int64_t suppressed = 0;
  if (log_limiter_.Allow(std::string(reason), &suppressed)) {
    common::LogInfo("login refused", {{"route", route},
                                      {"reason", std::string(reason)},
                                      {"detail", std::string(detail)},
                                      {"suppressed", suppressed}});
  }
  const int status = StatusForLoginReason(reason);
  if (json) return Json(status, {{"error", std::string(reason)}, {"message", MessageForLoginReason(reason)}});
  return Html(status, RefusalPage(reason));
}

HttpReply LoginHandler::Discovery(const HttpRequest& req) {
  const bool json = !AsksHtml(req);
  const std::string enterprise = Param(req, "enterprise");
  if (enterprise.empty()) return Refuse("discovery", "enterprise_required", json);
  if (!ValidEnterprise(enterprise)) return Refuse("discovery", "enterprise_invalid", json);
  pb::GetLoginOptionsRequest q;
  q.set_enterprise_id(enterprise);
  absl::StatusOr<pb::GetLoginOptionsResponse> options = backend_.GetLoginOptions(q);
  if (!options.ok()) return Refuse("discovery", "login_unavailable", json, std::string(options.status().message()));
  // The client may pass its redirect (and state) along; the start URLs then carry them.
  std::vector<std::pair<std::string, std::string>> pass;
  for (const char* k : {"redirect_uri", "state"}) {
    if (const std::string v = Param(req, k); !v.empty()) pass.emplace_back(k, v);
  }
  std::vector<DiscoveryEntry> entries;
  nlohmann::json list = nlohmann::json::array();
  for (const pb::LoginOption& o : options->options()) {
    const std::string base = absl::StrCat(PublicBase(), kStartPrefix, o.idp_id());
    DiscoveryEntry e{o.title(), common::AppendQuery(base, pass), common::AppendQuery(base + "/qr", pass)};
    list.push_back({{"idp_id", o.idp_id()},
                    {"title", e.title},
                    {"dingtalk_type", pb::DingTalkType_Name(o.dingtalk_type())},
                    {"login_url", e.login_url},
                    {"qr_login_url", e.qr_login_url}});
    entries.push_back(std::move(e));
  }
  metrics_->Count("discovery", "ok");
  // The same shape whether the identifier is unknown or its tenant has no enabled source.
  if (json) return Json(200, {{"enterprise", absl::AsciiStrToLower(enterprise)}, {"identity_sources", list}});
  return Html(200, DiscoveryPage(absl::AsciiStrToLower(enterprise), entries));
}

std::optional<HttpReply> LoginHandler::EnabledSource(const std::string& route, const std::string& idp_id, bool json,
                                                     pb::LoginOption* out) {
  if (!common::IsUuid(idp_id)) return Refuse(route, "idp_unknown", json, "missing or malformed identity source id");
  pb::GetLoginOptionsRequest q;
  q.set_idp_id(common::CanonicalUuid(idp_id));
  absl::StatusOr<pb::GetLoginOptionsResponse> options = backend_.GetLoginOptions(q);
  if (absl::IsNotFound(options.status())) return Refuse(route, "idp_unknown", json);
  if (!options.ok() || options->options_size() != 1) {
    return Refuse(route, "login_unavailable", json, std::string(options.status().message()));
  }
  *out = options->options(0);
  if (out->status() != pb::ENABLED) return Refuse(route, "idp_closed", json);
  return std::nullopt;
}

HttpReply LoginHandler::Start(const HttpRequest& req, const std::string& idp_id, bool qr) {
  const std::string route = qr ? "qr" : "start";
  const bool json = AsksJson(req);
  pb::LoginOption o;
  if (std::optional<HttpReply> refused = EnabledSource(route, idp_id, json, &o)) return *std::move(refused);
  const std::string redirect = Param(req, "redirect_uri");
  if (redirect.empty()) return Refuse(route, "redirect_uri_required", json);
  if (std::find(o.redirect_uris().begin(), o.redirect_uris().end(), redirect) == o.redirect_uris().end()) {
    return Refuse(route, "redirect_not_allowed", json);
  }
  const std::string client_state = Param(req, "state");
  if (client_state.size() > kMaxClientState) return Refuse(route, "bad_request", json, "state too long");
  const absl::Time now = clock_.Now();
  const std::string state = states_.Issue(
      {o.idp_id(), redirect, client_state, "", qr ? pb::QR : pb::OAUTH, now, now + options_.state_lifetime});
  metrics_->Count(route, "ok");
  if (qr) {
    const std::string nonce = login::RandomToken(16);
    return Html(200, QrPage({o.title(), options_.qr_script_url, frame_origin_, CallbackUrl(), o.client_id(),
                             options_.scope, state, nonce}));
  }
  std::vector<std::pair<std::string, std::string>> q2 = {{"redirect_uri", CallbackUrl()},
                                                         {"response_type", "code"},
                                                         {"client_id", o.client_id()},
                                                         {"scope", options_.scope},
                                                         {"state", state},
                                                         {"prompt", "consent"}};
  if (o.dingtalk_type() == pb::DEDICATED && !o.corp_id().empty()) {
    // Dedicated DingTalk: the exclusive-account logon of this organisation (PROTOCOL.md §5.7).
    q2.emplace_back("exclusiveLogin", "true");
    q2.emplace_back("exclusiveCorpId", o.corp_id());
  } else if (absl::StrContains(options_.scope, "corpid") && !o.corp_id().empty()) {
    q2.emplace_back("corpId", o.corp_id());  // preselect the organisation
  }
  const std::string location = common::AppendQuery(options_.authorize_url, q2);
  HttpReply r{302, absl::StrCat("<a href=\"", common::HtmlEscape(location), "\">Continue to DingTalk</a>\n"),
              "text/html; charset=utf-8"};
  r.headers = LoginResponseHeaders("default-src 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("Location", location);
  return r;
}

HttpReply LoginHandler::Callback(const HttpRequest& req) {
  const bool json = AsksJson(req);
  const std::string token = Param(req, "state");
  if (token.empty()) return Refuse("callback", "state_invalid", json, "no state");
  absl::StatusOr<login::LoginState> state = states_.Verify(token, clock_.Now());
  if (!state.ok()) {
    return Refuse("callback", std::string(login::StateErrorName(login::StateErrorOf(state.status()))), json);
  }
  if (state->flow != pb::OAUTH && state->flow != pb::QR) {
    return Refuse("callback", "state_invalid", json, "state of another flow");
  }
  if (const std::string error = Param(req, "error"); !error.empty()) {
    return Refuse("callback", "dingtalk_denied", json, SafeToken(error));
  }
  std::string code = Param(req, "authCode");
  if (code.empty()) code = Param(req, "code");
  if (code.empty()) return Refuse("callback", "code_required", json);
  if (code.size() > kMaxCode) return Refuse("callback", "code_invalid", json, "code too long");
  return Complete("callback", *state, code, json);
}

HttpReply LoginHandler::Homepage(const HttpRequest& req) {
  const bool json = AsksJson(req);
  pb::LoginOption o;
  if (std::optional<HttpReply> refused = EnabledSource("homepage", Param(req, "idp_id"), json, &o)) {
    return *std::move(refused);
  }
  // Inside DingTalk there is no client to name a redirect: the source's first allowed one, unless
  // the homepage URL names another allowed one.
  std::string redirect = Param(req, "redirect_uri");
  if (redirect.empty() && o.redirect_uris_size() > 0) redirect = o.redirect_uris(0);
  if (redirect.empty() ||
      std::find(o.redirect_uris().begin(), o.redirect_uris().end(), redirect) == o.redirect_uris().end()) {
    return Refuse("homepage", "redirect_not_allowed", json);
  }
  const std::string client_state = Param(req, "state");
  if (client_state.size() > kMaxClientState) return Refuse("homepage", "bad_request", json, "state too long");
  const absl::Time now = clock_.Now();
  const std::string state = states_.Issue(
      {o.idp_id(), redirect, client_state, "", pb::IN_APP, now, now + options_.state_lifetime});
  metrics_->Count("homepage", "ok");
  return Html(200, HomePage({o.title(), options_.jsapi_script_url, o.corp_id(), o.client_id(), state,
                             std::string(kHomepageLoginPath), login::RandomToken(16)}));
}

HttpReply LoginHandler::HomepageLogin(const HttpRequest& req) {
  // JSON only: a cross-site form cannot send it without a CORS preflight we never answer.
  if (!absl::StartsWith(absl::AsciiStrToLower(req.content_type), "application/json")) {
    return Refuse("homepage_login", "bad_request", true, "content type is not application/json");
  }
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_string() || !body.contains("state") ||
      !body["state"].is_string()) {
    return Refuse("homepage_login", "bad_request", true, "body must be {\"code\":..., \"state\":...}");
  }
  absl::StatusOr<login::LoginState> state = states_.Verify(body["state"].get<std::string>(), clock_.Now());
  if (!state.ok()) {
    return Refuse("homepage_login", std::string(login::StateErrorName(login::StateErrorOf(state.status()))), true);
  }
  if (state->flow != pb::IN_APP) return Refuse("homepage_login", "state_invalid", true, "state of another flow");
  const std::string code = body["code"].get<std::string>();
  if (code.empty()) return Refuse("homepage_login", "code_required", true);
  if (code.size() > kMaxCode) return Refuse("homepage_login", "code_invalid", true, "code too long");
  return Complete("homepage_login", *state, code, true);
}

HttpReply LoginHandler::Complete(const std::string& route, const login::LoginState& state, const std::string& code,
                                 bool json) {
  pb::CompleteLoginRequest req;
  req.set_idp_id(state.idp_id);
  req.set_flow(static_cast<pb::LoginFlow>(state.flow));
  req.set_auth_code(code);
  req.set_nonce(state.nonce);
  common::SetTimestamp(state.expires_at, req.mutable_nonce_expire_time());
  req.set_redirect_uri(state.redirect_uri);
  absl::StatusOr<pb::CompleteLoginResponse> resp = backend_.CompleteLogin(req);
  if (!resp.ok()) {
    return Refuse(route, absl::IsInvalidArgument(resp.status()) ? "bad_request" : "login_unavailable", json,
                  std::string(resp.status().message()));
  }
  if (resp->refusal() != pb::LOGIN_REFUSAL_UNSPECIFIED) {
    return Refuse(route, login::LoginRefusalName(resp->refusal()), json, resp->refusal_detail());
  }
  const int64_t expires_in =
      std::max<int64_t>(0, resp->expire_time().seconds() - absl::ToUnixSeconds(clock_.Now()));
  // The assertion travels in the fragment: browsers never send it to a server (not in logs,
  // proxies or Referer), and it reaches a native client's private-use scheme as well as a web one.
  std::vector<std::pair<std::string, std::string>> fragment = {
      {"assertion", resp->assertion()}, {"token_type", "Bearer"}, {"expires_in", std::to_string(expires_in)}};
  if (!state.client_state.empty()) fragment.emplace_back("state", state.client_state);
  const std::string location = absl::StrCat(state.redirect_uri, "#", common::FormEncode(fragment));
  metrics_->Count(route, "ok");
  if (json) return Json(200, {{"redirect", location}, {"expires_in", expires_in}});
  HttpReply r{302, absl::StrCat("<a href=\"", common::HtmlEscape(location), "\">Continue</a>\n"),
              "text/html; charset=utf-8"};
  r.headers = LoginResponseHeaders("default-src 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("Location", location);
  return r;
}

HttpReply LoginHandler::Jwks() {
  std::string doc;
  {
    std::lock_guard<std::mutex> lock(jwks_mu_);
    if (!jwks_.empty() && clock_.Now() - jwks_at_ < options_.jwks_cache) doc = jwks_;
  }
  if (doc.empty()) {
    absl::StatusOr<std::string> fetched = backend_.GetJwks();
    if (!fetched.ok()) return Refuse("jwks", "login_unavailable", true, std::string(fetched.status().message()));
    doc = *fetched;
    std::lock_guard<std::mutex> lock(jwks_mu_);
    jwks_ = doc;
    jwks_at_ = clock_.Now();
  }
  metrics_->Count("jwks", "ok");
  HttpReply r{200, std::move(doc), "application/json"};
  r.headers = {{"Cache-Control", "public, max-age=60"}, {"X-Content-Type-Options", "nosniff"}};
  return r;
}

}  // namespace sase::ingress

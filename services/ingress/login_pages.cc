#include "ingress/login_pages.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/web.h"
#include "login/random.h"

namespace sase::ingress {
namespace {

using common::HtmlEscape;
using common::JsString;

struct Reason {
  const char* code;
  int status;
  const char* message;
};

constexpr Reason kReasons[] = {
    {"idp_unknown", 404, "This logon option does not exist."},
    {"idp_closed", 403, "Logon with this DingTalk organisation is switched off by your administrator."},
    {"user_not_synced", 403, "Your DingTalk account is not in this organisation's directory yet."},
    {"user_departed", 403, "Your DingTalk account has left this organisation."},
    {"user_disabled", 403, "Your account is disabled."},
    {"not_member_of_corp", 403, "Your DingTalk account is not a member of this organisation."},
    {"code_invalid", 400, "DingTalk's logon code was not accepted (used or invalid). Please start again."},
    {"code_expired", 400, "DingTalk's logon code expired. Please start again."},
    {"state_invalid", 400, "This logon link is not valid. Please start again from the application."},
    {"state_expired", 400, "This logon took too long. Please start again."},
    {"state_reused", 400, "This logon was already completed. Please start again."},
    {"redirect_not_allowed", 400, "The application's return address is not registered for this logon."},
    {"redirect_uri_required", 400, "The application did not say where to return after logon."},
    {"enterprise_required", 400, "Enter your enterprise identifier."},
    {"enterprise_invalid", 400, "An enterprise identifier has 1-64 letters, digits and '-'."},
    {"code_required", 400, "DingTalk did not return a logon code."},
    {"bad_request", 400, "The request was not understood."},
    {"dingtalk_unavailable", 503, "DingTalk cannot be reached right now. Please try again shortly."},
    {"dingtalk_denied", 403, "DingTalk refused the logon."},
    {"login_unavailable", 503, "Logon is temporarily unavailable. Please try again shortly."},
    {"login_busy", 503, "Too many logons at once. Please try again shortly."},
};

const Reason* Find(const std::string& code) {
  for (const Reason& r : kReasons) {
    if (code == r.code) return &r;
  }
  return nullptr;
}

std::string Head(const std::string& title, const std::string& nonce) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>",
      HtmlEscape(title), "</title><style nonce=\"", HtmlEscape(nonce),
      "\">body{font-family:system-ui,sans-serif;margin:2em auto;max-width:36em;padding:0 1em}"
      "a.option{display:block;padding:.8em;margin:.5em 0;border:1px solid #ccc;border-radius:6px;"
      "text-decoration:none}#login{width:300px;height:300px}</style></head>\n<body>\n");
}

std::string StyleOnlyCsp(const std::string& nonce) {
  return absl::StrCat("default-src 'none'; style-src 'nonce-", nonce,
                      "'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
}

}  // namespace

int StatusForLoginReason(const std::string& reason) {
  const Reason* r = Find(reason);
  return r != nullptr ? r->status : 400;
}

std::string MessageForLoginReason(const std::string& reason) {
  const Reason* r = Find(reason);
  return r != nullptr ? r->message : "The logon was refused.";
}

std::string OriginOf(const std::string& url) {
  std::optional<common::UrlParts> u = common::ParseUrl(url, /*any_scheme=*/false);
  if (!u || u->scheme.empty() || u->host.empty()) return "";
  return absl::StrCat(u->scheme, "://", u->host, u->port ? absl::StrCat(":", *u->port) : "");
}

Page DiscoveryPage(const std::string& enterprise, const std::vector<DiscoveryEntry>& entries) {
  const std::string nonce = login::RandomToken(12);  // the page has no script; its style has a nonce
  std::string html = Head("Log on with DingTalk", nonce);
  absl::StrAppend(&html, "<h1>Log on with DingTalk</h1>\n<p>Enterprise: <b id=\"enterprise\">", HtmlEscape(enterprise),
                  "</b></p>\n");
  if (entries.empty()) {
    absl::StrAppend(&html, "<p id=\"none\">No DingTalk logon is available for this enterprise identifier.</p>\n");
  }
  for (const DiscoveryEntry& e : entries) {
    absl::StrAppend(&html, "<a class=\"option\" href=\"", HtmlEscape(e.login_url), "\">", HtmlEscape(e.title),
                    "</a> <a class=\"qr\" href=\"", HtmlEscape(e.qr_login_url), "\">QR code</a>\n");
  }
  absl::StrAppend(&html, "</body></html>\n");
  return {std::move(html), StyleOnlyCsp(nonce)};
}

Page QrPage(const QrPageInput& in) {
  std::string html = Head(in.title, in.nonce);
  absl::StrAppend(&html, "<h1>", HtmlEscape(in.title), "</h1>\n<p>Scan the code with DingTalk.</p>\n",
                  "<div id=\"login\"></div>\n<p id=\"status\" role=\"status\"></p>\n", "<script nonce=\"",
                  HtmlEscape(in.nonce), "\" src=\"", HtmlEscape(in.script_url), "\"></script>\n<script nonce=\"",
                  HtmlEscape(in.nonce), "\">\n");
  // The page builds the callback URL itself from the code and its own state: it never navigates
  // to a URL handed to it by the framed page.
  absl::StrAppend(&html, "(function () {\n  var cfg = {callback: ", JsString(in.callback_url),
                  ", clientId: ", JsString(in.client_id), ", scope: ", JsString(in.scope), ", state: ",
                  JsString(in.state), R"JS(};
  var status = document.getElementById('status');
  if (typeof window.DTFrameLogin !== 'function') {
    status.textContent = 'DingTalk QR login could not be loaded.';
    return;
  }
  window.DTFrameLogin({id: 'login', width: 300, height: 300},
    {redirect_uri: cfg.callback, client_id: cfg.clientId, scope: cfg.scope, response_type: 'code',
     state: cfg.state, prompt: 'consent'},
    function (res) {
      var code = res && res.authCode;
      if (!code) { status.textContent = 'DingTalk did not return a logon code.'; return; }
      status.textContent = 'Logging on...';
      window.location.assign(cfg.callback + '?authCode=' + encodeURIComponent(code) +
                             '&state=' + encodeURIComponent(cfg.state));
    },
    function (err) { status.textContent = 'DingTalk QR login failed: ' + String(err); });
})();
</script>
</body></html>
)JS");
  const std::string script_origin = OriginOf(in.script_url);
  std::string csp = absl::StrCat("default-src 'none'; script-src 'nonce-", in.nonce, "' ", script_origin,
                                 "; style-src 'nonce-", in.nonce, "'; img-src 'self' data: ",
                                 in.frame_origin, "; frame-src ", in.frame_origin,
                                 "; connect-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  // frame-src: DingTalk's script renders its QR code in a frame from the login origin.
  return {std::move(html), std::move(csp)};
}

Page HomePage(const HomepageInput& in) {
  std::string html = Head(in.title, in.nonce);
  absl::StrAppend(&html, "<h1>", HtmlEscape(in.title), "</h1>\n<p id=\"status\" role=\"status\">Logging on...</p>\n",
                  "<script nonce=\"", HtmlEscape(in.nonce), "\" src=\"", HtmlEscape(in.script_url),
                  "\"></script>\n<script nonce=\"", HtmlEscape(in.nonce), "\">\n");
  absl::StrAppend(&html, "(function () {\n  var cfg = {corpId: ", JsString(in.corp_id), ", clientId: ",
                  JsString(in.client_id), ", state: ", JsString(in.state), ", endpoint: ", JsString(in.post_path),
                  R"JS(};
  var status = document.getElementById('status');
  function show(text, result) { status.textContent = text; status.setAttribute('data-result', result); }
  function post(code) {
    fetch(cfg.endpoint, {method: 'POST', headers: {'Content-Type': 'application/json'}, credentials: 'omit',
                         cache: 'no-store', body: JSON.stringify({code: code, state: cfg.state})})
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.redirect) { show('Logged on.', 'ok'); window.location.replace(j.redirect); }
        else { show(j.message || 'The logon was refused.', j.error || 'refused'); }
      })
      .catch(function () { show('The logon failed: the server could not be reached.', 'network'); });
  }
  if (!window.dd || typeof dd.requestAuthCode !== 'function') {
    show('Open this page inside DingTalk.', 'no_jsapi');
    return;
  }
  dd.ready(function () {
    dd.requestAuthCode({corpId: cfg.corpId, clientId: cfg.clientId,
      success: function (res) { post(res.code); },
      fail: function (err) { show('DingTalk did not give a logon code.', 'jsapi_failed'); }});
  });
})();
</script>
</body></html>
)JS");
  std::string csp = absl::StrCat("default-src 'none'; script-src 'nonce-", in.nonce, "' ", OriginOf(in.script_url),
                                 "; style-src 'nonce-", in.nonce,
                                 "'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                                 "frame-ancestors 'none'");
  return {std::move(html), std::move(csp)};
}

Page RefusalPage(const std::string& reason) {
  const std::string nonce = login::RandomToken(12);
  std::string html = Head("Logon refused", nonce);
  absl::StrAppend(&html, "<h1>Logon refused</h1>\n<p id=\"message\">", HtmlEscape(MessageForLoginReason(reason)),
                  "</p>\n<p>Reason code: <code id=\"reason\">", HtmlEscape(reason), "</code></p>\n</body></html>\n");
  return {std::move(html), StyleOnlyCsp(nonce)};
}

std::vector<std::pair<std::string, std::string>> LoginResponseHeaders(const std::string& csp) {
  std::vector<std::pair<std::string, std::string>> h = {
      {"Cache-Control", "no-store"},
      {"Pragma", "no-cache"},
      {"X-Frame-Options", "DENY"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
  };
  if (!csp.empty()) h.emplace_back("Content-Security-Policy", csp);
  return h;
}

}  // namespace sase::ingress

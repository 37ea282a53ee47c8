// Login side of the simulator: DingTalk's authorize page (login.dingtalk.com/oauth2/auth) and
// generated stand-ins for the browser scripts ddlogin.js (QR login) and dingtalk.open.js (JSAPI).
// The admin hooks (/admin/login_user, /admin/last_authorize, /admin/codes/expire) are in
// admin_handlers.cc.

#include "dingtalk_sim/login_pages.h"
#include "dingtalk_sim/sim_server.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

constexpr size_t kPickerMaxUsers = 20;

void ReplyPage(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_content(html, "text/html;charset=utf-8");
}

void ReplyScript(httplib::Response& res, int status, const std::string& js) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(js, "application/javascript;charset=utf-8");
}

// The query as JSON: one string per parameter, an array of strings for a repeated one.
json ParamsJson(const httplib::Params& params) {
  json out = json::object();
  for (const auto& [key, value] : params) {
    if (!out.contains(key)) {
      out[key] = value;
    } else {
      if (!out[key].is_array()) out[key] = json::array({out[key]});
      out[key].push_back(value);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> SimServer::LoginUserid() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!login_user_.empty()) return login_user_;
  }
  std::shared_lock lock(org_mu_);
  for (uint32_t slot : org_->LiveSlots()) {
    if (org_->user(slot).has(UserRecord::kActive)) return org_->user(slot).userid;
  }
  return std::nullopt;
}

constexpr char kDemoClientPage[] = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SASE client (demo)</title></head>
<body><h1>SASE client (demo)</h1><p id="status">No logon yet.</p><pre id="claims"></pre>
<script>
(function () {
  var f = new URLSearchParams(window.location.hash.slice(1));
  var a = f.get('assertion');
  if (!a) return;
  var p = a.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  var json = decodeURIComponent(Array.prototype.map.call(atob(p), function (c) {
    return '%' + ('00' + c.charCodeAt(0).toString(16)).slice(-2);
  }).join(''));
  document.getElementById('status').textContent = 'Logged on. Assertion claims (verify them with /.well-known/jwks.json):';
  document.getElementById('claims').textContent = JSON.stringify(JSON.parse(json), null, 2);
  history.replaceState(null, '', window.location.pathname);
})();
</script></body></html>
)HTML";

void SimServer::RegisterLoginRoutes() {
  http_.Get("/oauth2/auth", [this](const Request& req, Response& res) {
    res.set_header("Cache-Control", "no-store");
    if (CountAndInjectFault("/oauth2/auth", req, res, true)) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_authorize_ = {{"params", ParamsJson(req.params)}, {"target", req.target}};
    }
    if (std::optional<AuthorizeProblem> problem = CheckAuthorizeRequest(req.params, opt_.app_key, opt_.corp_id)) {
      return ReplyPage(res, 400, AuthorizeErrorPage(*problem));
    }
    // Validated: from here on answers may redirect to redirect_uri.
    const std::string redirect_uri = req.get_param_value("redirect_uri");
    std::vector<std::pair<std::string, std::string>> state;
    if (req.has_param("state")) state.emplace_back("state", req.get_param_value("state"));
    const bool want_error = req.has_param("sim_error");
    const bool want_user = req.has_param("sim_userid");
    if (want_error && want_user) {
      return ReplyPage(res, 400, AuthorizeErrorPage({"sim_error", "cannot be combined with sim_userid"}));
    }
    if (want_error) {
      const std::string error = req.get_param_value("sim_error");
      if (error.empty()) return ReplyPage(res, 400, AuthorizeErrorPage({"sim_error", "must not be empty"}));
      std::vector<std::pair<std::string, std::string>> q = {{"error", error}};
      q.insert(q.end(), state.begin(), state.end());
      return res.set_redirect(AppendQuery(redirect_uri, q), 302);
    }
    if (want_user) {
      const std::string userid = req.get_param_value("sim_userid");
      {
        std::shared_lock lock(org_mu_);
        if (!org_->SlotOfUserid(userid)) {
          return ReplyPage(res, 400, AuthorizeErrorPage({"sim_userid", "is not a user of the organisation"}));
        }
      }
      const std::string code = IssueCode(userid, /*free_login=*/false);
      std::vector<std::pair<std::string, std::string>> q = {{"authCode", code}, {"code", code}};
      q.insert(q.end(), state.begin(), state.end());
      return res.set_redirect(AppendQuery(redirect_uri, q), 302);
    }
    std::vector<PickerUser> users;
    {
      std::shared_lock lock(org_mu_);
      for (uint32_t slot : org_->LiveSlots()) {
        const UserRecord& u = org_->user(slot);
        if (!u.has(UserRecord::kActive)) continue;
        users.push_back({u.userid, u.name});
        if (users.size() == kPickerMaxUsers) break;
      }
    }
    ReplyPage(res, 200, AuthorizePickerPage(req.target, users));
  });

  http_.Get("/ddlogin.js", [this](const Request& req, Response& res) {
    if (CountAndInjectFault("/ddlogin.js", req, res, true)) return;
    std::optional<std::string> userid = LoginUserid();
    if (!userid) return ReplyScript(res, 503, "throw new Error('DingTalk simulator: no login user');\n");
    ReplyScript(res, 200, DdLoginScript(IssueCode(*userid, /*free_login=*/false), opt_.app_key,
                                        req.get_param_value("auto") == "1"));
  });

  http_.Get("/dingtalk.open.js", [this](const Request& req, Response& res) {
    if (CountAndInjectFault("/dingtalk.open.js", req, res, true)) return;
    std::optional<std::string> userid = LoginUserid();
    if (!userid) return ReplyScript(res, 503, "throw new Error('DingTalk simulator: no login user');\n");
    const bool in_app = req.get_param_value("in_app") == "1";
    ReplyScript(res, 200, JsapiScript(IssueCode(*userid, /*free_login=*/true), opt_.corp_id, in_app));
  });

  // Not DingTalk: a stand-in for the SASE client's redirect target in local runs, showing the claims
  // of the assertion it received in the fragment (decoded, not verified: the client verifies
  // against /.well-known/jwks.json).
  http_.Get("/demo/client", [](const Request&, Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(kDemoClientPage, "text/html;charset=utf-8");
  });
}

}  // namespace sase::dingtalk_sim

#pragma once
// Pure pieces of the simulator's login side (no server state): the checks DingTalk's authorize page
// makes, the redirect it answers with, its HTML pages, and the two browser scripts the simulator
// generates per request in place of ddlogin.js (QR login) and dingtalk.open.js (JSAPI free login).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>

#include "common/web.h"

namespace sase::dingtalk_sim {

using common::AppendQuery;
using common::HtmlEscape;
using common::JsString;
using common::UrlEncode;


// True for an absolute http:// or https:// URL with a host and without a fragment.
bool IsAbsoluteHttpUrl(std::string_view url);

// What is wrong with an authorize request: the parameter and why.
struct AuthorizeProblem {
  std::string param;
  std::string reason;
};
// The checks of GET /oauth2/auth: client_id, response_type, scope, prompt, redirect_uri,
// exclusiveLogin/exclusiveCorpId. nullopt when the request is acceptable.
std::optional<AuthorizeProblem> CheckAuthorizeRequest(const httplib::Params& params, std::string_view app_key,
                                                      std::string_view corp_id);

struct PickerUser {
  std::string userid;
  std::string name;
};
// The account picker: one link per user (self_url + "&sim_userid=<userid>") and a Decline link
// (self_url + "&sim_error=access_denied"). self_url is the request target as received.
std::string AuthorizePickerPage(std::string_view self_url, const std::vector<PickerUser>& users);
// The 400 page of a refused authorize request.
std::string AuthorizeErrorPage(const AuthorizeProblem& problem);

// Body of GET /ddlogin.js: defines window.DTFrameLogin with code and app_key baked in; auto_scan
// (?auto=1) "scans" right after rendering, for headless browser tests.
std::string DdLoginScript(std::string_view auth_code, std::string_view app_key, bool auto_scan = false);
// Body of GET /dingtalk.open.js: defines window.dd with a free-login code and corp_id baked in.
std::string JsapiScript(std::string_view free_login_code, std::string_view corp_id, bool in_app);

}  // namespace sase::dingtalk_sim

#pragma once
// `sasectl login-test`, the pure parts (no network): options from the command line, the client
// redirect's fragment, the state embedded in the in-app homepage, refusals, verifying the ES256
// assertion against a JWKS document (libcjose) and printing the result. login_flow.h drives the
// HTTP side. Nothing here ever returns or prints the whole assertion or a DingTalk code.

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "sasectl/cli_args.h"

namespace sase::sasectl {

enum class LoginFlow { kOAuth, kInApp };

struct LoginTestOptions {
  LoginFlow flow = LoginFlow::kOAuth;
  std::string ingress = kDefaultIngressUrl;  // no trailing '/'
  std::string sim = kDefaultSimUrl;          // no trailing '/'
  std::string idp_id;
  std::string userid;
  std::string redirect_uri;
  double timeout_seconds = kDefaultTimeoutSeconds;  // of each HTTP request
};

// From the login-test flags and the global --timeout. Usage errors are InvalidArgument.
absl::StatusOr<LoginTestOptions> BuildLoginTestOptions(const Invocation& inv);
std::string LoginFlowName(LoginFlow flow);  // "oauth", "in_app"

// Every refusal's message starts with this: "login refused: <reason code> (<message>)".
inline constexpr char kLoginRefusedPrefix[] = "login refused: ";

// An ingress answer >= 400: its reason code from the JSON body {"error","message"} (or from the
// HTML refusal page); the status code follows the HTTP status (404 NotFound, 400 InvalidArgument,
// 403 PermissionDenied, 429/503 Unavailable, else FailedPrecondition). A body naming no reason
// gives "<step>: unexpected HTTP <status>".
absl::Status RefusalFromReply(long http_status, const std::string& body, const std::string& step);

// The application/x-www-form-urlencoded pairs after the first '#' ('+' is a space).
std::map<std::string, std::string> ParseFragment(const std::string& url);

// What the client redirect carries.
struct RedirectTokens {
  std::string assertion;
  std::string token_type;
  int64_t expires_in = 0;
};
// Checks that `location` is redirect_uri + "#..." with an assertion, token_type Bearer and the
// state that was sent; FailedPrecondition naming what is wrong otherwise.
absl::StatusOr<RedirectTokens> CheckClientRedirect(const std::string& location, const std::string& redirect_uri,
                                                   const std::string& sent_state);

// The state token of the in-app homepage: the JS object literal's `state: "<token>"` (a JSON
// string literal; a JSON body's "state" works too). FailedPrecondition when the page has none.
absl::StatusOr<std::string> ExtractPageState(const std::string& page);

// The string member `key` of a JSON object text; "" when absent, not a string or not JSON.
std::string JsonStringField(const std::string& json_text, const char* key);
// The simulator's authorize error page text ("Invalid request: parameter sim_userid is not a
// user of the organisation."), tags stripped; "" for any other page.
std::string AuthorizePageError(const std::string& page);

struct DecodedJws {
  nlohmann::json header;  // objects
  nlohmann::json claims;
};
// Decodes (without verifying) a compact JWS whose header and payload are JSON objects.
absl::StatusOr<DecodedJws> DecodeJws(const std::string& compact);

struct VerifiedAssertion {
  nlohmann::json header;
  nlohmann::json claims;  // the verified payload
  std::string kid;
};
// Verifies an ES256 compact JWS with the key of `jwks_json` ({"keys":[...]}) whose kid the
// header names, then checks exp > now and iat <= now + 60 s. NotFound when no key has that kid;
// PermissionDenied when the signature or the times are wrong; InvalidArgument when malformed.
absl::StatusOr<VerifiedAssertion> VerifyAssertion(const std::string& assertion, const std::string& jwks_json,
                                                  absl::Time now);

struct LoginTestResult {
  LoginFlow flow = LoginFlow::kOAuth;
  VerifiedAssertion verified;
  size_t assertion_length = 0;
  std::string assertion_prefix;  // the first 12 characters, never the whole assertion
  std::string token_type;
  int64_t expires_in = 0;
};
LoginTestResult MakeLoginTestResult(LoginFlow flow, const RedirectTokens& tokens, VerifiedAssertion verified);

// The table: assertion length and prefix, the header, the claims (iss, aud, sub, tenant, idp,
// dingtalk_userid, name, dept_ids, iat, exp as RFC 3339, jti, then any others), and
// "signature: verified with kid <kid>".
std::string RenderLoginTest(const LoginTestResult& result);
// One line of JSON with the same content (claims as sent).
std::string LoginTestJson(const LoginTestResult& result);

}  // namespace sase::sasectl

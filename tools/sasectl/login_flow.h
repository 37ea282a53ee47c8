#pragma once
// `sasectl login-test`, the HTTP side (libcurl): drives a whole logon against ingress and the
// DingTalk simulator, then verifies the assertion with ingress's JWKS (login_test.h).
//
//   oauth:  GET {ingress}/dingtalk/login/{idp}?redirect_uri&state  → 302 to the authorize page
//           GET <authorize URL>&sim_userid=U                       → 302 to ingress's callback
//           GET <callback>                                         → the client redirect
//   in_app: POST {sim}/admin/free_login_codes {"userid"}          → {"code"}
//           GET  {ingress}/ui/dingAuth/?idp_id&redirect_uri&state  → the page (its `state`)
//           POST {ingress}/ui/dingAuth/login {"code","state"}     → {"redirect"}
//   then    GET  {ingress}/.well-known/jwks.json
//
// Redirects are never followed automatically: each Location is read and checked. Ingress is asked
// for JSON (Accept: application/json) so refusals name their reason code. Errors never contain a
// code, a state or the assertion (URLs in errors are cut before their query).

#include "absl/status/statusor.h"
#include "sasectl/login_test.h"

namespace sase::sasectl {

// A refusal is an error whose message starts with kLoginRefusedPrefix; an unreachable service
// is Unavailable; an unknown --userid is NotFound.
absl::StatusOr<LoginTestResult> RunLoginTest(const LoginTestOptions& options);

}  // namespace sase::sasectl

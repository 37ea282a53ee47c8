#pragma once
// `sasectl login-test`: the admin's "verify the connection" step. Drives a whole browser-OAuth
// logon over real HTTP against ingress and the DingTalk simulator (start → the simulator's
// authorize page with the chosen user → our callback → the client redirect), then verifies the
// assertion's ES256 signature with the matching key of ingress's JWKS (libcjose) and decodes it.
// Redirects are never followed automatically: each Location is read and checked.

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sase::sasectl {

struct LoginTestOptions {
  std::string ingress;  // http://127.0.0.1:8080
  std::string sim;      // unused by the OAuth flow itself (the authorize URL comes from ingress)
  std::string idp_id;
  std::string userid;
  std::string redirect_uri;
  double timeout_seconds = 10;
};

struct LoginTestResult {
  nlohmann::json header;
  nlohmann::json claims;
  std::string kid;
  size_t assertion_length = 0;
  std::string assertion_prefix;  // the first 12 characters, never the whole assertion
};

// A refusal comes back as FailedPrecondition "login refused: <reason> (<message>)".
absl::StatusOr<LoginTestResult> RunLoginTest(const LoginTestOptions& options);

// Pure parts, unit-tested.
// The application/x-www-form-urlencoded pairs after '#'.
nlohmann::json ParseFragment(const std::string& url);
// Verifies a compact JWS (ES256) with the key of `jwks_json` whose kid the header names; returns
// {header, claims}.
absl::StatusOr<LoginTestResult> VerifyAssertion(const std::string& assertion, const std::string& jwks_json);

}  // namespace sase::sasectl

#pragma once
// What ingress asks sync_worker during a logon (sase.dingtalk.v1.LoginService). Blocking calls:
// LoginHandler makes them on its own small pool, never on the HTTP event loop.

#include <string>

#include "absl/status/statusor.h"
#include "sase/dingtalk/v1/login.pb.h"

namespace sase::ingress {

class LoginBackend {
 public:
  virtual ~LoginBackend() = default;
  virtual absl::StatusOr<::sase::dingtalk::v1::GetLoginOptionsResponse> GetLoginOptions(
      const ::sase::dingtalk::v1::GetLoginOptionsRequest& req) = 0;
  virtual absl::StatusOr<::sase::dingtalk::v1::CompleteLoginResponse> CompleteLogin(
      const ::sase::dingtalk::v1::CompleteLoginRequest& req) = 0;
  // The JWKS document.
  virtual absl::StatusOr<std::string> GetJwks() = 0;
};

}  // namespace sase::ingress

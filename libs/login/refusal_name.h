#pragma once
// The reason code of a logon refusal, shared by sync_worker (metrics, logs) and ingress (pages,
// metrics): the LoginRefusal enum's name without its prefix, in lower case
// (LOGIN_REFUSAL_USER_DEPARTED -> "user_departed"); "ok" for none. Header-only: the users link the
// generated protos, this library does not.

#include <string>

#include "absl/strings/ascii.h"
#include "sase/dingtalk/v1/login.pb.h"

namespace sase::login {

inline std::string LoginRefusalName(::sase::dingtalk::v1::LoginRefusal refusal) {
  if (refusal == ::sase::dingtalk::v1::LOGIN_REFUSAL_UNSPECIFIED) return "ok";
  std::string name = ::sase::dingtalk::v1::LoginRefusal_Name(refusal);
  const std::string prefix = "LOGIN_REFUSAL_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  absl::AsciiStrToLower(&name);
  return name;
}

}  // namespace sase::login

#pragma once
// Typed failure reasons of DingTalk API calls.
//
// Every failing call of this library returns an absl::Status whose code matches the reason class and
// which carries the reason (and, for missing permissions, the permission point) as status payloads.
// Callers branch on ReasonOf(status); metrics use ReasonName() as a bounded label. Messages never
// contain an access token, an app secret or a URL query string.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sase::dingtalk {

enum class ApiError {
  kNone = 0,          // OK, or a status that carries no DingTalk reason
  kNotFound,          // 60003 dept, 60121 user, 33012 invalid userid, HTTP 404 — treat as deleted
  kPermissionDenied,  // 60011, 88/60011, 43007, 403 AccessTokenPermissionDenied — permission point missing
  kOutOfScope,        // 50002 / 50004: user or department outside the app's contact scope
  kThrottled,         // 90018, 88/90018, 90002, 9000x, 90017, 403 Qps*/Qpm* limits, HTTP 429
  kAuth,              // bad AppKey/AppSecret or a token that stays invalid after one refresh
  kIpNotAllowed,      // 60020, 403 IpNotInWhiteList: egress IP not on the app's allow-list
  kUnreachable,       // transport error, timeout, 5xx, -1 system busy, the IP-ban page / punish JSON
  kInvalidArgument,   // 40035, 400002, 40009, 40068, 40069, other 400s: a request the API rejects
  kInvalidAuthCode,   // 40078 or a rejected OAuth authCode: the user's login code is bad or used
  kQuotaExhausted,    // 90020, 403 ApiCountLimitForOrg: monthly call quota used up
  kBadResponse,       // a 2xx whose body is not the JSON the API documents
  kUnknown,           // any other DingTalk error code
};

// Bounded snake_case label, e.g. "not_found"; "none" for kNone.
std::string_view ReasonName(ApiError reason);

// absl code used for a reason: NotFound, PermissionDenied (permission, scope, IP), ResourceExhausted
// (throttled, quota), Unauthenticated (auth, auth code), Unavailable, InvalidArgument, Internal
// (bad response), Unknown.
absl::StatusCode CodeFor(ApiError reason);

// Builds a status with CodeFor(reason), the message, and the reason as payload. `permission` (the
// missing permission point, e.g. "qyapi_get_member") is attached when non-empty and appended to the
// message. `dingtalk_code` (errcode / sub_code / new-API code) is attached when non-empty.
absl::Status MakeError(ApiError reason, std::string_view message, std::string_view dingtalk_code = {},
                       std::string_view permission = {});

// The reason attached by MakeError; kNone for OK or foreign statuses.
ApiError ReasonOf(const absl::Status& status);
// Missing permission point carried by a kPermissionDenied status ("" when unknown).
std::string PermissionOf(const absl::Status& status);
// DingTalk's own error code ("60011", "88/90018", "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"), or "".
std::string DingTalkCodeOf(const absl::Status& status);

// Whether a caller may retry the same call later (throttled or unreachable).
bool IsRetryable(ApiError reason);

}  // namespace sase::dingtalk

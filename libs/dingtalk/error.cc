#include "dingtalk/error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace sase::dingtalk {
namespace {

constexpr char kReasonUrl[] = "type.sase/dingtalk.reason";
constexpr char kPermissionUrl[] = "type.sase/dingtalk.permission";
constexpr char kCodeUrl[] = "type.sase/dingtalk.code";

constexpr ApiError kAllReasons[] = {
    ApiError::kNone,
    ApiError::kNotFound,
    ApiError::kPermissionDenied,
    ApiError::kOutOfScope,
    ApiError::kThrottled,
    ApiError::kAuth,
    ApiError::kIpNotAllowed,
    ApiError::kUnreachable,
    ApiError::kInvalidArgument,
    ApiError::kInvalidAuthCode,
    ApiError::kQuotaExhausted,
    ApiError::kBadResponse,
    ApiError::kUnknown,
};

std::string PayloadText(const absl::Status& status, const char* url) {
  absl::optional<absl::Cord> payload = status.GetPayload(url);
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

}  // namespace

std::string_view ReasonName(ApiError reason) {
  switch (reason) {
    case ApiError::kNone:
      return "none";
    case ApiError::kNotFound:
      return "not_found";
    case ApiError::kPermissionDenied:
      return "permission_denied";
    case ApiError::kOutOfScope:
      return "out_of_scope";
    case ApiError::kThrottled:
      return "throttled";
    case ApiError::kAuth:
      return "auth";
    case ApiError::kIpNotAllowed:
      return "ip_not_allowed";
    case ApiError::kUnreachable:
      return "unreachable";
    case ApiError::kInvalidArgument:
      return "invalid_argument";
    case ApiError::kInvalidAuthCode:
      return "invalid_auth_code";
    case ApiError::kQuotaExhausted:
      return "quota_exhausted";
    case ApiError::kBadResponse:
      return "bad_response";
    case ApiError::kUnknown:
      return "unknown";
  }
  return "unknown";
}

absl::StatusCode CodeFor(ApiError reason) {
  switch (reason) {
    case ApiError::kNone:
      return absl::StatusCode::kOk;
    case ApiError::kNotFound:
      return absl::StatusCode::kNotFound;
    case ApiError::kPermissionDenied:
    case ApiError::kOutOfScope:
    case ApiError::kIpNotAllowed:
      return absl::StatusCode::kPermissionDenied;
    case ApiError::kThrottled:
    case ApiError::kQuotaExhausted:
      return absl::StatusCode::kResourceExhausted;
    case ApiError::kAuth:
    case ApiError::kInvalidAuthCode:
      return absl::StatusCode::kUnauthenticated;
    case ApiError::kUnreachable:
      return absl::StatusCode::kUnavailable;
    case ApiError::kInvalidArgument:
      return absl::StatusCode::kInvalidArgument;
    case ApiError::kBadResponse:
      return absl::StatusCode::kInternal;
    case ApiError::kUnknown:
      return absl::StatusCode::kUnknown;
  }
  return absl::StatusCode::kUnknown;
}

absl::Status MakeError(ApiError reason, std::string_view message, std::string_view dingtalk_code,
                       std::string_view permission) {
  if (reason == ApiError::kNone) return absl::OkStatus();
  std::string text(message);
  if (!permission.empty()) absl::StrAppend(&text, " (missing permission point: ", std::string(permission), ")");
  absl::Status status(CodeFor(reason), text);
  status.SetPayload(kReasonUrl, absl::Cord(std::string(ReasonName(reason))));
  if (!permission.empty()) status.SetPayload(kPermissionUrl, absl::Cord(std::string(permission)));
  if (!dingtalk_code.empty()) status.SetPayload(kCodeUrl, absl::Cord(std::string(dingtalk_code)));
  return status;
}

ApiError ReasonOf(const absl::Status& status) {
  if (status.ok()) return ApiError::kNone;
  std::string name = PayloadText(status, kReasonUrl);
  if (name.empty()) return ApiError::kNone;
  for (ApiError r : kAllReasons) {
    if (ReasonName(r) == name) return r;
  }
  return ApiError::kNone;
}

std::string PermissionOf(const absl::Status& status) { return PayloadText(status, kPermissionUrl); }
std::string DingTalkCodeOf(const absl::Status& status) { return PayloadText(status, kCodeUrl); }

bool IsRetryable(ApiError reason) { return reason == ApiError::kThrottled || reason == ApiError::kUnreachable; }

}  // namespace sase::dingtalk

#include "sync_worker/source/failure_reason.h"

#include "absl/strings/str_cat.h"
#include "dingtalk/error.h"

namespace sase::sync_worker {

using dingtalk::ApiError;

std::string FailureReason(const absl::Status& s) {
  switch (dingtalk::ReasonOf(s)) {
    case ApiError::kAuth: return "bad_credentials";
    case ApiError::kPermissionDenied: return "missing_permission";
    case ApiError::kIpNotAllowed: return "ip_not_allowed";
    case ApiError::kUnreachable: return "unreachable";
    case ApiError::kOutOfScope: return "outside_contact_scope";
    case ApiError::kThrottled: return "throttled";
    case ApiError::kQuotaExhausted: return "quota_exhausted";
    case ApiError::kNone: return "internal";
    default: return "unknown";
  }
}

std::string FailureDetail(const absl::Status& s) {
  std::string perm = dingtalk::PermissionOf(s);
  if (!perm.empty()) return absl::StrCat("missing permission point ", perm, ": ", s.message());
  return std::string(s.message());
}

bool IsTransientFailure(const std::string& reason) {
  return reason == "unreachable" || reason == "throttled" || reason == "internal" || reason == "unknown";
}

}  // namespace sase::sync_worker

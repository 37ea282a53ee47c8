#pragma once
// A DingTalk failure as the admin sees it: a machine-readable reason (SyncRun.failure_reason,
// ConnectivityStep.reason) and a secret-free detail. Shared by the full sync and the probe.

#include <string>

#include "absl/status/status.h"

namespace sase::sync_worker {

// "bad_credentials", "missing_permission", "ip_not_allowed", "unreachable",
// "outside_contact_scope", "throttled", "quota_exhausted"; "internal" for a status DingTalk did
// not produce; "unknown" otherwise.
std::string FailureReason(const absl::Status& s);
// Human-readable, secret-free detail (names the missing permission point).
std::string FailureDetail(const absl::Status& s);
// Whether a run that failed with this FailureReason may succeed when simply tried again later
// ("unreachable", "throttled", "internal", "unknown"); the others need the admin to change
// something (credentials, permissions, the IP allow-list, the contact scope, the quota).
bool IsTransientFailure(const std::string& reason);

}  // namespace sase::sync_worker

#pragma once
// Live DingTalk reads for the admin API: TestConnectivity (token -> one department -> one user
// page, each step with a machine-readable reason) and ListSourceDepartments (one level of the
// live tree). Interactive priority: never queued behind a bulk sync of the same app.

#include "absl/status/status.h"
#include "sase/dingtalk/v1/identity_source.pb.h"
#include "sync_worker/source/source_config.h"

namespace sase::sync_worker {

class SourceProbe {
 public:
  explicit SourceProbe(SourceClients& sources) : sources_(sources) {}

  // INVALID_ARGUMENT / NOT_FOUND for the request; DingTalk failures are reported in the steps.
  absl::Status TestConnectivity(const ::sase::dingtalk::v1::TestConnectivityRequest& req,
                                ::sase::dingtalk::v1::TestConnectivityResponse* resp);
  // DingTalk failures map to their status code (PERMISSION_DENIED, UNAVAILABLE, ...).
  absl::Status ListSourceDepartments(const ::sase::dingtalk::v1::ListSourceDepartmentsRequest& req,
                                     ::sase::dingtalk::v1::ListSourceDepartmentsResponse* resp);

 private:
  SourceClients& sources_;
};

}  // namespace sase::sync_worker

#include "sync_worker/admin/tenant_service.h"

#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/timestamp.h"
#include "common/validation.h"
#include "sync_worker/admin/rules.h"

namespace sase::sync_worker {
namespace pb = ::sase::dingtalk::v1;
namespace {

void ToProto(const store::TenantSettingsRecord& r, pb::TenantSettings* out) {
  out->set_tenant_id(r.tenant_id);
  out->set_enterprise_id(r.enterprise_id);
  out->set_version(r.version);
  if (r.version != 0) common::SetTimestamp(r.update_time, out->mutable_update_time());
}

}  // namespace

grpc::Status TenantServiceImpl::GetTenantSettings(grpc::ServerContext*, const pb::GetTenantSettingsRequest* req,
                                                  pb::TenantSettings* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    ASSIGN_OR_RETURN(store::TenantSettingsRecord r, repo_.Get(req->tenant_id()));
    ToProto(r, resp);
    return absl::OkStatus();
  });
}

grpc::Status TenantServiceImpl::UpdateTenantSettings(grpc::ServerContext*, const pb::UpdateTenantSettingsRequest* req,
                                                     pb::TenantSettings* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->settings().tenant_id()));
    if (req->expected_version() < 0) return absl::InvalidArgumentError("expected_version: must not be negative");
    ASSIGN_OR_RETURN(std::string enterprise_id, NormalizeEnterpriseId(req->settings().enterprise_id()));
    ASSIGN_OR_RETURN(store::TenantSettingsRecord r,
                     repo_.Update(req->settings().tenant_id(), enterprise_id, req->expected_version()));
    ToProto(r, resp);
    return absl::OkStatus();
  });
}

}  // namespace sase::sync_worker

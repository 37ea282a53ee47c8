// SyncService run RPCs (StartSync, GetSyncRun, ListSyncRuns, ApproveDeletions): validate, call the
// engine / run store, map the status.
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "sync_worker/sync_engine.h"
#include "sync_worker/sync_service.h"

namespace sase::sync_worker {
namespace {

namespace pb = ::sase::dingtalk::v1;

grpc::Status NoEngine() { return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "full sync is not enabled"); }

}  // namespace

grpc::Status SyncServiceImpl::StartSync(grpc::ServerContext*, const pb::StartSyncRequest* req, pb::SyncRun* resp) {
  if (engine_ == nullptr) return NoEngine();
  absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    ASSIGN_OR_RETURN(*resp, engine_->StartManual(req->tenant_id(), req->idp_id(), req->departments_only()));
    return absl::OkStatus();
  }();
  return common::ToGrpcStatus(s);
}

grpc::Status SyncServiceImpl::GetSyncRun(grpc::ServerContext*, const pb::GetSyncRunRequest* req, pb::SyncRun* resp) {
  if (engine_ == nullptr) return NoEngine();
  absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("run_id", req->run_id()));
    ASSIGN_OR_RETURN(store::SyncRunRecord r, engine_->runs().Get(req->tenant_id(), req->run_id()));
    *resp = std::move(r.run);
    return absl::OkStatus();
  }();
  return common::ToGrpcStatus(s);
}

grpc::Status SyncServiceImpl::ListSyncRuns(grpc::ServerContext*, const pb::ListSyncRunsRequest* req,
                                           pb::ListSyncRunsResponse* resp) {
  if (engine_ == nullptr) return NoEngine();
  absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    if (!req->idp_id().empty()) RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    ASSIGN_OR_RETURN(int size, common::ResolvePageSize(req->page_size(), 20, 200));
    ASSIGN_OR_RETURN(store::SyncRunPage page, engine_->runs().List(req->tenant_id(), req->idp_id(), size, req->page_token()));
    for (auto& r : page.runs) *resp->add_runs() = std::move(r);
    resp->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  }();
  return common::ToGrpcStatus(s);
}

grpc::Status SyncServiceImpl::ApproveDeletions(grpc::ServerContext*, const pb::ApproveDeletionsRequest* req,
                                               pb::SyncRun* resp) {
  if (engine_ == nullptr) return NoEngine();
  absl::Status s = [&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("run_id", req->run_id()));
    ASSIGN_OR_RETURN(*resp, engine_->ApproveDeletions(req->tenant_id(), req->run_id()));
    return absl::OkStatus();
  }();
  return common::ToGrpcStatus(s);
}

}  // namespace sase::sync_worker

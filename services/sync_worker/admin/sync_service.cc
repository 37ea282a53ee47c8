#include "sync_worker/admin/sync_service.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "sync_worker/admin/rules.h"

namespace sase::sync_worker {
namespace {

namespace pb = ::sase::dingtalk::v1;

constexpr size_t kMaxPayloadBytes = 1 << 20;

absl::Status ValidateEvent(const pb::InboundEvent& e, int i) {
  std::string f = absl::StrCat("events[", i, "]");
  RETURN_IF_ERROR(ValidateText(absl::StrCat(f, ".dedupe_key"), e.dedupe_key(), 1, 256));
  RETURN_IF_ERROR(ValidateToken(absl::StrCat(f, ".event_type"), e.event_type(), 64));
  if (e.event_time_ms() < 0) return absl::InvalidArgumentError(absl::StrCat(f, ".event_time_ms: must not be negative"));
  if (e.user_ids_size() > 10000 || e.department_ids_size() > 10000) {
    return absl::InvalidArgumentError(absl::StrCat(f, ": at most 10000 ids"));
  }
  for (int k = 0; k < e.user_ids_size(); ++k) {
    RETURN_IF_ERROR(ValidateToken(absl::StrCat(f, ".user_ids[", k, "]"), e.user_ids(k), 128));
  }
  for (int k = 0; k < e.department_ids_size(); ++k) {
    RETURN_IF_ERROR(common::ValidatePositive(absl::StrCat(f, ".department_ids[", k, "]"), e.department_ids(k)));
  }
  if (e.payload_json().size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat(f, ".payload_json: larger than 1 MiB"));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status SyncServiceImpl::SubmitEvents(grpc::ServerContext*, const pb::SubmitEventsRequest* req,
                                           pb::SubmitEventsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    if (req->events_size() > kMaxEventsPerCall) {
      return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxEventsPerCall, " per call"));
    }
    std::vector<InboxEvent> events;
    events.reserve(static_cast<size_t>(req->events_size()));
    for (int i = 0; i < req->events_size(); ++i) {
      const pb::InboundEvent& e = req->events(i);
      RETURN_IF_ERROR(ValidateEvent(e, i));
      events.push_back({e.dedupe_key(), e.event_type(), e.event_time_ms(),
                        std::vector<std::string>(e.user_ids().begin(), e.user_ids().end()),
                        std::vector<int64_t>(e.department_ids().begin(), e.department_ids().end()), e.payload_json()});
    }
    ASSIGN_OR_RETURN(SubmitResult r, inbox_.Submit(req->tenant_id(), req->idp_id(), events));
    resp->set_accepted(r.accepted);
    resp->set_duplicates(r.duplicates);
    resp->mutable_duplicate()->Reserve(static_cast<int>(r.duplicate.size()));
    for (bool d : r.duplicate) resp->add_duplicate(d);
    int64_t suppressed = 0;
    if (submit_log_.Allow(req->idp_id(), &suppressed)) {
      common::LogInfo("events submitted", {{"tenant_id", req->tenant_id()},
                                           {"idp_id", req->idp_id()},
                                           {"accepted", r.accepted},
                                           {"duplicates", r.duplicates},
                                           {"suppressed", suppressed}});
    }
    return absl::OkStatus();
  });
}

grpc::Status SyncServiceImpl::GetCallbackKeys(grpc::ServerContext*, const pb::GetCallbackKeysRequest* req,
                                              pb::CallbackKeys* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    ASSIGN_OR_RETURN(store::CallbackKeysRecord k, sources_.GetCallbackKeys(req->idp_id()));
    resp->set_tenant_id(k.tenant_id);
    resp->set_idp_id(k.idp_id);
    resp->set_status(static_cast<pb::IdentitySourceStatus>(k.status));
    resp->set_app_key(k.app_key);
    resp->set_corp_id(k.corp_id);
    resp->set_accept_corp_id_receiver(k.accept_corp_id_receiver);
    resp->set_aes_key(k.aes_key);
    resp->set_token(k.token);
    resp->set_version(k.version);
    return absl::OkStatus();
  });
}

grpc::Status SyncServiceImpl::StartSync(grpc::ServerContext*, const pb::StartSyncRequest* req, pb::SyncRun* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    ASSIGN_OR_RETURN(*resp, engine_.StartManual(req->tenant_id(), req->idp_id(), req->departments_only()));
    return absl::OkStatus();
  });
}

grpc::Status SyncServiceImpl::GetSyncRun(grpc::ServerContext*, const pb::GetSyncRunRequest* req, pb::SyncRun* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("run_id", req->run_id()));
    ASSIGN_OR_RETURN(store::SyncRunRecord r, runs_.Get(req->tenant_id(), req->run_id()));
    *resp = std::move(r.run);
    return absl::OkStatus();
  });
}

grpc::Status SyncServiceImpl::ListSyncRuns(grpc::ServerContext*, const pb::ListSyncRunsRequest* req,
                                           pb::ListSyncRunsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    if (!req->idp_id().empty()) RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    ASSIGN_OR_RETURN(int size, common::ResolvePageSize(req->page_size(), 20, 200));
    ASSIGN_OR_RETURN(store::SyncRunPage page, runs_.List(req->tenant_id(), req->idp_id(), size, req->page_token()));
    for (auto& r : page.runs) *resp->add_runs() = std::move(r);
    resp->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::Status SyncServiceImpl::ApproveDeletions(grpc::ServerContext*, const pb::ApproveDeletionsRequest* req,
                                               pb::SyncRun* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("run_id", req->run_id()));
    ASSIGN_OR_RETURN(*resp, engine_.ApproveDeletions(req->tenant_id(), req->run_id()));
    return absl::OkStatus();
  });
}

}  // namespace sase::sync_worker

#pragma once
// sase.dingtalk.v1.SyncService: GetCallbackKeys and SubmitEvents (for ingress); StartSync,
// GetSyncRun, ListSyncRuns and ApproveDeletions (for the admin console and sasectl). Each RPC
// validates, calls one repository or the engine, and maps the status. (Logon: login/login_service.h.)

#include "common/log.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "store/identity_source_repository.h"
#include "store/sync_run_repository.h"
#include "sync_worker/events/event_inbox.h"
#include "sync_worker/full_sync/sync_engine.h"

namespace sase::sync_worker {

class SyncServiceImpl final : public ::sase::dingtalk::v1::SyncService::Service {
 public:
  // At most this many events per SubmitEvents call.
  static constexpr int kMaxEventsPerCall = 1000;

  SyncServiceImpl(store::IdentitySourceRepository& sources, EventInbox& inbox, store::SyncRunRepository& runs,
                  SyncEngine& engine)
      : sources_(sources), inbox_(inbox), runs_(runs), engine_(engine) {}

  grpc::Status SubmitEvents(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::SubmitEventsRequest* req,
                            ::sase::dingtalk::v1::SubmitEventsResponse* resp) override;
  grpc::Status GetCallbackKeys(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::GetCallbackKeysRequest* req,
                               ::sase::dingtalk::v1::CallbackKeys* resp) override;
  grpc::Status StartSync(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::StartSyncRequest* req,
                         ::sase::dingtalk::v1::SyncRun* resp) override;
  grpc::Status GetSyncRun(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::GetSyncRunRequest* req,
                          ::sase::dingtalk::v1::SyncRun* resp) override;
  grpc::Status ListSyncRuns(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::ListSyncRunsRequest* req,
                            ::sase::dingtalk::v1::ListSyncRunsResponse* resp) override;
  grpc::Status ApproveDeletions(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::ApproveDeletionsRequest* req,
                                ::sase::dingtalk::v1::SyncRun* resp) override;

 private:
  store::IdentitySourceRepository& sources_;
  EventInbox& inbox_;
  store::SyncRunRepository& runs_;
  SyncEngine& engine_;
  // "events submitted" lines, per source: at push rates the metrics carry the volume.
  common::LogLimiter submit_log_{1};
};

}  // namespace sase::sync_worker

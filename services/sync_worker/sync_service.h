#pragma once
// sase.dingtalk.v1.SyncService. GetCallbackKeys and SubmitEvents (for ingress) here; StartSync,
// GetSyncRun, ListSyncRuns and ApproveDeletions in sync_service_runs.cc (with a SyncEngine);
// CompleteLogin answers UNIMPLEMENTED until its issue lands.

#include "common/log.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "store/identity_source_repository.h"
#include "sync_worker/event_inbox.h"

namespace sase::sync_worker {
class SyncEngine;  // sync_engine.h
}

namespace sase::sync_worker {

class SyncServiceImpl final : public ::sase::dingtalk::v1::SyncService::Service {
 public:
  // At most this many events per SubmitEvents call.
  static constexpr int kMaxEventsPerCall = 1000;

  // engine (optional): serves StartSync, GetSyncRun, ListSyncRuns and ApproveDeletions
  // (sync_service_runs.cc); without it they answer UNIMPLEMENTED.
  SyncServiceImpl(store::IdentitySourceRepository& sources, EventInbox& inbox, SyncEngine* engine = nullptr)
      : sources_(sources), inbox_(inbox), engine_(engine) {}

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
  SyncEngine* engine_ = nullptr;
  // "events submitted" lines, per source: at push rates the metrics carry the volume.
  common::LogLimiter submit_log_{1};
};

}  // namespace sase::sync_worker

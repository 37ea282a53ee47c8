#pragma once
// sase.dingtalk.v1.SyncService. Implemented: GetCallbackKeys and SubmitEvents (for ingress). The
// rest (StartSync, GetSyncRun, ListSyncRuns, ApproveDeletions, CompleteLogin) answer UNIMPLEMENTED
// until their issues land.

#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "store/identity_source_repository.h"
#include "sync_worker/event_inbox.h"

namespace sase::sync_worker {

class SyncServiceImpl final : public ::sase::dingtalk::v1::SyncService::Service {
 public:
  // At most this many events per SubmitEvents call.
  static constexpr int kMaxEventsPerCall = 1000;

  SyncServiceImpl(store::IdentitySourceRepository& sources, EventInbox& inbox) : sources_(sources), inbox_(inbox) {}

  grpc::Status SubmitEvents(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::SubmitEventsRequest* req,
                            ::sase::dingtalk::v1::SubmitEventsResponse* resp) override;
  grpc::Status GetCallbackKeys(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::GetCallbackKeysRequest* req,
                               ::sase::dingtalk::v1::CallbackKeys* resp) override;

 private:
  store::IdentitySourceRepository& sources_;
  EventInbox& inbox_;
};

}  // namespace sase::sync_worker

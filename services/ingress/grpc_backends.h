#pragma once
// The ingress's calls into sync_worker over gRPC: GetCallbackKeys, SubmitEvents, LoginService, and
// the grpc.health.v1 check behind its readiness.

#include <chrono>
#include <memory>
#include <functional>
#include <string>

#include "absl/status/status.h"

#include "ingress/event_batcher.h"
#include "ingress/key_cache.h"
#include "ingress/login_backend.h"

namespace grpc {
class Channel;
}

namespace sase::ingress {

KeyFetcher MakeGrpcKeyFetcher(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);
// SubmitEvents with every event of the batch in one call, on gRPC's callback API: the calling
// thread does not wait; `done` runs on a gRPC thread once sync_worker answered (or the deadline
// passed).
AsyncBatchSink MakeGrpcBatchSink(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);

// LoginService (GetLoginOptions, CompleteLogin, GetJwks), blocking calls with the deadline.
std::unique_ptr<LoginBackend> MakeGrpcLoginBackend(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout);

// grpc.health.v1 Check of SyncService: OK when SERVING; UNAVAILABLE naming why otherwise
// (NOT_SERVING while sync_worker's database is down, or the call's own failure). Blocking.
std::function<absl::Status()> MakeGrpcReadinessCheck(std::shared_ptr<grpc::Channel> channel,
                                                     std::chrono::milliseconds timeout);

}  // namespace sase::ingress

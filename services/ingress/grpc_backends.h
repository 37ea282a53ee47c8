#pragma once
// The ingress's two calls into sync_worker over gRPC: GetCallbackKeys and SubmitEvents.

#include <chrono>
#include <memory>
#include <string>

#include "ingress/event_batcher.h"
#include "ingress/key_cache.h"

namespace grpc {
class Channel;
}

namespace sase::ingress {

KeyFetcher MakeGrpcKeyFetcher(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);
// SubmitEvents with every event of the batch in one call, on gRPC's callback API: the calling
// thread does not wait; `done` runs on a gRPC thread once sync_worker answered (or the deadline
// passed).
AsyncBatchSink MakeGrpcBatchSink(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);

}  // namespace sase::ingress

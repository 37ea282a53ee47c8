#pragma once
// The ingress's two calls into sync_worker over gRPC: GetCallbackKeys and SubmitEvents.

#include <chrono>
#include <memory>
#include <string>

#include "services/ingress/ingress_server.h"
#include "services/ingress/key_cache.h"

namespace grpc {
class Channel;
}

namespace sase::ingress {

KeyFetcher MakeGrpcKeyFetcher(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);
EventSink MakeGrpcEventSink(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout);

}  // namespace sase::ingress

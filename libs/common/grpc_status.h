#pragma once
// Converts between absl::Status and grpc::Status (their codes are numerically identical).

#include <grpcpp/support/status.h>

#include <utility>

#include "absl/status/status.h"

namespace sase::common {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// The one shape of an RPC handler: the body is written in absl::Status (RETURN_IF_ERROR,
// ASSIGN_OR_RETURN, absl::InvalidArgumentError("field: reason")) and its result is mapped once.
//
//   grpc::Status Impl::GetThing(grpc::ServerContext*, const GetThingRequest* req, Thing* resp) {
//     return common::Serve([&]() -> absl::Status {
//       RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
//       ASSIGN_OR_RETURN(*resp, repo_.Get(req->tenant_id(), req->id()));
//       return absl::OkStatus();
//     });
//   }
template <typename Body>
grpc::Status Serve(Body&& body) {
  return ToGrpcStatus(std::forward<Body>(body)());
}

}  // namespace sase::common

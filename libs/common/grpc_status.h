#pragma once
// Converts between absl::Status and grpc::Status (their codes are numerically identical).

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace sase::common {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace sase::common

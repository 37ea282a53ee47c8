#include "ingress/grpc_backends.h"

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"

namespace sase::ingress {
namespace {

namespace v1 = ::sase::dingtalk::v1;

// A real gRPC server on 127.0.0.1:0 hosting SyncService (its RPCs unimplemented: only health matters).
TEST(GrpcReadinessCheckTest, FollowsTheServiceHealthAndTheConnection) {
  v1::SyncService::Service service;
  auto host = common::GrpcServerHost::Start("127.0.0.1:0", {&service}, std::make_shared<prometheus::Registry>(),
                                            common::GrpcSecurity::Plaintext());
  ASSERT_TRUE(host.ok()) << host.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*host)->port()), grpc::InsecureChannelCredentials());
  auto check = MakeGrpcReadinessCheck(channel, std::chrono::milliseconds(2000));
  EXPECT_FALSE(check().ok()) << "unknown to health until sync_worker's database check has run";
  (*host)->SetServing(v1::SyncService::service_full_name(), true);
  EXPECT_TRUE(check().ok()) << check();

  (*host)->SetServing(v1::SyncService::service_full_name(), false);  // its database went away
  absl::Status down = check();
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(down.message().find("not serving"), std::string::npos) << down;

  (*host)->SetServing(v1::SyncService::service_full_name(), true);
  EXPECT_TRUE(check().ok());

  (*host)->Shutdown();
  absl::Status gone = check();
  EXPECT_EQ(gone.code(), absl::StatusCode::kUnavailable) << gone;
}

}  // namespace
}  // namespace sase::ingress

#pragma once
// A real DirectoryService on 127.0.0.1:0 over a fresh migrated database, with a writer to
// populate it and a stub to call it. For gtest fixtures:
//
//   void SetUp() override {
//     SASE_SETUP_TEST_DB(db_);
//     auto h = DirectoryHarness::Create(db_->dsn());
//     ASSERT_TRUE(h.ok()) << h.status();
//     h_ = std::move(*h);
//   }

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/grpc_server.h"
#include "sase/dingtalk/v1/directory.grpc.pb.h"
#include "directory/change_notifier.h"
#include "directory/directory_service.h"
#include "directory/user_cache.h"
#include "store/directory_reader.h"
#include "store/directory_writer.h"
#include "store/pg_pool.h"
#include "store/testing/demo_org.h"

namespace sase::directory::testing {

struct LoadedOrg {
  std::string idp_id;
  store::testing::DemoOrg org;
  // dingtalk userid -> directory user_id
  std::vector<std::pair<std::string, std::string>> user_ids;
  std::string UserId(const std::string& dingtalk_userid) const;
};

class DirectoryHarness {
 public:
  static absl::StatusOr<std::unique_ptr<DirectoryHarness>> Create(
      const std::string& dsn, std::chrono::milliseconds poll_interval = std::chrono::milliseconds(1000),
      bool user_cache = true);
  ~DirectoryHarness();

  // Inserts an identity_sources row (plain SQL) and returns its idp_id.
  absl::StatusOr<std::string> CreateIdentitySource(const std::string& tenant, const std::string& name);
  // Creates a source and loads the (default) demo organisation into it, departed user included.
  absl::StatusOr<LoadedOrg> LoadDemo(const std::string& tenant, const std::string& name,
                                     const store::testing::DemoOrgOptions& options = {});

  dingtalk::v1::DirectoryService::Stub& stub() { return *stub_; }
  std::unique_ptr<dingtalk::v1::DirectoryService::Stub> NewStub();
  store::DirectoryWriter& writer() { return *writer_; }
  store::DirectoryReader& reader() { return *reader_; }
  store::PgPool& pool() { return *pool_; }
  ChangeNotifier& notifier() { return *notifier_; }
  UserCache* cache() { return cache_.get(); }  // null when created without
  const std::string& dsn() const { return dsn_; }
  int port() const { return host_->port(); }

 private:
  DirectoryHarness() = default;
  std::string dsn_;
  std::unique_ptr<store::PgPool> pool_;
  std::unique_ptr<store::DirectoryReader> reader_;
  std::unique_ptr<store::DirectoryWriter> writer_;
  std::unique_ptr<ChangeNotifier> notifier_;
  std::unique_ptr<UserCache> cache_;
  std::unique_ptr<DirectoryServiceImpl> service_;
  std::unique_ptr<common::GrpcServerHost> host_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<dingtalk::v1::DirectoryService::Stub> stub_;
};

}  // namespace sase::directory::testing

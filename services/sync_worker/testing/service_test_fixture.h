#pragma once
// Shared fixture of the sync_worker service tests: a fresh migrated database, the real services
// behind a real gRPC server on 127.0.0.1:0, and real stubs.

#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>
#include <prometheus/registry.h>

#include "common/clock.h"
#include "common/grpc_server.h"
#include "dingtalk/error.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "store/extended_field_repository.h"
#include "store/identity_source_repository.h"
#include "store/sync_run_repository.h"
#include "store/testing/test_db.h"
#include "sync_worker/admin/identity_source_service.h"
#include "sync_worker/admin/sync_service.h"
#include "sync_worker/events/event_inbox.h"
#include "sync_worker/full_sync/sync_engine.h"
#include "sync_worker/source/source_config.h"
#include "sync_worker/source/source_probe.h"

namespace sase::sync_worker::testing {

namespace pb = ::sase::dingtalk::v1;

inline constexpr char kKek[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
inline constexpr char kAppSecret[] = "AppSecretPlain-0123456789";
inline constexpr char kAesKey[] = "AesKeyPlainABCDEFGHIJKLMNOPQRSTUVWXYZ012345";  // 43 chars
inline constexpr char kToken[] = "TokenPlain-xyz";
inline constexpr char kPublicHost[] = "sase.example.com";

inline pb::IdentitySource ValidSource(const std::string& name) {
  pb::IdentitySource s;
  s.set_name(name);
  s.set_description("Log on with DingTalk");
  s.set_status(pb::ENABLED);
  s.set_corp_id("dingcorp123");
  s.set_app_key("dingappkey123");
  s.set_app_secret(kAppSecret);
  s.set_dingtalk_type(pb::STANDARD);
  s.set_aes_key(kAesKey);
  s.set_token(kToken);
  s.set_auto_sync(true);
  s.set_sync_user_info(true);
  s.set_sync_cycle_hours(6);
  s.mutable_scope()->add_root_department_ids(1);
  pb::FieldMapping* m = s.add_field_mappings();
  m->set_source_field("job_number");
  m->set_target_field("job_number");
  s.mutable_deletion_guard()->set_max_departures(100);
  s.mutable_deletion_guard()->set_max_departure_percent(5);
  return s;
}

// One registry for a whole test binary: GrpcServerHost caches its metrics per registry address and
// does not keep the registry alive, so a per-test registry would leave dangling metric families.
inline std::shared_ptr<prometheus::Registry> TestRegistry() {
  static auto* registry = new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *registry;
}

// The store every sync_worker PostgreSQL test starts from: a fresh migrated database, a pool, the
// secret box and the repositories. Derived fixtures call StoreTest::SetUp() first and stop if it
// skipped or failed.
class StoreTest : public ::testing::Test {
 protected:
  explicit StoreTest(int pool_size) : pool_size_(pool_size) {}

  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    store::PgPool::Options opts;
    opts.dsn = db_->dsn();
    opts.size = pool_size_;
    auto pool = store::PgPool::Create(opts);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    auto box = store::SecretBox::FromEncodedKey(kKek);
    ASSERT_TRUE(box.ok());
    box_ = std::make_unique<store::SecretBox>(*box);
    sources_ = std::make_unique<store::IdentitySourceRepository>(*pool_, *box_);
    fields_ = std::make_unique<store::ExtendedFieldRepository>(*pool_);
    inbox_ = std::make_unique<EventInbox>(*pool_, *TestRegistry());
  }
  bool StoreReady() const { return !IsSkipped() && !HasFailure(); }

  int64_t Count(const std::string& sql) {
    pqxx::connection c(db_->dsn());
    return pqxx::read_transaction(c).exec1(sql)[0].as<int64_t>();
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::PgPool> pool_;
  std::unique_ptr<store::SecretBox> box_;
  std::unique_ptr<store::IdentitySourceRepository> sources_;
  std::unique_ptr<store::ExtendedFieldRepository> fields_;
  std::unique_ptr<EventInbox> inbox_;

 private:
  int pool_size_;
};

class ServiceTest : public StoreTest {
 protected:
  // `start_in_setup` false: the derived fixture calls StartServices itself (after its simulator).
  explicit ServiceTest(int pool_size = 4, bool start_in_setup = true)
      : StoreTest(pool_size), start_in_setup_(start_in_setup) {}

  void SetUp() override {
    StoreTest::SetUp();
    if (!StoreReady() || !start_in_setup_) return;
    // No DingTalk here (full_sync_pgtest and events_pgtest run against the simulator): every
    // client fails as an unreachable DingTalk would, and the engine is never started, so the
    // RPCs that need DingTalk validate, read and report it unreachable.
    StartServices(
        [](const SourceConfig&) {
          return absl::StatusOr<std::shared_ptr<dingtalk::Client>>(
              dingtalk::MakeError(dingtalk::ApiError::kUnreachable, "no DingTalk in this test"));
        },
        SyncEngineOptions{}, kPublicHost);
  }
  void TearDown() override {
    if (host_) host_->Shutdown();
    if (engine_) engine_->Stop();
  }

  // The sync_worker services as main.cc wires them, over this fixture's store, on 127.0.0.1:0,
  // with stubs in idsrc_ and sync_. The engine is created, not started.
  void StartServices(ClientFactory factory, SyncEngineOptions engine_options, const std::string& public_host) {
    clients_ = std::make_unique<SourceClients>(*pool_, *box_, std::move(factory));
    probe_ = std::make_unique<SourceProbe>(*clients_);
    engine_ = std::make_unique<SyncEngine>(*pool_, *clients_, *TestRegistry(), common::SystemClock(),
                                           std::move(engine_options));
    idsrc_service_ = std::make_unique<IdentitySourceServiceImpl>(
        *sources_, *fields_, *probe_, IdentitySourceServiceImpl::Options{.public_host = public_host});
    runs_ = std::make_unique<store::SyncRunRepository>(*pool_);
    sync_service_ = std::make_unique<SyncServiceImpl>(*sources_, *inbox_, *runs_, *engine_);
    auto host =
        common::GrpcServerHost::Start("127.0.0.1:0", {idsrc_service_.get(), sync_service_.get()}, TestRegistry(),
                                      common::GrpcSecurity::Plaintext());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(host_->port()), grpc::InsecureChannelCredentials());
    idsrc_ = pb::IdentitySourceService::NewStub(channel);
    sync_ = pb::SyncService::NewStub(channel);
  }

  // Creates a valid source; fails the test on error.
  pb::IdentitySource MustCreate(const std::string& tenant, const std::string& name) {
    pb::CreateIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_identity_source() = ValidSource(name);
    pb::IdentitySource out;
    grpc::ClientContext ctx;
    grpc::Status s = idsrc_->CreateIdentitySource(&ctx, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // A digest of every row of the tables the services write: equal digests mean nothing was written.
  std::string Snapshot() {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    std::string out;
    for (const char* table : {"identity_sources", "extended_fields", "change_log", "event_inbox"}) {
      out += tx.exec1(std::string("SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM ") +
                      table + " t")[0]
                 .as<std::string>();
      out += ";";
    }
    return out;
  }

  void Exec(const std::string& sql) {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec0(sql);
    tx.commit();
  }

  const bool start_in_setup_;
  std::unique_ptr<SourceClients> clients_;
  std::unique_ptr<SourceProbe> probe_;
  std::unique_ptr<SyncEngine> engine_;
  std::unique_ptr<IdentitySourceServiceImpl> idsrc_service_;
  std::unique_ptr<store::SyncRunRepository> runs_;
  std::unique_ptr<SyncServiceImpl> sync_service_;
  std::unique_ptr<common::GrpcServerHost> host_;
  std::unique_ptr<pb::IdentitySourceService::Stub> idsrc_;
  std::unique_ptr<pb::SyncService::Stub> sync_;
};

// True when `s` is INVALID_ARGUMENT and its message names `field`.
inline ::testing::AssertionResult IsInvalid(const grpc::Status& s, const std::string& field) {
  if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return ::testing::AssertionFailure() << "code " << s.error_code() << " (" << s.error_message()
                                         << "), want INVALID_ARGUMENT naming " << field;
  }
  if (s.error_message().find(field) == std::string::npos) {
    return ::testing::AssertionFailure() << "message '" << s.error_message() << "' does not name " << field;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace sase::sync_worker::testing

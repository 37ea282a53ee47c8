#include "directory/testing/harness.h"

#include <atomic>

#include <prometheus/registry.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"

namespace sase::directory::testing {

std::string LoadedOrg::UserId(const std::string& dingtalk_userid) const {
  for (const auto& [userid, id] : user_ids) {
    if (userid == dingtalk_userid) return id;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<DirectoryHarness>> DirectoryHarness::Create(const std::string& dsn,
                                                                            std::chrono::milliseconds poll_interval,
                                                                            bool user_cache) {
  std::unique_ptr<DirectoryHarness> h(new DirectoryHarness());
  h->dsn_ = dsn;
  store::PgPool::Options o;
  o.dsn = dsn;
  o.size = 4;
  o.statements = store::DirectoryReader::Statements();
  auto pool = store::PgPool::Create(o);
  if (!pool.ok()) return pool.status();
  h->pool_ = std::move(*pool);
  h->reader_ = std::make_unique<store::DirectoryReader>(*h->pool_);
  h->writer_ = std::make_unique<store::DirectoryWriter>(*h->pool_);
  h->notifier_ = std::make_unique<ChangeNotifier>(ChangeNotifier::Options{.dsn = dsn, .poll_interval = poll_interval});
  DirectoryServiceOptions service_options;
  if (user_cache) {
    h->cache_ = std::make_unique<UserCache>(*h->reader_, *h->notifier_);
    absl::Status started = h->cache_->Start();
    if (!started.ok()) return started;
    service_options.cache = h->cache_.get();
  }
  h->service_ = std::make_unique<DirectoryServiceImpl>(*h->reader_, *h->notifier_, service_options);
  // One registry for the whole process: GrpcServerHost caches its metric families per registry
  // address and does not keep the registry alive.
  static const auto* registry = new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  auto host = common::GrpcServerHost::Start("127.0.0.1:0", {h->service_.get()}, *registry,
                                            common::GrpcSecurity::Plaintext());
  if (!host.ok()) return host.status();
  h->host_ = std::move(*host);
  h->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", h->host_->port()), grpc::InsecureChannelCredentials());
  h->stub_ = dingtalk::v1::DirectoryService::NewStub(h->channel_);
  return h;
}

DirectoryHarness::~DirectoryHarness() {
  if (notifier_ != nullptr) notifier_->Stop();
  if (host_ != nullptr) host_->Shutdown();
  if (cache_ != nullptr) cache_->Stop();
}

std::unique_ptr<dingtalk::v1::DirectoryService::Stub> DirectoryHarness::NewStub() {
  grpc::ChannelArguments args;
  static std::atomic<int> n{0};
  args.SetInt("sase_unique_channel", ++n);  // a separate connection
  return dingtalk::v1::DirectoryService::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", host_->port()), grpc::InsecureChannelCredentials(), args));
}

absl::StatusOr<std::string> DirectoryHarness::CreateIdentitySource(const std::string& tenant,
                                                                   const std::string& name) {
  return pool_->Run<std::string>([&](pqxx::connection& c) -> absl::StatusOr<std::string> {
    pqxx::work tx(c);
    std::string id = tx.exec_params1(
                           "INSERT INTO identity_sources (tenant_id, name, status, dingtalk_type, sync_cycle_hours)"
                           " VALUES ($1, $2, 1, 1, 24) RETURNING idp_id::text",
                           tenant, name)[0]
                         .c_str();
    tx.commit();
    return id;
  });
}

absl::StatusOr<LoadedOrg> DirectoryHarness::LoadDemo(const std::string& tenant, const std::string& name,
                                                     const store::testing::DemoOrgOptions& options) {
  LoadedOrg loaded;
  auto idp = CreateIdentitySource(tenant, name);
  if (!idp.ok()) return idp.status();
  loaded.idp_id = *idp;
  loaded.org = store::testing::GenerateDemoOrg(options);
  auto d = writer_->UpsertDepartments(tenant, *idp, loaded.org.departments, "test");
  if (!d.ok()) return d.status();
  auto u = writer_->UpsertUsers(tenant, *idp, loaded.org.users, "test");
  if (!u.ok()) return u.status();
  auto dep = writer_->MarkDeparted(tenant, *idp, loaded.org.departed, "test");
  if (!dep.ok()) return dep.status();
  auto ids = pool_->Run<std::vector<std::pair<std::string, std::string>>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::vector<std::pair<std::string, std::string>>> {
        pqxx::nontransaction tx(c);
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& row : tx.exec_params("SELECT dingtalk_userid, user_id::text FROM users WHERE idp_id = $1::uuid",
                                              *idp)) {
          out.emplace_back(row[0].c_str(), row[1].c_str());
        }
        return out;
      });
  if (!ids.ok()) return ids.status();
  loaded.user_ids = std::move(*ids);
  return loaded;
}

}  // namespace sase::directory::testing

// sync_worker: IdentitySourceService, TenantService, SyncService and LoginService over gRPC, /metrics
// on its own port.
#include <cstdlib>
#include <iostream>
#include <memory>

#include <prometheus/registry.h>

#include "common/clock.h"
#include "common/grpc_server.h"
#include "common/health_watch.h"
#include "common/log.h"
#include "login/assertion_signer.h"
#include "store/extended_field_repository.h"
#include "store/identity_source_repository.h"
#include "store/login_repository.h"
#include "store/migrations.h"
#include "store/pg_pool.h"
#include "store/secret_box.h"
#include "sync_worker/admin/identity_source_service.h"
#include "sync_worker/admin/sync_service.h"
#include "sync_worker/admin/tenant_service.h"
#include "sync_worker/config.h"
#include "sync_worker/events/event_inbox.h"
#include "sync_worker/events/event_processor.h"
#include "sync_worker/login/login_service.h"
#include "sync_worker/source/source_probe.h"
#include "sync_worker/sync_wiring.h"

namespace {

const char* GetEnv(const char* name) { return std::getenv(name); }

}  // namespace

int main(int argc, char** argv) {
  using namespace sase;  // NOLINT(build/namespaces): composition root
  common::BlockShutdownSignals();
  common::InitLogging("sync_worker");

  absl::StatusOr<sync_worker::SyncWorkerConfig> cfg = sync_worker::LoadSyncWorkerConfig(argc, argv, GetEnv);
  if (!cfg.ok()) {
    if (cfg.status().code() == absl::StatusCode::kCancelled) {
      std::cout << cfg.status().message();
      return 0;
    }
    std::cerr << "sync_worker: " << cfg.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<store::SecretBox> box = store::SecretBox::Load(cfg->kek_file, cfg->kek_env, GetEnv);
  if (!box.ok()) {
    std::cerr << "sync_worker: " << box.status().message() << "\n";
    return 2;
  }
  common::LogInfo("sync_worker starting", {{"config", cfg->description}});
  absl::StatusOr<std::unique_ptr<login::AssertionSigner>> signer =
      cfg->login_signing_key_files.empty() ? login::AssertionSigner::Ephemeral()
                                           : login::AssertionSigner::FromPemFiles(cfg->login_signing_key_files);
  if (!signer.ok()) {
    std::cerr << "sync_worker: config key login_signing_key_files: " << signer.status().message() << "\n";
    return 2;
  }
  if (cfg->login_signing_key_files.empty()) {
    common::LogWarn("login_signing_key_files unset: logon assertions are signed by an ephemeral key",
                    {{"kid", (*signer)->kid()}});
  }

  if (cfg->migrate_on_start) {
    absl::StatusOr<int> applied = store::ApplyMigrations(cfg->pg_dsn);
    if (!applied.ok()) {
      common::LogError("migrations failed", {{"reason", std::string(applied.status().message())}});
      return 3;
    }
    common::LogInfo("migrations done", {{"applied", *applied}});
  }

  store::PgPool::Options pool_opts;
  pool_opts.dsn = cfg->pg_dsn;
  pool_opts.size = static_cast<int>(cfg->pg_pool_size);
  absl::StatusOr<std::unique_ptr<store::PgPool>> pool = store::PgPool::Create(pool_opts);
  if (!pool.ok()) {
    common::LogError("database unavailable", {{"reason", std::string(pool.status().message())}});
    return 3;
  }

  store::IdentitySourceRepository sources(**pool, *box);
  store::ExtendedFieldRepository fields(**pool);
  auto registry = std::make_shared<prometheus::Registry>();
  common::RegisterBuildInfo(*registry, "sync_worker");
  sync_worker::EventInbox inbox(**pool, *registry);
  // One client per source version (and one process-wide DingTalk rate limiter) for full syncs,
  // events and the connectivity probe.
  common::Clock& clock = common::SystemClock();
  sync_worker::SourceClients clients(**pool, *box, sync_worker::MakeClientFactory(cfg->sync, *registry, clock));
  std::unique_ptr<sync_worker::SyncEngine> sync_engine =
      sync_worker::MakeSyncEngine(cfg->sync, **pool, clients, *registry, clock);
  sync_worker::EventProcessor event_processor(**pool, clients, *registry, clock,
                                              {.leave_rechecks = static_cast<int>(cfg->event_leave_rechecks)});
  inbox.OnCommit([&event_processor] { event_processor.Wake(); });  // a push is applied at once
  sync_worker::SourceProbe source_probe(clients);
  sync_worker::IdentitySourceServiceImpl identity_service(sources, fields, source_probe,
                                                          {.public_host = cfg->public_host});
  store::SyncRunRepository runs(**pool);
  sync_worker::SyncServiceImpl sync_service(sources, inbox, runs, *sync_engine);
  store::TenantSettingsRepository tenant_settings(**pool);
  sync_worker::TenantServiceImpl tenant_service(tenant_settings);
  store::LoginRepository login_repo(**pool);
  sync_worker::LoginServiceImpl login_service(
      login_repo, clients, **signer, clock, *registry,
      {.issuer = cfg->login_issuer,
       .audience = cfg->login_audience,
       .assertion_lifetime = absl::Seconds(cfg->login_assertion_ttl_seconds)});
  if (absl::Status published = login_service.PublishKeys(); !published.ok()) {
    common::LogWarn("cannot publish the logon signing key yet (retried on use)",
                    {{"reason", std::string(published.message())}});
  }

  absl::StatusOr<std::unique_ptr<common::GrpcServerHost>> host =
      common::GrpcServerHost::Start(cfg->listen_addr, {&identity_service, &sync_service, &tenant_service, &login_service}, registry,
                                    cfg->grpc_security, cfg->grpc_health_listen_addr);
  if (!host.ok()) {
    common::LogError("cannot start gRPC server", {{"listen_addr", cfg->listen_addr},
                                                  {"grpc_health_listen_addr", cfg->grpc_health_listen_addr},
                                                  {"reason", std::string(host.status().message())}});
    return 3;
  }
  absl::StatusOr<std::unique_ptr<common::MetricsEndpoint>> metrics =
      common::MetricsEndpoint::Start(cfg->metrics_addr, registry);
  if (!metrics.ok()) {
    common::LogError("cannot start metrics endpoint",
                     {{"metrics_addr", cfg->metrics_addr}, {"reason", std::string(metrics.status().message())}});
    return 3;
  }
  // The services answer NOT_SERVING on grpc.health.v1 while PostgreSQL does not: ingress's
  // readiness follows it (a push could not be stored).
  common::HealthWatch database("database", [&] { return (*pool)->Ping(); }, absl::Seconds(1), [&](bool ok) {
    (*host)->SetServing(dingtalk::v1::SyncService::service_full_name(), ok);
    (*host)->SetServing(dingtalk::v1::IdentitySourceService::service_full_name(), ok);
    (*host)->SetServing(dingtalk::v1::TenantService::service_full_name(), ok);
    (*host)->SetServing(dingtalk::v1::LoginService::service_full_name(), ok);
  });
  database.Start();
  common::LogInfo("sync_worker serving", {{"grpc_port", (*host)->port()},
                                          {"metrics_port", (*metrics)->port()},
                                          {"grpc_tls", !cfg->grpc_security.plaintext},
                                          {"health_port", (*host)->health_port()}});

  sync_engine->Start();
  event_processor.Start();

  int sig = common::WaitForShutdownSignal();
  common::LogInfo("sync_worker stopping", {{"signal", sig}});
  database.Stop();
  (*host)->Shutdown();
  event_processor.Stop();
  sync_engine->Stop();
  common::LogInfo("sync_worker stopped");
  return 0;
}

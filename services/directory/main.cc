// directory: the read-only DirectoryService (gRPC) over PostgreSQL.
#include <malloc.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include <prometheus/registry.h>

#include "common/grpc_server.h"
#include "common/health_watch.h"
#include "common/log.h"
#include "directory/change_notifier.h"
#include "directory/config.h"
#include "directory/directory_service.h"
#include "directory/user_cache.h"
#include "store/directory_reader.h"
#include "store/pg_pool.h"

int main(int argc, char** argv) {
  using namespace sase;  // NOLINT
  common::BlockShutdownSignals();
  // Few malloc arenas: the callback threads otherwise each grow their own, inflating RSS.
  mallopt(M_ARENA_MAX, 2);
  common::InitLogging("directory");
  absl::StatusOr<directory::DirectoryConfig> config = directory::LoadDirectoryConfig(argc, argv, std::getenv);
  if (!config.ok()) {
    if (config.status().code() == absl::StatusCode::kCancelled) {
      std::cout << config.status().message() << "\n";
      return 0;
    }
    std::cerr << "directory: config: " << config.status().message() << "\n";
    return 2;
  }
  common::LogInfo("starting", {{"config", config->describe}});

  store::PgPool::Options pool_options;
  pool_options.dsn = config->pg_dsn;
  pool_options.size = static_cast<int>(config->pg_pool_size);
  pool_options.statements = store::DirectoryReader::Statements();
  absl::StatusOr<std::unique_ptr<store::PgPool>> pool = store::PgPool::Create(pool_options);
  if (!pool.ok()) {
    common::LogError("cannot open the database", {{"reason", std::string(pool.status().message())}});
    return 3;
  }
  store::DirectoryReader reader(**pool);
  directory::ChangeNotifier notifier(
      {.dsn = config->pg_dsn, .poll_interval = std::chrono::milliseconds(config->poll_interval_ms)});
  std::unique_ptr<directory::UserCache> cache;
  directory::DirectoryServiceOptions service_options;
  if (config->user_cache_entries > 0) {
    cache = std::make_unique<directory::UserCache>(
        reader, notifier,
        directory::UserCache::Options{.max_entries = static_cast<size_t>(config->user_cache_entries),
                                      .max_bytes = static_cast<size_t>(config->user_cache_mb) << 20});
    absl::Status started = cache->Start();
    if (!started.ok()) {
      common::LogError("cannot start the user cache", {{"reason", std::string(started.message())}});
      return 3;
    }
    service_options.cache = cache.get();
    // A cold cache sends every read to the database at once; become reachable once warm.
    if (config->user_cache_warm_wait_ms > 0 &&
        !cache->WaitWarm(std::chrono::milliseconds(config->user_cache_warm_wait_ms))) {
      common::LogWarn("serving before the user cache warm-up finished");
    }
  }
  directory::DirectoryServiceImpl service(reader, notifier, service_options);

  auto registry = std::make_shared<prometheus::Registry>();
  common::RegisterBuildInfo(*registry, "directory");
  auto metrics = common::MetricsEndpoint::Start(config->metrics_addr, registry);
  if (!metrics.ok()) {
    common::LogError("cannot start metrics endpoint",
                     {{"metrics_addr", config->metrics_addr}, {"reason", std::string(metrics.status().message())}});
    return 4;
  }
  auto host = common::GrpcServerHost::Start(config->listen_addr, {&service}, registry, config->grpc_security,
                                            config->grpc_health_listen_addr);
  if (!host.ok()) {
    common::LogError("cannot start gRPC server", {{"listen_addr", config->listen_addr},
                                                  {"grpc_health_listen_addr", config->grpc_health_listen_addr},
                                                  {"reason", std::string(host.status().message())}});
    return 4;
  }
  // DirectoryService answers NOT_SERVING on grpc.health.v1 while its database does not.
  common::HealthWatch database("database", [&] { return (*pool)->Ping(); }, absl::Seconds(1), [&](bool ok) {
    (*host)->SetServing(dingtalk::v1::DirectoryService::service_full_name(), ok);
  });
  database.Start();
  common::LogInfo("serving", {{"grpc_port", (*host)->port()},
                              {"metrics_port", (*metrics)->port()},
                              {"grpc_tls", !config->grpc_security.plaintext},
                              {"health_port", (*host)->health_port()}});
  int sig = common::WaitForShutdownSignal();
  common::LogInfo("shutting down", {{"signal", sig}});
  database.Stop();
  notifier.Stop();  // ends every WatchChanges stream promptly
  (*host)->Shutdown();
  if (cache != nullptr) cache->Stop();
  common::LogInfo("stopped");
  return 0;
}

#include "directory/config.h"

namespace sase::directory {

absl::StatusOr<DirectoryConfig> LoadDirectoryConfig(int argc, char** argv,
                                                     const common::ConfigParser::GetEnv& getenv) {
  DirectoryConfig c;
  common::ConfigParser p("directory");
  p.String("listen_addr", &c.listen_addr, "127.0.0.1:50062", "gRPC listen address (host:port)");
  common::AddGrpcSecurityKeys(p, &c.grpc_security);
  p.String("grpc_health_listen_addr", &c.grpc_health_listen_addr, "",
           "plaintext listener serving only grpc.health.v1 Check (for probes without a client certificate, e.g. Kubernetes gRPC probes); empty: none");
  p.String("metrics_addr", &c.metrics_addr, "127.0.0.1:9462", "Prometheus /metrics address (host:port)");
  p.String("pg_dsn", &c.pg_dsn, "", "PostgreSQL connection string", {.required = true, .secret = true});
  p.Int("pg_pool_size", &c.pg_pool_size, 16, "PostgreSQL connections for queries", {.min = 1, .max = 256});
  p.Int("poll_interval_ms", &c.poll_interval_ms, 1000,
        "WatchChanges poll fallback when no NOTIFY arrives (milliseconds)", {.min = 10, .max = 60000});
  p.Int("user_cache_entries", &c.user_cache_entries, 200000,
        "users cached for GetUser/CheckMembership (0 disables the cache)", {.min = 0, .max = 10000000});
  p.Int("user_cache_mb", &c.user_cache_mb, 80, "memory bound of the user cache (MiB, estimated)",
        {.min = 1, .max = 65536});
  p.Int("user_cache_warm_wait_ms", &c.user_cache_warm_wait_ms, 30000,
        "wait at most this long for the user cache warm-up before serving (0: serve at once)",
        {.min = 0, .max = 600000});
  absl::Status s = p.Parse(argc, argv, getenv);
  if (!s.ok()) return s;
  if (s = common::CheckGrpcSecurity(c.grpc_security, {{"listen_addr", c.listen_addr}}); !s.ok()) return s;
  c.describe = p.Describe();
  return c;
}

}  // namespace sase::directory

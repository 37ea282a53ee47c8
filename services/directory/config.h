#pragma once
// Configuration of the directory binary (env SASE_<KEY>, then --<key>=value).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/grpc_security.h"

namespace sase::directory {

struct DirectoryConfig {
  std::string listen_addr;   // default 127.0.0.1:50062
  common::GrpcSecurity grpc_security;  // mutual TLS (or explicit loopback plaintext)
  std::string grpc_health_listen_addr;  // plaintext grpc.health.v1 only, for probes; empty: none
  std::string metrics_addr;  // default 127.0.0.1:9462
  std::string pg_dsn;        // required, secret
  int64_t pg_pool_size = 16;
  int64_t poll_interval_ms = 1000;
  int64_t user_cache_entries = 200000;  // 0: no cache
  int64_t user_cache_mb = 80;
  int64_t user_cache_warm_wait_ms = 30000;  // serve only after warm-up, at most this long
  std::string describe;  // key=value pairs, secrets redacted
};

// "--help" answers Cancelled with the usage text.
absl::StatusOr<DirectoryConfig> LoadDirectoryConfig(int argc, char** argv, const common::ConfigParser::GetEnv& getenv);

}  // namespace sase::directory

#pragma once
// sync_worker configuration: environment (SASE_<KEY>) then flags (--key=value), validated once.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/grpc_security.h"
#include "sync_worker/sync_config.h"

namespace sase::sync_worker {

struct SyncWorkerConfig {
  std::string listen_addr;   // gRPC, default 127.0.0.1:50061
  common::GrpcSecurity grpc_security;  // mutual TLS (or explicit loopback plaintext)
  std::string grpc_health_listen_addr;  // plaintext grpc.health.v1 only, for probes; empty: none
  std::string metrics_addr;  // Prometheus /metrics, default 127.0.0.1:9461
  std::string pg_dsn;        // required, secret
  int64_t pg_pool_size = 8;
  std::string kek_file;  // path of a file holding the key-encryption key (hex or base64)
  std::string kek_env;   // or: NAME of an environment variable holding it
  std::string public_host;  // host[:port] for GetIntegrationLinks, e.g. sase.example.com
  bool migrate_on_start = false;
  int64_t event_leave_rechecks = 4;  // looks at a user_leave_org whose user DingTalk still returns
  // Logon assertions. Empty key files: an ephemeral key made at start (published like any other,
  // so assertions still verify from the JWKS; a restart rotates it).
  std::vector<std::string> login_signing_key_files;  // PEM, EC P-256; the first signs
  std::string login_issuer;
  std::string login_audience;
  int64_t login_assertion_ttl_seconds = 300;
  SyncSettings sync;  // full sync and DingTalk client (sync_config.h)
  std::string description;  // ConfigParser::Describe(), secrets redacted
};

// InvalidArgument naming the bad key; Cancelled carrying the usage text for --help. The KEK itself
// is loaded separately (store::SecretBox::Load) so that tests need not touch files.
absl::StatusOr<SyncWorkerConfig> LoadSyncWorkerConfig(int argc, char** argv, const common::ConfigParser::GetEnv& getenv);

// "host" or "host:port": no scheme, path, whitespace or userinfo.
absl::Status ValidatePublicHost(const std::string& host);

}  // namespace sase::sync_worker

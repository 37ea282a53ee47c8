#include "sync_worker/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"

namespace sase::sync_worker {

absl::Status ValidatePublicHost(const std::string& host) {
  if (host.empty()) return absl::OkStatus();
  if (host.size() > 253) return absl::InvalidArgumentError("config key public_host: too long");
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("config key public_host: '", host, "' must be a host name with an optional port, e.g. "
                       "sase.example.com (no scheme or path)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SyncWorkerConfig> LoadSyncWorkerConfig(int argc, char** argv,
                                                      const common::ConfigParser::GetEnv& getenv) {
  SyncWorkerConfig cfg;
  common::ConfigParser p("sync_worker");
  p.String("listen_addr", &cfg.listen_addr, "127.0.0.1:50061", "gRPC listen address (host:port)");
  common::AddGrpcSecurityKeys(p, &cfg.grpc_security);
  p.String("grpc_health_listen_addr", &cfg.grpc_health_listen_addr, "",
           "plaintext listener serving only grpc.health.v1 Check (for probes without a client certificate, e.g. Kubernetes gRPC probes); empty: none");
  p.String("metrics_addr", &cfg.metrics_addr, "127.0.0.1:9461", "Prometheus /metrics listen address (host:port)");
  p.String("pg_dsn", &cfg.pg_dsn, "", "PostgreSQL connection string", {.required = true, .secret = true});
  p.Int("pg_pool_size", &cfg.pg_pool_size, 8, "PostgreSQL connections in the pool", {.min = 1, .max = 256});
  p.String("kek_file", &cfg.kek_file, "",
           "file holding the 32-byte key-encryption key for secrets at rest (64 hex digits or base64)");
  p.String("kek_env", &cfg.kek_env, "", "name of an environment variable holding the key-encryption key");
  p.String("public_host", &cfg.public_host, "",
           "public host[:port] of ingress, used by GetIntegrationLinks (e.g. sase.example.com)");
  p.Bool("migrate_on_start", &cfg.migrate_on_start, false, "apply database migrations before serving");
  p.Int("event_leave_rechecks", &cfg.event_leave_rechecks, 4,
        "re-checks (after 2, 4, 8 ... s) of a departure DingTalk does not show yet", {.min = 0, .max = 8});
  std::string key_files;
  p.String("login_signing_key_files", &key_files, "",
           "comma-separated PEM files of EC P-256 keys signing logon assertions; the first signs, the others are "
           "published ahead of a rotation (empty: an ephemeral key per process)");
  p.String("login_issuer", &cfg.login_issuer, "sase-dingtalk", "iss of logon assertions");
  p.String("login_audience", &cfg.login_audience, "sase-client", "aud of logon assertions");
  p.Int("login_assertion_ttl_seconds", &cfg.login_assertion_ttl_seconds, 300, "lifetime of a logon assertion",
        {.min = 30, .max = 300});
  RegisterSyncConfig(p, &cfg.sync);
  if (absl::Status s = p.Parse(argc, argv, getenv); !s.ok()) return s;
  for (absl::string_view f : absl::StrSplit(key_files, ',', absl::SkipWhitespace())) {
    cfg.login_signing_key_files.emplace_back(absl::StripAsciiWhitespace(f));
  }
  if (cfg.login_issuer.empty()) return absl::InvalidArgumentError("config key login_issuer: must not be empty");
  if (cfg.login_audience.empty()) return absl::InvalidArgumentError("config key login_audience: must not be empty");
  if (absl::Status s = ValidateSyncSettings(cfg.sync); !s.ok()) return s;
  if (cfg.listen_addr.empty()) return absl::InvalidArgumentError("config key listen_addr: must not be empty");
  if (cfg.metrics_addr.empty()) return absl::InvalidArgumentError("config key metrics_addr: must not be empty");
  if (absl::Status s = common::CheckGrpcSecurity(cfg.grpc_security, {{"listen_addr", cfg.listen_addr}}); !s.ok()) {
    return s;
  }
  if (cfg.kek_file.empty() && cfg.kek_env.empty()) {
    return absl::InvalidArgumentError(
        "config key kek_file: a key-encryption key is required (set kek_file, or kek_env to the name of an "
        "environment variable holding it)");
  }
  if (!cfg.kek_file.empty() && !cfg.kek_env.empty()) {
    return absl::InvalidArgumentError("config key kek_file: set either kek_file or kek_env, not both");
  }
  if (absl::Status s = ValidatePublicHost(cfg.public_host); !s.ok()) return s;
  cfg.description = p.Describe();
  return cfg;
}

}  // namespace sase::sync_worker

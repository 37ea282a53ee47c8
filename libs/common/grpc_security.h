#pragma once
// Transport security and caller authorization of every internal gRPC listener and channel.
//
// Mutual TLS from PEM files that gRPC re-reads every `refresh_seconds`, so a rotated certificate
// is used without a restart. A caller's identity is its certificate's URI SAN
//   spiffe://<trust_domain>/<role>[/<name>]     role: ingress | admin | reader
// and each method admits the roles MethodAdmits() names (unknown methods admit nobody).
// Plaintext only when configured so (grpc_plaintext=true) and only on loopback addresses; a
// plaintext listener authenticates no caller, so it is for local runs and in-process tests.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"

namespace grpc {
class Channel;
class ChannelArguments;
class ServerCredentials;
}  // namespace grpc

namespace sase::common {

enum class CallerRole { kIngress, kAdmin, kReader };
std::string_view CallerRoleName(CallerRole role);

struct GrpcSecurity {
  bool plaintext = false;
  std::string cert_file;  // this process's certificate (chain), PEM
  std::string key_file;   // its private key, PEM
  std::string ca_file;    // the CA certificates a peer's certificate must chain to, PEM
  int64_t refresh_seconds = 60;
  std::string trust_domain = "sase.internal";
  // Channels only: the DNS name the server's certificate must carry when the target address is
  // not that name (an IP, a load balancer). Empty: the target's host.
  std::string server_name;

  // Explicit plaintext, for loopback runs and in-process tests.
  static GrpcSecurity Plaintext();
};

// Registers grpc_plaintext, grpc_tls_cert_file, grpc_tls_key_file, grpc_tls_ca_file,
// grpc_tls_refresh_s and grpc_trust_domain. `server_name_key` (e.g. "sync_worker_tls_server_name")
// also registers the channel's expected server name; empty for a process that only listens.
void AddGrpcSecurityKeys(ConfigParser& p, GrpcSecurity* out, const std::string& server_name_key = "");

// Start-up check, InvalidArgument naming the config key: with TLS, the three files exist and
// parse, the key matches the certificate, the certificate is valid now and names an identity of
// the trust domain; with plaintext, every address in `addrs` ({config key, address}) is a
// loopback one.
absl::Status CheckGrpcSecurity(const GrpcSecurity& s,
                               const std::vector<std::pair<std::string, std::string>>& addrs);

// The identity a certificate URI SAN names, or an error saying why it names none.
struct CallerIdentity {
  CallerRole role;
  std::string uri;
};
absl::StatusOr<CallerIdentity> ParseCallerIdentity(std::string_view uri, std::string_view trust_domain);

// Whether `method` ("/sase.dingtalk.v1.SyncService/SubmitEvents") admits `role`. Health checks
// admit every authenticated caller; a method not in the table admits nobody.
bool MethodAdmits(std::string_view method, CallerRole role);

// Server credentials: mutual TLS requiring and verifying a client certificate, with
// MethodAdmits() enforced before any handler runs: a refused call ends PERMISSION_DENIED and
// `on_refused(method, reason)` is called (reason: no_identity, foreign_identity, role_not_admitted).
// Plaintext: insecure credentials, no authorization.
using RefusalObserver = std::function<void(const std::string& method, const std::string& reason)>;
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const GrpcSecurity& s, RefusalObserver on_refused);

// A channel to `target` with these credentials (server-name override applied to `args`).
std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& target, const GrpcSecurity& s);
std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& target, const GrpcSecurity& s,
                                               grpc::ChannelArguments args);

// True for "127.0.0.1:p", "[::1]:p", "localhost:p" (and unix: sockets).
bool IsLoopbackAddress(const std::string& addr);

}  // namespace sase::common

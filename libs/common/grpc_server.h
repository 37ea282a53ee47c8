#pragma once
// Hosting helpers shared by every process: a gRPC server with health checking, reflection and
// per-method metrics; the Prometheus /metrics endpoint; shutdown-signal handling.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/grpc_security.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc
namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace sase::common {

class HealthMirror;

class GrpcServerHost {
 public:
  // Binds listen_addr ("127.0.0.1:0" picks a port) with `security` (mutual TLS and caller
  // authorization, or explicit plaintext), registers services, health (every service SERVING)
  // and reflection, and counts every RPC in `registry`:
  //   sase_grpc_server_handled_total{method,code}, sase_grpc_server_handling_seconds{method},
  //   sase_grpc_server_refused_total{method,reason} (calls the authorization refused).
  //
  // `health_listen_addr` (empty: none) adds a second, plaintext listener serving nothing but
  // grpc.health.v1.Health/Check with the same statuses, for probes that cannot present a client
  // certificate (Kubernetes' gRPC probes); its port is health_port().
  static absl::StatusOr<std::unique_ptr<GrpcServerHost>> Start(const std::string& listen_addr,
                                                               const std::vector<grpc::Service*>& services,
                                                               std::shared_ptr<prometheus::Registry> registry,
                                                               const GrpcSecurity& security,
                                                               const std::string& health_listen_addr = "");
  ~GrpcServerHost();

  int port() const { return port_; }
  int health_port() const { return health_port_; }
  grpc::Server& server() { return *server_; }
  // Sets the grpc.health.v1 status of one service (its full name, e.g.
  // "sase.dingtalk.v1.SyncService"): NOT_SERVING while it cannot do its job (its database is
  // unreachable), so a caller's readiness check can tell.
  void SetServing(const std::string& service, bool serving);
  // Marks health NOT_SERVING, then stops accepting and waits (bounded) for in-flight RPCs.
  void Shutdown();

 private:
  GrpcServerHost() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HealthMirror> health_mirror_;
  std::unique_ptr<grpc::Server> health_server_;
  int port_ = 0;
  int health_port_ = 0;
  bool shut_down_ = false;
};

class MetricsEndpoint {
 public:
  // Serves GET /metrics on addr ("127.0.0.1:0" picks a port). Fails, never throws, on a busy port.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& addr,
                                                                std::shared_ptr<prometheus::Registry> registry);
  ~MetricsEndpoint();
  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

// Blocks SIGINT/SIGTERM in the calling thread (call first thing in main, before other threads
// start, so every thread inherits the mask).
void BlockShutdownSignals();
// Waits for SIGINT or SIGTERM; returns the signal number.
int WaitForShutdownSignal();

// Adds sase_build_info{version,service}=1 to the registry.
void RegisterBuildInfo(prometheus::Registry& registry, const std::string& service);

}  // namespace sase::common

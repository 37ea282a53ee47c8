#include "common/grpc_server.h"

#include <csignal>
#include <chrono>
#include <mutex>

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace sase::common {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK: return "OK";
    case grpc::CANCELLED: return "CANCELLED";
    case grpc::UNKNOWN: return "UNKNOWN";
    case grpc::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND: return "NOT_FOUND";
    case grpc::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::ABORTED: return "ABORTED";
    case grpc::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::INTERNAL: return "INTERNAL";
    case grpc::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::DATA_LOSS: return "DATA_LOSS";
    case grpc::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

// Metric children are created once per (method, code) and cached; Family::Add takes a lock.
class RpcMetrics {
 public:
  explicit RpcMetrics(prometheus::Registry& registry)
      : handled_(prometheus::BuildCounter()
                     .Name("sase_grpc_server_handled_total")
                     .Help("RPCs completed, by method and status code")
                     .Register(registry)),
        latency_(prometheus::BuildHistogram()
                     .Name("sase_grpc_server_handling_seconds")
                     .Help("RPC latency from receipt to status, by method")
                     .Register(registry)),
        refused_(prometheus::BuildCounter()
                     .Name("sase_grpc_server_refused_total")
                     .Help("RPCs refused PERMISSION_DENIED before any handler ran: the caller's certificate "
                           "identity is not admitted to the method (reason: no_identity, foreign_identity, "
                           "role_not_admitted)")
                     .Register(registry)) {}

  void Refused(const std::string& method, const std::string& reason) {
    prometheus::Counter* counter;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Method names come from the caller: only known ones get a series of their own.
      const std::string label = refused_methods_.size() < 256 || refused_methods_.contains({method, reason})
                                    ? method
                                    : std::string("other");
      auto& c = refused_methods_[std::make_pair(label, reason)];
      if (c == nullptr) c = &refused_.Add({{"method", label}, {"reason", reason}});
      counter = c;
    }
    counter->Increment();
  }

  void Record(const std::string& method, grpc::StatusCode code, double seconds) {
    prometheus::Counter* counter;
    prometheus::Histogram* hist;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& c = counters_[std::make_pair(method, static_cast<int>(code))];
      if (c == nullptr) c = &handled_.Add({{"method", method}, {"code", CodeName(code)}});
      counter = c;
      auto& h = histograms_[method];
      if (h == nullptr) {
        h = &latency_.Add({{"method", method}},
                          prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                                  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
      }
      hist = h;
    }
    counter->Increment();
    hist->Observe(seconds);
  }

 private:
  std::mutex mu_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& refused_;
  absl::flat_hash_map<std::pair<std::string, std::string>, prometheus::Counter*> refused_methods_;
  absl::flat_hash_map<std::pair<std::string, int>, prometheus::Counter*> counters_;
  absl::flat_hash_map<std::string, prometheus::Histogram*> histograms_;
};

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, RpcMetrics* metrics)
      : method_(ShortMethod(info->method())), metrics_(metrics), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_->Record(method_, status.error_code(), secs);
      if (status.error_code() == grpc::INTERNAL || status.error_code() == grpc::UNAVAILABLE ||
          status.error_code() == grpc::UNKNOWN || status.error_code() == grpc::DATA_LOSS) {
        LogWarn("rpc failed", {{"method", method_},
                               {"code", CodeName(status.error_code())},
                               {"reason", status.error_message()}});
      } else if (!status.ok()) {
        LogDebug("rpc rejected", {{"method", method_},
                                  {"code", CodeName(status.error_code())},
                                  {"reason", status.error_message()}});
      }
    }
    methods->Proceed();
  }

 private:
  static std::string ShortMethod(const char* full) {
    // "/sase.dingtalk.v1.DirectoryService/GetUser" -> "DirectoryService/GetUser"
    std::string m = full == nullptr ? "unknown" : full;
    size_t slash = m.rfind('/');
    if (slash == std::string::npos || slash == 0) return m;
    size_t dot = m.rfind('.', slash);
    return dot == std::string::npos ? m.substr(1) : m.substr(dot + 1);
  }

  std::string method_;
  RpcMetrics* metrics_;
  std::chrono::steady_clock::time_point start_;
};

class MetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(std::shared_ptr<RpcMetrics> metrics) : metrics_(std::move(metrics)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_.get());
  }

 private:
  std::shared_ptr<RpcMetrics> metrics_;
};

// Decides whether a server offers reflection. Linking grpc++_reflection registers its plugin for
// every ServerBuilder at static initialisation, which would put reflection on the plaintext health
// listener too (and, with a second plugin added here, register it twice): drop that one, then add
// it back only where asked.
class ReflectionOption : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    const std::string name = grpc::reflection::ProtoServerReflectionPlugin().name();
    std::erase_if(*plugins, [&name](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) { return p->name() == name; });
    if (enabled_) plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
  }

 private:
  bool enabled_;
};

}  // namespace

// grpc.health.v1.Health/Check with the statuses of the main server, for the plaintext probe port.
class HealthMirror final : public grpc::health::v1::Health::Service {
 public:
  void Set(const std::string& service, bool serving) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_[service] = serving;
  }
  void SetAll(bool serving) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, status] : statuses_) status = serving;
  }
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = statuses_.find(request->service());
    if (it == statuses_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
    response->set_status(it->second ? grpc::health::v1::HealthCheckResponse::SERVING
                                    : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  absl::flat_hash_map<std::string, bool> statuses_;
};

absl::StatusOr<std::unique_ptr<GrpcServerHost>> GrpcServerHost::Start(const std::string& listen_addr,
                                                                       const std::vector<grpc::Service*>& services,
                                                                       std::shared_ptr<prometheus::Registry> registry,
                                                                       const GrpcSecurity& security,
                                                                       const std::string& health_listen_addr) {
  static std::once_flag once;
  std::call_once(once, [] { grpc::EnableDefaultHealthCheckService(true); });
  // One metrics object per registry: families must be registered once.
  // Families may be registered only once per registry; a registry that died (and whose address
  // may be reused) gets fresh metrics.
  static std::mutex mu;
  struct Entry {
    std::weak_ptr<prometheus::Registry> registry;
    std::shared_ptr<RpcMetrics> metrics;
  };
  static absl::flat_hash_map<prometheus::Registry*, Entry> by_registry;
  std::shared_ptr<RpcMetrics> metrics;
  {
    std::lock_guard<std::mutex> lock(mu);
    Entry& e = by_registry[registry.get()];
    if (e.metrics == nullptr || e.registry.lock() != registry) {
      e.registry = registry;
      e.metrics = std::make_shared<RpcMetrics>(*registry);
    }
    metrics = e.metrics;
  }

  std::unique_ptr<GrpcServerHost> host(new GrpcServerHost());
  host->registry_ = registry;  // the interceptors' metric families live in it
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(
      listen_addr,
      MakeServerCredentials(security, [metrics](const std::string& method, const std::string& reason) {
        metrics->Refused(method, reason);
      }),
      &host->port_);
  for (grpc::Service* s : services) builder.RegisterService(s);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<MetricsInterceptorFactory>(metrics));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  builder.SetOption(std::make_unique<ReflectionOption>(true));
  host->server_ = builder.BuildAndStart();
  if (host->server_ == nullptr || host->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", listen_addr, " (address in use or not bindable)"));
  }
  host->server_->GetHealthCheckService()->SetServingStatus(true);
  if (!health_listen_addr.empty()) {
    host->health_mirror_ = std::make_unique<HealthMirror>();
    host->health_mirror_->Set("", true);
    grpc::ServerBuilder health;
    health.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    health.AddListeningPort(health_listen_addr, grpc::InsecureServerCredentials(), &host->health_port_);
    health.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    health.SetOption(std::make_unique<ReflectionOption>(false));
    health.RegisterService(host->health_mirror_.get());
    host->health_server_ = health.BuildAndStart();
    if (host->health_server_ == nullptr || host->health_port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen for gRPC health checks on ", health_listen_addr,
                                                 " (address in use or not bindable)"));
    }
  }
  return host;
}

void GrpcServerHost::SetServing(const std::string& service, bool serving) {
  if (shut_down_ || server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(service, serving);
  if (health_mirror_ != nullptr) health_mirror_->Set(service, serving);
}

void GrpcServerHost::Shutdown() {
  // A host whose BuildAndStart() failed (port taken) has no server: Start() returns the error and
  // destroys the half-built host, which must not touch the missing server.
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  if (health_mirror_ != nullptr) health_mirror_->SetAll(false);
  if (health_server_ != nullptr) {
    health_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    health_server_->Wait();
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
}

GrpcServerHost::~GrpcServerHost() { Shutdown(); }

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& addr, std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<MetricsEndpoint> ep(new MetricsEndpoint());
  try {
    ep->exposer_ = std::make_unique<prometheus::Exposer>(addr, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve /metrics on ", addr, ": ", e.what()));
  }
  ep->exposer_->RegisterCollectable(registry);
  std::vector<int> ports = ep->exposer_->GetListeningPorts();
  ep->port_ = ports.empty() ? 0 : ports.front();
  return ep;
}

MetricsEndpoint::~MetricsEndpoint() = default;

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void RegisterBuildInfo(prometheus::Registry& registry, const std::string& service) {
  prometheus::BuildGauge()
      .Name("sase_build_info")
      .Help("Build information")
      .Register(registry)
      .Add({{"version", "0.1.0"}, {"service", service}})
      .Set(1);
}

}  // namespace sase::common

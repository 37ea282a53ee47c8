// ingress: the public HTTP endpoint (DingTalk event pushes). Holds no database credentials.
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <cstdlib>
#include <iostream>

#include "common/clock.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/health_watch.h"
#include "common/log.h"
#include "ingress/grpc_backends.h"
#include "ingress/ingress_server.h"

namespace {

bool SplitHostPort(const std::string& addr, std::string* host, int* port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  *host = addr.substr(0, colon);
  try {
    *port = std::stoi(addr.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return *port >= 0 && *port <= 65535 && !host->empty();
}

}  // namespace

int main(int argc, char** argv) {
  sase::common::BlockShutdownSignals();
  sase::common::InitLogging("ingress");
  std::string listen_addr, metrics_addr, sync_worker_addr;
  int64_t window_s, max_body, threads, max_connections, key_ttl_ms, key_refresh_ms, rpc_timeout_ms, batch_events, batch_bytes,
      batch_in_flight;
  sase::common::ConfigParser p("ingress");
  p.String("listen_addr", &listen_addr, "127.0.0.1:8080", "public HTTP listen address host:port");
  p.String("metrics_addr", &metrics_addr, "127.0.0.1:9460", "Prometheus /metrics listen address");
  p.String("sync_worker_addr", &sync_worker_addr, "127.0.0.1:50061", "sync_worker gRPC address");
  p.Int("timestamp_window_s", &window_s, 3600, "accepted |now - push timestamp| in seconds", {.min = 1, .max = 86400});
  p.Int("max_body_bytes", &max_body, 65536, "largest accepted push body", {.min = 1024, .max = 16 << 20});
  p.Int("http_threads", &threads, 2, "HTTP event-loop threads (each serves many connections)", {.min = 1, .max = 64});
  p.Int("max_connections", &max_connections, 10000, "open HTTP connections; more are refused",
        {.min = 1, .max = 1000000});
  p.Int("key_ttl_ms", &key_ttl_ms, 60000, "callback-key cache lifetime", {.min = 0, .max = 3600000});
  p.Int("key_refresh_min_age_ms", &key_refresh_ms, 2000, "minimum key age before a failed signature refetches",
        {.min = 0, .max = 600000});
  p.Int("rpc_timeout_ms", &rpc_timeout_ms, 1500, "deadline of calls into sync_worker (DingTalk waits < 2.5 s)",
        {.min = 50, .max = 60000});
  p.Int("submit_batch_events", &batch_events, 256, "most events per SubmitEvents call (concurrent pushes coalesce)",
        {.min = 1, .max = 1000});
  p.Int("submit_batch_bytes", &batch_bytes, 1 << 20, "most bytes of events per SubmitEvents call",
        {.min = 1024, .max = 3 << 20});
  p.Int("submit_in_flight", &batch_in_flight, 2, "SubmitEvents calls in flight per identity source",
        {.min = 1, .max = 1024});
  if (absl::Status s = p.Parse(argc, argv, std::getenv); !s.ok()) {
    if (absl::IsCancelled(s)) {
      std::cout << s.message();
      return 0;
    }
    std::cerr << "ingress: " << s.message() << "\n";
    return 2;
  }
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen_addr, &host, &port)) {
    std::cerr << "ingress: config key listen_addr: expected host:port\n";
    return 2;
  }
  sase::common::LogInfo("starting", {{"config", p.Describe()}});

  auto registry = std::make_shared<prometheus::Registry>();
  sase::common::RegisterBuildInfo(*registry, "ingress");
  auto metrics = sase::common::MetricsEndpoint::Start(metrics_addr, registry);
  if (!metrics.ok()) {
    sase::common::LogError("cannot start metrics endpoint",
                           {{"metrics_addr", metrics_addr}, {"reason", std::string(metrics.status().message())}});
    return 3;
  }
  auto channel = grpc::CreateChannel(sync_worker_addr, grpc::InsecureChannelCredentials());
  auto timeout = std::chrono::milliseconds(rpc_timeout_ms);
  sase::common::Clock& clock = sase::common::SystemClock();
  sase::ingress::KeyCache keys(sase::ingress::MakeGrpcKeyFetcher(channel, timeout), clock,
                               {.ttl = absl::Milliseconds(key_ttl_ms),
                                .min_refresh_age = absl::Milliseconds(key_refresh_ms)});
  // Readiness follows sync_worker's grpc.health.v1 status (NOT_SERVING while its database is down).
  sase::common::HealthWatch backend("sync_worker", sase::ingress::MakeGrpcReadinessCheck(channel, timeout),
                                    absl::Seconds(1));
  backend.Start();
  sase::ingress::IngressOptions opts;
  opts.readiness = [&backend] { return backend.status(); };
  opts.timestamp_window = std::chrono::seconds(window_s);
  opts.http.max_body_bytes = static_cast<size_t>(max_body);
  opts.http.io_threads = static_cast<int>(threads);
  opts.http.max_connections = static_cast<int>(max_connections);
  sase::ingress::EventBatcher batcher(sase::ingress::MakeGrpcBatchSink(channel, timeout),
                                      {.max_batch_events = static_cast<size_t>(batch_events),
                                       .max_batch_bytes = static_cast<size_t>(batch_bytes),
                                       .max_in_flight_per_source = static_cast<int>(batch_in_flight)},
                                      registry.get());
  sase::ingress::IngressServer server(
      opts, keys, clock,
      [&batcher](const std::string& tenant, const std::string& idp, sase::callback::Event e,
                 sase::ingress::SubmitDone done) { batcher.SubmitAsync(tenant, idp, std::move(e), std::move(done)); },
      *registry);
  absl::StatusOr<int> bound = server.Start(host, port);
  if (!bound.ok()) {
    sase::common::LogError("cannot start HTTP server",
                           {{"listen_addr", listen_addr}, {"reason", std::string(bound.status().message())}});
    return 3;
  }
  sase::common::LogInfo("serving", {{"http_port", *bound}, {"metrics_port", (*metrics)->port()}});
  int sig = sase::common::WaitForShutdownSignal();
  sase::common::LogInfo("shutting down", {{"signal", sig}});
  server.Stop();
  backend.Stop();
  return 0;
}

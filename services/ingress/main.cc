// ingress: the public HTTP endpoint (DingTalk event pushes and the logon pages). Holds no database
// credentials, no AppSecret and no assertion signing key.
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
#include "ingress/login_handler.h"
#include "ingress/login_pages.h"
#include "login/random.h"
#include "login/state_token.h"

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
  // ingress's client identity towards sync_worker: spiffe://<trust domain>/ingress.
  sase::common::GrpcSecurity grpc_security;
  sase::common::AddGrpcSecurityKeys(p, &grpc_security, "sync_worker_tls_server_name");
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
  std::string public_base_url, state_key_file, authorize_url, qr_script_url, jsapi_script_url, login_scope;
  int64_t state_ttl_s, login_threads, jwks_cache_s;
  p.String("public_base_url", &public_base_url, "",
           "public origin of this service, e.g. https://sase.example.com (default: http://<listen_addr>); the "
           "logon callback is <public_base_url>/open-dev/dingtalk");
  p.String("login_state_key_file", &state_key_file, "",
           "file of HMAC keys (one per line, >= 32 bytes, the first signs) for logon states; every replica needs "
           "the same file (empty: a random key per process, fine for one replica)");
  p.String("dingtalk_authorize_url", &authorize_url, "https://login.dingtalk.com/oauth2/auth",
           "DingTalk's OAuth authorize page");
  p.String("dingtalk_qr_script_url", &qr_script_url,
           "https://g.alicdn.com/dingding/h5-dingtalk-login/0.21.0/ddlogin.js", "DingTalk's QR login script");
  p.String("dingtalk_jsapi_script_url", &jsapi_script_url,
           "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js", "DingTalk's JSAPI script");
  p.String("login_scope", &login_scope, "openid corpid", "OAuth scope asked of DingTalk (openid or \"openid corpid\")");
  p.Int("login_state_ttl_s", &state_ttl_s, 600, "how long a logon may take from start to DingTalk's redirect",
        {.min = 60, .max = 600});
  p.Int("login_jwks_cache_s", &jwks_cache_s, 30, "how long ingress caches sync_worker's JWKS", {.min = 0, .max = 300});
  p.Int("login_threads", &login_threads, 4, "threads making the logon calls into sync_worker", {.min = 1, .max = 256});
  if (absl::Status s = p.Parse(argc, argv, std::getenv); !s.ok()) {
    if (absl::IsCancelled(s)) {
      std::cout << s.message();
      return 0;
    }
    std::cerr << "ingress: " << s.message() << "\n";
    return 2;
  }
  if (absl::Status s = sase::common::CheckGrpcSecurity(grpc_security, {{"sync_worker_addr", sync_worker_addr}});
      !s.ok()) {
    std::cerr << "ingress: " << s.message() << "\n";
    return 2;
  }
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen_addr, &host, &port)) {
    std::cerr << "ingress: config key listen_addr: expected host:port\n";
    return 2;
  }
  if (login_scope != "openid" && login_scope != "openid corpid") {
    std::cerr << "ingress: config key login_scope: must be \"openid\" or \"openid corpid\"\n";
    return 2;
  }
  for (const auto& [key, url] : {std::pair<const char*, const std::string*>{"dingtalk_authorize_url", &authorize_url},
                                 {"dingtalk_qr_script_url", &qr_script_url},
                                 {"dingtalk_jsapi_script_url", &jsapi_script_url}}) {
    if (sase::ingress::OriginOf(*url).empty()) {
      std::cerr << "ingress: config key " << key << ": expected an absolute http(s) URL\n";
      return 2;
    }
  }
  const bool derive_base = public_base_url.empty();  // http://<host>:<bound port>, once bound
  if (derive_base) public_base_url = "http://" + listen_addr;
  while (!public_base_url.empty() && public_base_url.back() == '/') public_base_url.pop_back();
  if (sase::ingress::OriginOf(public_base_url) != public_base_url) {
    std::cerr << "ingress: config key public_base_url: expected an origin like https://sase.example.com (no path)\n";
    return 2;
  }
  absl::StatusOr<sase::login::StateSigner> states =
      state_key_file.empty() ? sase::login::StateSigner::FromKeys({sase::login::RandomToken(32)})
                             : sase::login::StateSigner::FromKeyFile(state_key_file);
  if (!states.ok()) {
    std::cerr << "ingress: config key login_state_key_file: " << states.status().message() << "\n";
    return 2;
  }
  sase::common::LogInfo("starting", {{"config", p.Describe()}});
  if (state_key_file.empty()) {
    sase::common::LogWarn("login_state_key_file unset: logon states are signed by a random per-process key "
                          "(several ingress replicas need a shared key file)");
  }

  auto registry = std::make_shared<prometheus::Registry>();
  sase::common::RegisterBuildInfo(*registry, "ingress");
  auto metrics = sase::common::MetricsEndpoint::Start(metrics_addr, registry);
  if (!metrics.ok()) {
    sase::common::LogError("cannot start metrics endpoint",
                           {{"metrics_addr", metrics_addr}, {"reason", std::string(metrics.status().message())}});
    return 3;
  }
  auto channel = sase::common::MakeGrpcChannel(sync_worker_addr, grpc_security);
  auto timeout = std::chrono::milliseconds(rpc_timeout_ms);
  sase::common::Clock& clock = sase::common::SystemClock();
  sase::ingress::KeyCache keys(sase::ingress::MakeGrpcKeyFetcher(channel, timeout), clock,
                               {.ttl = absl::Milliseconds(key_ttl_ms),
                                .min_refresh_age = absl::Milliseconds(key_refresh_ms)});
  // Readiness follows sync_worker's grpc.health.v1 status (NOT_SERVING while its database is down).
  sase::common::HealthWatch backend("sync_worker", sase::ingress::MakeGrpcReadinessCheck(channel, timeout),
                                    absl::Seconds(1));
  backend.Start();
  std::unique_ptr<sase::ingress::LoginBackend> login_backend =
      sase::ingress::MakeGrpcLoginBackend(channel, std::chrono::milliseconds(std::max<int64_t>(rpc_timeout_ms, 5000)));
  sase::ingress::LoginHandler login(
      {.public_base_url = public_base_url,
       .authorize_url = authorize_url,
       .qr_script_url = qr_script_url,
       .jsapi_script_url = jsapi_script_url,
       .scope = login_scope,
       .state_lifetime = absl::Seconds(state_ttl_s),
       .jwks_cache = absl::Seconds(jwks_cache_s),
       .threads = static_cast<int>(login_threads)},
      *std::move(states), *login_backend, clock, *registry);
  sase::ingress::IngressOptions opts;
  opts.login = &login;
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
  if (derive_base) {
    public_base_url = "http://" + host + ":" + std::to_string(*bound);
    login.SetPublicBaseUrl(public_base_url);
  }
  sase::common::LogInfo("serving", {{"http_port", *bound}, {"metrics_port", (*metrics)->port()},
                                    {"login_callback", public_base_url + "/open-dev/dingtalk"}});
  int sig = sase::common::WaitForShutdownSignal();
  sase::common::LogInfo("shutting down", {{"signal", sig}});
  server.Stop();
  login.Stop();
  backend.Stop();
  return 0;
}

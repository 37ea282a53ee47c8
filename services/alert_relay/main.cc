// alert_relay: Alertmanager webhook → DingTalk group robot (signed markdown messages, within the
// robot's rate and monthly limits). Needs only outbound HTTPS to DingTalk and the robot's token and
// secret: no database, no AppSecret, no gRPC peer.
#include <prometheus/registry.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "alert_relay/config.h"
#include "alert_relay/relay.h"
#include "alert_relay/relay_server.h"
#include "alert_relay/robot_client.h"
#include "alert_relay/send_budget.h"
#include "common/clock.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "dingtalk/http_transport.h"

int main(int argc, char** argv) {
  using namespace sase;  // NOLINT
  common::BlockShutdownSignals();
  common::InitLogging("alert_relay");
  absl::StatusOr<alert_relay::AlertRelayConfig> config = alert_relay::LoadAlertRelayConfig(argc, argv, std::getenv);
  if (!config.ok()) {
    if (absl::IsCancelled(config.status())) {
      std::cout << config.status().message();
      return 0;
    }
    std::cerr << "alert_relay: " << config.status().message() << "\n";
    return 2;
  }
  common::LogInfo("starting", {{"config", config->describe}});
  if (config->robot_url.rfind("https://", 0) != 0) {
    common::LogWarn("robot_url is not https: the access token and signature travel in clear",
                    {{"robot_url", config->robot_url}});
  }

  auto registry = std::make_shared<prometheus::Registry>();
  common::RegisterBuildInfo(*registry, "alert_relay");
  auto metrics = common::MetricsEndpoint::Start(config->metrics_addr, registry);
  if (!metrics.ok()) {
    common::LogError("cannot start metrics endpoint",
                     {{"metrics_addr", config->metrics_addr}, {"reason", std::string(metrics.status().message())}});
    return 3;
  }
  dingtalk::TransportOptions transport_options;
  transport_options.connect_timeout = absl::Milliseconds(std::min<int64_t>(config->robot_timeout_ms, 3000));
  transport_options.total_timeout = absl::Milliseconds(config->robot_timeout_ms);
  transport_options.max_response_bytes = 64 << 10;
  absl::StatusOr<std::unique_ptr<dingtalk::CurlTransport>> transport =
      dingtalk::CurlTransport::Create(transport_options);
  if (!transport.ok()) {
    common::LogError("cannot create the HTTP client", {{"reason", std::string(transport.status().message())}});
    return 3;
  }
  common::Clock& clock = common::SystemClock();
  alert_relay::RobotClient robot(
      {.url = config->robot_url, .access_token = config->robot_token, .secret = config->robot_secret}, **transport,
      clock);
  alert_relay::SendBudget budget({.per_minute = static_cast<double>(config->rate_per_minute),
                                  .burst = static_cast<double>(config->rate_burst),
                                  .monthly_budget = config->monthly_budget},
                                 clock);
  alert_relay::Relay relay({.render = {.max_text_bytes = static_cast<size_t>(config->max_text_bytes)},
                            .too_fast_pause = absl::Seconds(config->too_fast_pause_s),
                            .budget_limited = config->monthly_budget > 0},
                           robot, budget, clock, *registry);
  absl::StatusOr<std::unique_ptr<alert_relay::RelayServer>> server =
      alert_relay::RelayServer::Start({.host = config->listen_host,
                                       .port = config->listen_port,
                                       .max_body_bytes = static_cast<size_t>(config->max_body_bytes),
                                       .threads = static_cast<int>(config->http_threads)},
                                      relay);
  if (!server.ok()) {
    common::LogError("cannot start HTTP server",
                     {{"listen_addr", config->listen_addr}, {"reason", std::string(server.status().message())}});
    return 3;
  }
  common::LogInfo("serving", {{"http_port", (*server)->port()}, {"metrics_port", (*metrics)->port()}});
  const int sig = common::WaitForShutdownSignal();
  common::LogInfo("shutting down", {{"signal", sig}});
  (*server)->Stop();
  common::LogInfo("stopped");
  return 0;
}

// dingtalk_sim: stand-alone DingTalk simulator for tests and local runs.
// Prints {"event":"listening","port":N} on stdout once it accepts connections; stops on SIGINT/SIGTERM.

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "dingtalk_sim/http_event_pusher.h"
#include "dingtalk_sim/sim_server.h"
#include "nlohmann/json.hpp"

namespace {

using sase::dingtalk_sim::SimOptions;

absl::Status ParseRate(const std::string& key, const std::string& text, double* out) {
  if (text.empty()) return absl::OkStatus();
  if (!absl::SimpleAtod(text, out) || *out < 0 || *out > 1) {
    return absl::InvalidArgumentError(absl::StrCat(key, " must be a number in [0,1]"));
  }
  return absl::OkStatus();
}

absl::Status ParseListen(const std::string& listen, SimOptions* opt) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("listen must be HOST:PORT");
  }
  opt->host = listen.substr(0, colon);
  if (opt->host.size() > 2 && opt->host.front() == '[' && opt->host.back() == ']') {
    opt->host = opt->host.substr(1, opt->host.size() - 2);
  }
  opt->port = port;
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  sase::common::InitLogging("dingtalk_sim");
  SimOptions opt;
  std::string listen, throttle_style, token_error_style, error_rate, busy_rate, ip_ban_rate, drop_rate, ip_ban_style;
  int64_t seed = 0, users = 0, departments = 0, max_depth = 0, qps = 0, token_lifetime = 0, code_lifetime = 0;
  int64_t latency_ms = 0, threads = 0, callback_timeout_ms = 0;
  std::string callback_retry_delays, event_layout;
  sase::dingtalk_sim::PusherOptions push;

  sase::common::ConfigParser p("dingtalk_sim");
  p.String("listen", &listen, "127.0.0.1:0", "HOST:PORT to listen on (port 0 = any free port)");
  p.Int("seed", &seed, 1, "organisation generator seed", {.min = 0});
  p.Int("users", &users, 1000, "number of generated users", {.min = 0, .max = 2000000});
  p.Int("departments", &departments, 50, "number of generated departments (incl. root 1)", {.min = 1, .max = 200000});
  p.Int("max_depth", &max_depth, 4, "levels of the department tree, root = level 1", {.min = 1, .max = 15});
  p.String("app_key", &opt.app_key, opt.app_key, "AppKey (Client ID) accepted by the token endpoints");
  p.String("app_secret", &opt.app_secret, opt.app_secret, "AppSecret (Client Secret)", {.secret = true});
  p.String("corp_id", &opt.corp_id, opt.corp_id, "CorpId of the simulated organisation");
  p.Int("qps", &qps, 20, "per-app per-API QPS limit, 0 = unlimited", {.min = 0});
  p.String("throttle_style", &throttle_style, "88",
           "QPS overrun answer on oapi: 90018 (top-level errcode) or 88 (errcode 88 + sub_code 90018)");
  p.String("token_error_style", &token_error_style, "flat",
           "token errors on oapi: flat (41001/40014/42001) or 88 (errcode 88 + sub_code 40000/40014/42001)");
  p.Int("token_lifetime_s", &token_lifetime, 7200, "access token lifetime in seconds", {.min = 1});
  p.Int("code_lifetime_s", &code_lifetime, 300, "OAuth / free-login code lifetime in seconds", {.min = 1});
  p.String("fault_error_rate", &error_rate, "0", "fraction of API calls answered HTTP 502 (HTML)");
  p.String("fault_busy_rate", &busy_rate, "0", "fraction of API calls answered errcode -1 (new API: HTTP 500)");
  p.Int("fault_latency_ms", &latency_ms, 0, "latency added to every API call", {.min = 0, .max = 60000});
  p.String("fault_ip_ban_rate", &ip_ban_rate, "0", "fraction of API calls answered with the IP-ban page");
  p.String("fault_ip_ban_style", &ip_ban_style, "html", "IP-ban answer: html or json");
  p.String("fault_drop_rate", &drop_rate, "0", "fraction of API calls whose connection is closed without reply");
  p.String("robot_access_token", &opt.robot.access_token, opt.robot.access_token,
           "access_token of the custom group robot at /robot/send", {.secret = true});
  p.String("robot_secret", &opt.robot.secret, opt.robot.secret,
           "signing secret (加签) of the robot; empty: no signature check", {.secret = true});
  p.Int("robot_per_minute", &opt.robot.per_minute, 20, "robot messages per 60 s before 410100", {.min = 1});
  p.Int("robot_mute_s", &opt.robot.mute_s, 600, "how long the robot refuses (410100) after an overrun", {.min = 0});
  p.Int("threads", &threads, 16, "HTTP worker threads", {.min = 2, .max = 1024});
  p.String("callback_url", &push.url, "", "connector ingress URL for event pushes (empty = no pushes)");
  p.String("callback_token", &push.token, "", "callback signature token", {.secret = true});
  p.String("callback_aes_key", &push.aes_key, "", "callback aes_key (43 chars)", {.secret = true});
  p.String("callback_receiver_id", &push.receiver_id, "", "receiver id in the envelope (default: app_key)");
  p.String("event_layout", &event_layout, "legacy", "pushed event JSON layout: legacy or current");
  p.String("callback_retry_delays_ms", &callback_retry_delays, "10000,30000",
           "delays before each retry of a failed push, comma-separated ms");
  p.Int("callback_timeout_ms", &callback_timeout_ms, 2500, "reply deadline of a push", {.min = 1, .max = 60000});
  absl::Status s = p.Parse(argc, argv, std::getenv);
  if (absl::IsCancelled(s)) {
    std::cout << s.message();
    return 0;
  }
  if (s.ok()) s = ParseListen(listen, &opt);
  if (s.ok()) s = ParseRate("fault_error_rate", error_rate, &opt.faults.error_rate);
  if (s.ok()) s = ParseRate("fault_busy_rate", busy_rate, &opt.faults.busy_rate);
  if (s.ok()) s = ParseRate("fault_ip_ban_rate", ip_ban_rate, &opt.faults.ip_ban_rate);
  if (s.ok()) s = ParseRate("fault_drop_rate", drop_rate, &opt.faults.drop_rate);
  if (s.ok() && ip_ban_style != "html" && ip_ban_style != "json") {
    s = absl::InvalidArgumentError("fault_ip_ban_style must be html or json");
  }
  if (s.ok()) {
    absl::StatusOr<sase::dingtalk_sim::ThrottleStyle> ts = sase::dingtalk_sim::ParseThrottleStyle(throttle_style);
    absl::StatusOr<sase::dingtalk_sim::TokenErrorStyle> te = sase::dingtalk_sim::ParseTokenErrorStyle(token_error_style);
    if (!ts.ok()) s = ts.status();
    if (s.ok() && !te.ok()) s = te.status();
    if (s.ok()) {
      opt.throttle_style = *ts;
      opt.token_error_style = *te;
    }
  }
  if (s.ok() && !push.url.empty()) {
    absl::StatusOr<sase::dingtalk_sim::EventLayout> layout = sase::dingtalk_sim::ParseEventLayout(event_layout);
    absl::StatusOr<std::vector<std::chrono::milliseconds>> delays =
        sase::dingtalk_sim::ParseRetryDelays(callback_retry_delays);
    if (!layout.ok()) s = layout.status();
    if (s.ok() && !delays.ok()) s = delays.status();
    if (s.ok()) {
      push.layout = *layout;
      push.retry_delays = *delays;
      push.timeout = std::chrono::milliseconds(callback_timeout_ms);
      if (push.receiver_id.empty()) push.receiver_id = opt.app_key;
      // Validate now so a bad key fails at start-up, not on the first push.
      absl::StatusOr<std::unique_ptr<sase::dingtalk_sim::HttpEventPusher>> probe =
          sase::dingtalk_sim::HttpEventPusher::Create(push, nullptr);
      if (!probe.ok()) s = probe.status();
    }
    if (s.ok()) {
      opt.pusher_factory = [push](sase::dingtalk_sim::EventPusher::FailedCallback on_failed)
          -> std::unique_ptr<sase::dingtalk_sim::EventPusher> {
        return std::move(*sase::dingtalk_sim::HttpEventPusher::Create(push, std::move(on_failed)));
      };
    }
  }
  if (!s.ok()) {
    std::cerr << "config: " << s.message() << "\n";
    return 2;
  }
  opt.generator = {static_cast<uint64_t>(seed), users, departments, max_depth};
  opt.qps = qps;
  opt.token_lifetime_s = token_lifetime;
  opt.code_lifetime_s = code_lifetime;
  opt.faults.latency_ms = latency_ms;
  opt.faults.ip_ban_style = ip_ban_style;
  opt.threads = static_cast<int>(threads);

  sase::common::BlockShutdownSignals();
  absl::StatusOr<std::unique_ptr<sase::dingtalk_sim::SimServer>> server = sase::dingtalk_sim::SimServer::Start(opt);
  if (!server.ok()) {
    std::cerr << "start: " << server.status().message() << "\n";
    return 1;
  }
  sase::common::LogInfo("dingtalk simulator started", {{"config", p.Describe()}, {"port", (*server)->port()}});
  std::cout << nlohmann::json{{"event", "listening"}, {"port", (*server)->port()}}.dump() << std::endl;
  const int sig = sase::common::WaitForShutdownSignal();
  sase::common::LogInfo("stopping", {{"signal", sig}});
  (*server)->Stop();
  return 0;
}

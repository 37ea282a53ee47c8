#pragma once
// Configuration of the alert_relay binary (env SASE_<KEY>, then --<key>=value; --help lists them).
// The robot's access token and secret come from a file or from a named environment variable
// (robot_token_file | robot_token_env, robot_secret_file | robot_secret_env), never from a flag
// value, and are never logged (`describe` names only where they came from).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace sase::alert_relay {

struct AlertRelayConfig {
  std::string listen_addr;   // default 127.0.0.1:8060 (POST /alertmanager, GET /healthz)
  std::string listen_host;   // split from listen_addr
  int listen_port = 0;
  std::string metrics_addr;  // default 127.0.0.1:9463
  std::string robot_url;     // https://oapi.dingtalk.com/robot/send, no query
  std::string robot_token;   // secret
  std::string robot_secret;  // secret
  int64_t max_body_bytes = 1 << 20;
  int64_t max_text_bytes = 4000;
  int64_t rate_per_minute = 8;
  int64_t rate_burst = 10;
  int64_t monthly_budget = 5000;
  int64_t too_fast_pause_s = 600;
  int64_t http_threads = 4;
  int64_t robot_timeout_ms = 5000;
  std::string describe;  // key=value pairs, secrets redacted
};

// DingTalk's limit per robot and minute; rate_burst + rate_per_minute may not exceed it.
inline constexpr int64_t kRobotMessagesPerMinute = 20;

// "--help" answers Cancelled with the usage text; any other error names its key.
absl::StatusOr<AlertRelayConfig> LoadAlertRelayConfig(int argc, char** argv,
                                                      const common::ConfigParser::GetEnv& getenv);

}  // namespace sase::alert_relay

#include "alert_relay/config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/web.h"
#include "login/internal/secret_file.h"

namespace sase::alert_relay {
namespace {

absl::Status KeyError(const std::string& key, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("config key ", key, ": ", message));
}

// One secret from `<name>_file` (a file's contents) or `<name>_env` (the name of an environment
// variable holding it); exactly one of them must be set. Surrounding white space is dropped.
absl::StatusOr<std::string> LoadSecret(const std::string& name, const std::string& file, const std::string& env,
                                       const common::ConfigParser::GetEnv& getenv) {
  const std::string file_key = name + "_file";
  const std::string env_key = name + "_env";
  if (file.empty() == env.empty()) {
    return KeyError(file_key, absl::StrCat("set exactly one of ", file_key, " (a file holding it) or ", env_key,
                                           " (the name of an environment variable holding it)"));
  }
  std::string value;
  if (!file.empty()) {
    absl::StatusOr<std::string> contents = login::internal::ReadSecretFile(file);
    if (!contents.ok()) return KeyError(file_key, std::string(contents.status().message()));
    value = std::string(absl::StripAsciiWhitespace(*contents));
    login::internal::Wipe(*contents);
    if (value.empty()) return KeyError(file_key, absl::StrCat(file, " is empty"));
  } else {
    const char* v = getenv(env.c_str());
    if (v == nullptr || *v == '\0') return KeyError(env_key, absl::StrCat("environment variable ", env, " is not set"));
    value = std::string(absl::StripAsciiWhitespace(v));
  }
  return value;
}

}  // namespace

absl::StatusOr<AlertRelayConfig> LoadAlertRelayConfig(int argc, char** argv,
                                                      const common::ConfigParser::GetEnv& getenv) {
  AlertRelayConfig c;
  std::string token_file, token_env, secret_file, secret_env;
  common::ConfigParser p("alert_relay");
  p.String("listen_addr", &c.listen_addr, "127.0.0.1:8060",
           "HTTP listen address host:port (POST /alertmanager, GET /healthz)");
  p.String("metrics_addr", &c.metrics_addr, "127.0.0.1:9463", "Prometheus /metrics listen address (host:port)");
  p.String("robot_url", &c.robot_url, "https://oapi.dingtalk.com/robot/send",
           "DingTalk robot send URL without a query (the access token comes from robot_token_file or robot_token_env)");
  p.String("robot_token_file", &token_file, "", "file holding the robot's access_token");
  p.String("robot_token_env", &token_env, "", "name of an environment variable holding the robot's access_token");
  p.String("robot_secret_file", &secret_file, "", "file holding the robot's signing secret (SEC...)");
  p.String("robot_secret_env", &secret_env, "", "name of an environment variable holding the robot's signing secret");
  p.Int("max_body_bytes", &c.max_body_bytes, 1 << 20, "largest accepted webhook body (bytes; larger: 413)",
        {.min = 1024, .max = 16 << 20});
  p.Int("max_text_bytes", &c.max_text_bytes, 4000,
        "bound of a message's markdown text (bytes; DingTalk refuses more than 20000)", {.min = 2000, .max = 18000});
  p.Int("rate_per_minute", &c.rate_per_minute, 8, "messages per minute the token bucket refills",
        {.min = 1, .max = kRobotMessagesPerMinute});
  p.Int("rate_burst", &c.rate_burst, 10,
        "messages the token bucket lets out at once; rate_burst + rate_per_minute <= 20 (DingTalk's per-robot limit)",
        {.min = 1, .max = kRobotMessagesPerMinute});
  p.Int("monthly_budget", &c.monthly_budget, 5000,
        "messages per calendar month (UTC+8), counted since start; 0 = no budget (DingTalk's free quota: 5000)",
        {.min = 0, .max = 1000000000});
  p.Int("too_fast_pause_s", &c.too_fast_pause_s, 600,
        "after DingTalk answers 410100 (too fast), send nothing for this long", {.min = 0, .max = 3600});
  p.Int("http_threads", &c.http_threads, 4, "threads serving webhook requests", {.min = 1, .max = 64});
  p.Int("robot_timeout_ms", &c.robot_timeout_ms, 5000, "deadline of one call to DingTalk", {.min = 100, .max = 60000});
  if (absl::Status s = p.Parse(argc, argv, getenv); !s.ok()) return s;

  const size_t colon = c.listen_addr.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(c.listen_addr.substr(colon + 1), &c.listen_port) || c.listen_port < 0 ||
      c.listen_port > 65535) {
    return KeyError("listen_addr", "expected host:port");
  }
  c.listen_host = c.listen_addr.substr(0, colon);
  if (c.listen_host.size() > 2 && c.listen_host.front() == '[' && c.listen_host.back() == ']') {
    c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
  }
  if (c.metrics_addr.empty()) return KeyError("metrics_addr", "must not be empty");
  std::optional<common::UrlParts> url = common::ParseUrl(c.robot_url, /*any_scheme=*/false);
  if (!url || (url->scheme != "https" && url->scheme != "http") || url->host.empty() || url->has_user_info ||
      url->has_fragment) {
    return KeyError("robot_url", "expected an absolute http(s) URL such as https://oapi.dingtalk.com/robot/send");
  }
  if (c.robot_url.find('?') != std::string::npos) {
    return KeyError("robot_url", "must not carry a query: the access token comes from robot_token_file or "
                                 "robot_token_env, and the relay adds timestamp and sign");
  }
  if (c.rate_burst + c.rate_per_minute > kRobotMessagesPerMinute) {
    return KeyError("rate_burst", absl::StrCat("rate_burst + rate_per_minute is ", c.rate_burst + c.rate_per_minute,
                                               ": at most 20 (a minute may see the whole burst and a minute's "
                                               "refill; DingTalk mutes a robot for 10 minutes above 20)"));
  }
  absl::StatusOr<std::string> token = LoadSecret("robot_token", token_file, token_env, getenv);
  if (!token.ok()) return token.status();
  absl::StatusOr<std::string> secret = LoadSecret("robot_secret", secret_file, secret_env, getenv);
  if (!secret.ok()) return secret.status();
  c.robot_token = *std::move(token);
  c.robot_secret = *std::move(secret);
  c.describe = p.Describe();
  return c;
}

}  // namespace sase::alert_relay

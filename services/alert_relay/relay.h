#pragma once
// The relay's logic, free of HTTP serving: one Alertmanager webhook body in, one answer out.
//
//   bad body                         400 {"error":reason,"message"}   Alertmanager does not retry 4xx
//   sent                             200 {"status":"sent"}
//   over our limits                  200 {"status":"dropped","reason":"rate_limited"|"monthly_budget"|
//                                                          "dingtalk_throttled"}
//   DingTalk refused it for good     200 {"status":"dropped","reason":"dingtalk_rejected","error":code}
//     (bad token 300001, bad sign 310000, too long, 410100 "too fast": also pauses sending)
//   DingTalk unreachable, 5xx, -1    503 {"status":"retry","error":...}  Alertmanager retries with
//                                    back-off until its notification deadline (group_interval)
//
// So Alertmanager is never failed forever: everything but a transient upstream failure is
// answered 2xx once counted. The next message after drops carries a note saying how many were
// dropped since when, so the group learns that it did not see everything.
//
// Metrics (registry injected):
//   sase_alert_relay_notifications_received_total{status}   accepted bodies, firing|resolved
//   sase_alert_relay_requests_rejected_total{reason}        bad_json|bad_payload|unsupported_version|too_large
//   sase_alert_relay_sent_total                             messages DingTalk accepted
//   sase_alert_relay_dropped_total{reason}                  rate_limited|monthly_budget|dingtalk_throttled|
//                                                           dingtalk_rejected
//   sase_alert_relay_upstream_retry_total                   answered 503 for Alertmanager to retry
//   sase_alert_relay_dingtalk_errors_total{errcode}         DingTalk failures (RobotClient's error label)
//   sase_alert_relay_monthly_budget_remaining               what is left this month (absent: no budget)

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "alert_relay/markdown.h"
#include "alert_relay/robot_client.h"
#include "alert_relay/send_budget.h"
#include "common/clock.h"
#include "common/log.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace sase::alert_relay {

struct RelayReply {
  int status = 200;
  std::string body;  // JSON
};

class Relay {
 public:
  struct Options {
    RenderOptions render;
    absl::Duration too_fast_pause = absl::Minutes(10);  // DingTalk mutes a robot 10 min after 410100
    bool budget_limited = true;                         // a monthly budget is set (exports the gauge)
  };

  Relay(Options options, RobotClient& robot, SendBudget& budget, common::Clock& clock,
        prometheus::Registry& registry);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  RelayReply Handle(std::string_view body);
  // A request the HTTP layer refused before Handle (reason "too_large").
  void CountRejected(std::string_view reason);

 private:
  struct Metrics;
  RelayReply Drop(std::string_view reason, std::string_view error, const std::string& errmsg);
  std::string DropNotice(int64_t* noted);

  const Options options_;
  RobotClient& robot_;
  SendBudget& budget_;
  common::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  common::LogLimiter log_limiter_{2};

  std::mutex mu_;
  int64_t unnoted_drops_ = 0;  // dropped by our limits since the last message that said so
  absl::Time first_unnoted_drop_;
};

}  // namespace sase::alert_relay

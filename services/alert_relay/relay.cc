#include "alert_relay/relay.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "alert_relay/notification.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;

constexpr std::string_view kRateLimited = "rate_limited";
constexpr std::string_view kMonthlyBudget = "monthly_budget";
constexpr std::string_view kDingTalkThrottled = "dingtalk_throttled";
constexpr std::string_view kDingTalkRejected = "dingtalk_rejected";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

struct Relay::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : received(prometheus::BuildCounter()
                     .Name("sase_alert_relay_notifications_received_total")
                     .Help("Alertmanager notifications accepted, by status")
                     .Register(r)),
        rejected(prometheus::BuildCounter()
                     .Name("sase_alert_relay_requests_rejected_total")
                     .Help("Webhook requests refused as bad input (4xx), by reason")
                     .Register(r)),
        sent(prometheus::BuildCounter()
                 .Name("sase_alert_relay_sent_total")
                 .Help("Messages DingTalk's robot accepted")
                 .Register(r)
                 .Add({})),
        dropped(prometheus::BuildCounter()
                    .Name("sase_alert_relay_dropped_total")
                    .Help("Notifications not delivered and not to be retried, by reason")
                    .Register(r)),
        retry(prometheus::BuildCounter()
                  .Name("sase_alert_relay_upstream_retry_total")
                  .Help("Notifications answered 503 so that Alertmanager retries (DingTalk unreachable or failing)")
                  .Register(r)
                  .Add({})),
        errors(prometheus::BuildCounter()
                   .Name("sase_alert_relay_dingtalk_errors_total")
                   .Help("Failed robot sends, by DingTalk errcode (or http_<status>, unreachable, bad_response)")
                   .Register(r)),
        budget(prometheus::BuildGauge()
                   .Name("sase_alert_relay_monthly_budget_remaining")
                   .Help("Robot messages left in this month's budget (China Standard Time months)")
                   .Register(r)) {
    // Every label value a dashboard or rule names exists from the start, at zero.
    for (const char* s : {"firing", "resolved"}) received.Add({{"status", s}});
    for (std::string_view reason : {kBadJson, kBadPayload, kUnsupportedVersion, std::string_view("too_large")}) {
      rejected.Add({{"reason", std::string(reason)}});
    }
    for (std::string_view reason : {kRateLimited, kMonthlyBudget, kDingTalkThrottled, kDingTalkRejected}) {
      dropped.Add({{"reason", std::string(reason)}});
    }
  }

  prometheus::Family<prometheus::Counter>& received;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Counter& sent;
  prometheus::Family<prometheus::Counter>& dropped;
  prometheus::Counter& retry;
  prometheus::Family<prometheus::Counter>& errors;
  prometheus::Family<prometheus::Gauge>& budget;
};

Relay::Relay(Options options, RobotClient& robot, SendBudget& budget, common::Clock& clock,
             prometheus::Registry& registry)
    : options_(std::move(options)),
      robot_(robot),
      budget_(budget),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(registry)) {
  if (options_.budget_limited) {
    metrics_->budget.Add({}).Set(static_cast<double>(budget_.remaining_this_month()));
  }
}

Relay::~Relay() = default;

void Relay::CountRejected(std::string_view reason) { metrics_->rejected.Add({{"reason", std::string(reason)}}).Increment(); }

RelayReply Relay::Drop(std::string_view reason, std::string_view error, const std::string& errmsg) {
  metrics_->dropped.Add({{"reason", std::string(reason)}}).Increment();
  if (reason != kDingTalkRejected) {
    std::lock_guard<std::mutex> lock(mu_);
    if (unnoted_drops_++ == 0) first_unnoted_drop_ = clock_.Now();
  }
  int64_t suppressed = 0;
  if (log_limiter_.Allow(std::string(reason), &suppressed)) {
    common::LogWarn("notification dropped", {{"reason", std::string(reason)},
                                             {"error", std::string(error)},
                                             {"errmsg", errmsg},
                                             {"suppressed", suppressed}});
  }
  json body = {{"status", "dropped"}, {"reason", std::string(reason)}};
  if (!error.empty()) body["error"] = std::string(error);
  return {200, Dump(body)};
}

std::string Relay::DropNotice(int64_t* noted) {
  std::lock_guard<std::mutex> lock(mu_);
  *noted = unnoted_drops_;
  if (unnoted_drops_ == 0) return "";
  return absl::StrCat(unnoted_drops_, unnoted_drops_ == 1 ? " notification was" : " notifications were",
                      " dropped to stay within the robot limits since ",
                      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", first_unnoted_drop_, absl::UTCTimeZone()),
                      ": see Alertmanager for every alert.");
}

RelayReply Relay::Handle(std::string_view body) {
  std::string reason;
  absl::StatusOr<Notification> n = ParseNotification(body, &reason);
  if (!n.ok()) {
    CountRejected(reason);
    return {400, Dump({{"error", reason}, {"message", std::string(n.status().message())}})};
  }
  metrics_->received.Add({{"status", n->status}}).Increment();

  const Admission admission = budget_.Admit();
  if (options_.budget_limited) {
    metrics_->budget.Add({}).Set(static_cast<double>(budget_.remaining_this_month()));
  }
  switch (admission) {
    case Admission::kAdmitted: break;
    case Admission::kRateLimited: return Drop(kRateLimited, "", "");
    case Admission::kMonthlyBudget: return Drop(kMonthlyBudget, "", "");
    case Admission::kPaused: return Drop(kDingTalkThrottled, "", "");
  }

  int64_t noted = 0;
  const std::string notice = DropNotice(&noted);
  const RobotMarkdown message = RenderMarkdown(*n, options_.render, notice);
  const SendResult result = robot_.Send(message);
  if (result.outcome != SendOutcome::kSent) metrics_->errors.Add({{"errcode", result.error}}).Increment();
  switch (result.outcome) {
    case SendOutcome::kSent: {
      metrics_->sent.Increment();
      {
        std::lock_guard<std::mutex> lock(mu_);
        unnoted_drops_ = std::max<int64_t>(0, unnoted_drops_ - noted);
      }
      common::LogInfo("notification sent",
                      {{"status", n->status}, {"alerts", static_cast<int64_t>(n->alerts.size())},
                       {"text_bytes", static_cast<int64_t>(message.text.size())}});
      return {200, Dump({{"status", "sent"}})};
    }
    case SendOutcome::kTooFast:
      budget_.PauseFor(options_.too_fast_pause);
      return Drop(kDingTalkThrottled, result.error, result.errmsg);
    case SendOutcome::kRejected:
      return Drop(kDingTalkRejected, result.error, result.errmsg);
    case SendOutcome::kRetryable:
      break;
  }
  metrics_->retry.Increment();
  int64_t suppressed = 0;
  if (log_limiter_.Allow("retry", &suppressed)) {
    common::LogWarn("DingTalk robot unavailable; asking Alertmanager to retry",
                    {{"error", result.error}, {"errmsg", result.errmsg}, {"suppressed", suppressed}});
  }
  return {503, Dump({{"status", "retry"}, {"error", result.error}})};
}

}  // namespace sase::alert_relay

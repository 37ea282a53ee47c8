// Relay::Handle end to end in process: body in, answer and metrics out, DingTalk behind a fake
// transport, time on a fake clock.
#include "alert_relay/relay.h"

#include <prometheus/registry.h>

#include "alert_relay/testing/fake_transport.h"
#include "common/testing/fake_clock.h"
#include "dingtalk/error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using testing::FakeTransport;

std::string Payload(const std::string& status = "firing", const std::string& alertname = "ProcessDown") {
  json alert = {{"status", status},
                {"labels", {{"alertname", alertname}, {"instance", "sync-0:9461"}, {"severity", "critical"}}},
                {"annotations", {{"summary", "sync_worker is down"}}},
                {"startsAt", "2024-05-01T10:00:00Z"},
                {"endsAt", status == "resolved" ? "2024-05-01T10:05:00Z" : "0001-01-01T00:00:00Z"}};
  return json{{"version", "4"},
              {"status", status},
              {"receiver", "dingtalk"},
              {"groupLabels", {{"alertname", alertname}}},
              {"commonLabels", alert["labels"]},
              {"commonAnnotations", alert["annotations"]},
              {"externalURL", "http://alertmanager:9093"},
              {"alerts", json::array({alert})}}
      .dump();
}

class RelayTest : public ::testing::Test {
 protected:
  RelayTest()
      : robot_({.url = "https://robot.test/robot/send", .access_token = "tok", .secret = "SECx"}, transport_, clock_),
        budget_({.per_minute = 8, .burst = 10, .monthly_budget = 5000}, clock_),
        relay_({}, robot_, budget_, clock_, registry_) {}

  double Metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    for (const prometheus::MetricFamily& f : registry_.Collect()) {
      if (f.name != name) continue;
      for (const prometheus::ClientMetric& m : f.metric) {
        std::map<std::string, std::string> have;
        for (const prometheus::ClientMetric::Label& l : m.label) have[l.name] = l.value;
        if (have == labels) return f.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
      }
    }
    return -1;
  }
  json Body(const RelayReply& r) { return json::parse(r.body); }

  common::testing::FakeClock clock_;
  FakeTransport transport_;
  prometheus::Registry registry_;
  RobotClient robot_;
  SendBudget budget_;
  Relay relay_;
};

TEST_F(RelayTest, SendsFiringAndResolved) {
  RelayReply r = relay_.Handle(Payload("firing"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"status", "sent"}}));
  r = relay_.Handle(Payload("resolved"));
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_THAT(json::parse(transport_.requests[0].body)["markdown"]["title"].get<std::string>(),
              HasSubstr("[FIRING:1] ProcessDown"));
  EXPECT_THAT(json::parse(transport_.requests[1].body)["markdown"]["title"].get<std::string>(),
              HasSubstr("[RESOLVED] ProcessDown"));
  EXPECT_EQ(Metric("sase_alert_relay_notifications_received_total", {{"status", "firing"}}), 1);
  EXPECT_EQ(Metric("sase_alert_relay_notifications_received_total", {{"status", "resolved"}}), 1);
  EXPECT_EQ(Metric("sase_alert_relay_sent_total"), 2);
  EXPECT_EQ(Metric("sase_alert_relay_monthly_budget_remaining"), 4998);
}

TEST_F(RelayTest, BadInputIs400WithAReasonAndIsCounted) {
  RelayReply r = relay_.Handle("{");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error"], "bad_json");
  r = relay_.Handle(R"({"version":"4","status":"firing","alerts":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error"], "bad_payload");
  EXPECT_THAT(Body(r)["message"].get<std::string>(), HasSubstr("alerts"));
  relay_.CountRejected("too_large");
  EXPECT_EQ(Metric("sase_alert_relay_requests_rejected_total", {{"reason", "bad_json"}}), 1);
  EXPECT_EQ(Metric("sase_alert_relay_requests_rejected_total", {{"reason", "bad_payload"}}), 1);
  EXPECT_EQ(Metric("sase_alert_relay_requests_rejected_total", {{"reason", "too_large"}}), 1);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(RelayTest, AStormOfFiftySendsAtMostTwentyAndCountsTheRest) {
  int sent = 0;
  int dropped = 0;
  for (int i = 0; i < 50; ++i) {
    RelayReply r = relay_.Handle(Payload("firing", "Alert" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;  // never a failure for Alertmanager
    (Body(r)["status"] == "sent" ? sent : dropped)++;
    clock_.Advance(absl::Milliseconds(100));
  }
  EXPECT_EQ(sent, 10);  // the burst; 5 s is too short for a refill at 8 per minute
  EXPECT_EQ(dropped, 40);
  EXPECT_EQ(static_cast<int>(transport_.requests.size()), sent);
  EXPECT_EQ(Metric("sase_alert_relay_sent_total"), sent);
  EXPECT_EQ(Metric("sase_alert_relay_dropped_total", {{"reason", "rate_limited"}}), dropped);
  // The next message that goes says what was dropped.
  clock_.Advance(absl::Seconds(8));
  ASSERT_EQ(Body(relay_.Handle(Payload()))["status"], "sent");
  EXPECT_THAT(json::parse(transport_.requests.back().body)["markdown"]["text"].get<std::string>(),
              HasSubstr("40 notifications were dropped to stay within the robot limits since"));
  clock_.Advance(absl::Seconds(8));
  ASSERT_EQ(Body(relay_.Handle(Payload()))["status"], "sent");
  EXPECT_THAT(json::parse(transport_.requests.back().body)["markdown"]["text"].get<std::string>(),
              ::testing::Not(HasSubstr("dropped")));
}

TEST_F(RelayTest, TooFastFromDingTalkPausesSending) {
  transport_.Answer(R"({"errcode":410100,"errmsg":"send too fast, exceed 20 times per minute"})");
  RelayReply r = relay_.Handle(Payload());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"status", "dropped"}, {"reason", "dingtalk_throttled"}, {"error", "410100"}}));
  // Muted for 10 minutes: nothing is even tried.
  clock_.Advance(absl::Minutes(9));
  EXPECT_EQ(Body(relay_.Handle(Payload()))["reason"], "dingtalk_throttled");
  EXPECT_EQ(transport_.requests.size(), 1u);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Body(relay_.Handle(Payload()))["status"], "sent");
  EXPECT_EQ(Metric("sase_alert_relay_dropped_total", {{"reason", "dingtalk_throttled"}}), 2);
  EXPECT_EQ(Metric("sase_alert_relay_dingtalk_errors_total", {{"errcode", "410100"}}), 1);
}

TEST_F(RelayTest, ABadSignatureIsDroppedAndCountedNotRetried) {
  transport_.Answer(R"({"errcode":310000,"errmsg":"sign not match"})");
  RelayReply r = relay_.Handle(Payload());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"status", "dropped"}, {"reason", "dingtalk_rejected"}, {"error", "310000"}}));
  EXPECT_EQ(Metric("sase_alert_relay_dingtalk_errors_total", {{"errcode", "310000"}}), 1);
  EXPECT_EQ(Metric("sase_alert_relay_dropped_total", {{"reason", "dingtalk_rejected"}}), 1);
  EXPECT_EQ(Metric("sase_alert_relay_sent_total"), 0);
  // Not a rate-limit drop: the next message carries no drop note.
  ASSERT_EQ(Body(relay_.Handle(Payload()))["status"], "sent");
  EXPECT_THAT(json::parse(transport_.requests.back().body)["markdown"]["text"].get<std::string>(),
              ::testing::Not(HasSubstr("dropped")));
}

TEST_F(RelayTest, AnUnreachableDingTalkAsksAlertmanagerToRetry) {
  transport_.answers.push_back(dingtalk::MakeError(dingtalk::ApiError::kUnreachable, "transport error: timeout"));
  transport_.answers.push_back(dingtalk::HttpResponse{503, "text/html", "busy"});
  transport_.Answer(R"({"errcode":-1,"errmsg":"系统繁忙"})");
  for (const char* error : {"unreachable", "http_503", "-1"}) {
    RelayReply r = relay_.Handle(Payload());
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(Body(r), (json{{"status", "retry"}, {"error", error}}));
    EXPECT_EQ(Metric("sase_alert_relay_dingtalk_errors_total", {{"errcode", error}}), 1);
  }
  EXPECT_EQ(Metric("sase_alert_relay_upstream_retry_total"), 3);
  EXPECT_EQ(Metric("sase_alert_relay_sent_total"), 0);
  EXPECT_EQ(Metric("sase_alert_relay_dropped_total", {{"reason", "dingtalk_rejected"}}), 0);
}

TEST(RelayBudget, MonthlyBudgetDropsWithItsOwnReason) {
  common::testing::FakeClock clock;
  FakeTransport transport;
  prometheus::Registry registry;
  RobotClient robot({.url = "https://robot.test/robot/send", .access_token = "t", .secret = "s"}, transport, clock);
  SendBudget budget({.per_minute = 8, .burst = 10, .monthly_budget = 2}, clock);
  Relay relay({}, robot, budget, clock, registry);
  EXPECT_EQ(json::parse(relay.Handle(Payload()).body)["status"], "sent");
  EXPECT_EQ(json::parse(relay.Handle(Payload()).body)["status"], "sent");
  RelayReply r = relay.Handle(Payload());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json{{"status", "dropped"}, {"reason", "monthly_budget"}}));
  EXPECT_EQ(transport.requests.size(), 2u);
}

}  // namespace
}  // namespace sase::alert_relay

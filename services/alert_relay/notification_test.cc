// Parsing and checking Alertmanager's webhook payload (version 4).
#include "alert_relay/notification.h"

#include <functional>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;

// The shape Alertmanager 0.25 posts (notify/webhook/webhook.go).
json Payload() {
  return json::parse(R"({
    "receiver": "dingtalk",
    "status": "firing",
    "alerts": [{
      "status": "firing",
      "labels": {"alertname": "ProcessDown", "instance": "sync-0:9461", "job": "sync_worker", "severity": "critical"},
      "annotations": {"summary": "sync_worker is down", "runbook_url": "https://runbooks.example/process-down"},
      "startsAt": "2024-05-01T10:00:00.123Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
      "fingerprint": "c0ffee0123456789"
    }],
    "groupLabels": {"alertname": "ProcessDown"},
    "commonLabels": {"alertname": "ProcessDown", "instance": "sync-0:9461", "job": "sync_worker", "severity": "critical"},
    "commonAnnotations": {"summary": "sync_worker is down"},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": "{}:{alertname=\"ProcessDown\"}",
    "truncatedAlerts": 0
  })");
}

TEST(ParseNotification, ReadsEveryField) {
  std::string reason;
  absl::StatusOr<Notification> n = ParseNotification(Payload().dump(), &reason);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->version, "4");
  EXPECT_EQ(n->status, "firing");
  EXPECT_EQ(n->receiver, "dingtalk");
  EXPECT_EQ(n->group_key, "{}:{alertname=\"ProcessDown\"}");
  EXPECT_EQ(n->external_url, "http://alertmanager:9093");
  EXPECT_EQ(n->group_labels, (LabelSet{{"alertname", "ProcessDown"}}));
  EXPECT_EQ(n->common_labels.at("job"), "sync_worker");
  EXPECT_EQ(n->common_annotations.at("summary"), "sync_worker is down");
  ASSERT_EQ(n->alerts.size(), 1u);
  const Alert& a = n->alerts[0];
  EXPECT_EQ(a.status, "firing");
  EXPECT_EQ(a.labels.at("severity"), "critical");
  EXPECT_EQ(a.annotations.at("runbook_url"), "https://runbooks.example/process-down");
  EXPECT_EQ(a.starts_at, "2024-05-01T10:00:00.123Z");
  EXPECT_EQ(a.ends_at, "0001-01-01T00:00:00Z");
  EXPECT_EQ(a.fingerprint, "c0ffee0123456789");
  EXPECT_EQ(n->truncated_alerts, 0);
}

TEST(ParseNotification, OptionalFieldsMayBeMissingOrNull) {
  json p = Payload();
  p.erase("groupKey");
  p.erase("commonAnnotations");
  p["externalURL"] = nullptr;
  p.erase("truncatedAlerts");
  p["alerts"][0].erase("annotations");
  p["alerts"][0].erase("generatorURL");
  absl::StatusOr<Notification> n = ParseNotification(p.dump(), nullptr);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n->common_annotations.empty());
  EXPECT_TRUE(n->alerts[0].annotations.empty());
  EXPECT_EQ(n->external_url, "");
}

struct BadCase {
  std::string name;
  std::string body;
  std::string reason;
};

TEST(ParseNotification, RefusesBadInputWithAReason) {
  auto with = [](const std::function<void(json&)>& change) {
    json p = Payload();
    change(p);
    return p.dump();
  };
  const std::vector<BadCase> cases = {
      {"not json", "{\"status\":", std::string(kBadJson)},
      {"invalid utf-8", std::string("{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[],\"x\":\"\xff\"}"),
       std::string(kBadJson)},
      {"array", "[]", std::string(kBadPayload)},
      {"empty", "", std::string(kBadJson)},
      {"version 3", with([](json& p) { p["version"] = "3"; }), std::string(kUnsupportedVersion)},
      {"no version", with([](json& p) { p.erase("version"); }), std::string(kUnsupportedVersion)},
      {"version number", with([](json& p) { p["version"] = 4; }), std::string(kBadPayload)},
      {"status", with([](json& p) { p["status"] = "pending"; }), std::string(kBadPayload)},
      {"no alerts", with([](json& p) { p.erase("alerts"); }), std::string(kBadPayload)},
      {"alerts object", with([](json& p) { p["alerts"] = json::object(); }), std::string(kBadPayload)},
      {"alerts empty", with([](json& p) { p["alerts"] = json::array(); }), std::string(kBadPayload)},
      {"alert not object", with([](json& p) { p["alerts"][0] = "x"; }), std::string(kBadPayload)},
      {"alert status", with([](json& p) { p["alerts"][0]["status"] = 1; }), std::string(kBadPayload)},
      {"alert without labels", with([](json& p) { p["alerts"][0].erase("labels"); }), std::string(kBadPayload)},
      {"label not string", with([](json& p) { p["alerts"][0]["labels"]["x"] = 1; }), std::string(kBadPayload)},
      {"annotation object", with([](json& p) { p["alerts"][0]["annotations"]["x"] = json::object(); }),
       std::string(kBadPayload)},
      {"groupLabels array", with([](json& p) { p["groupLabels"] = json::array(); }), std::string(kBadPayload)},
      {"startsAt number", with([](json& p) { p["alerts"][0]["startsAt"] = 5; }), std::string(kBadPayload)},
      {"truncatedAlerts negative", with([](json& p) { p["truncatedAlerts"] = -1; }), std::string(kBadPayload)},
  };
  for (const BadCase& c : cases) {
    std::string reason;
    absl::StatusOr<Notification> n = ParseNotification(c.body, &reason);
    EXPECT_FALSE(n.ok()) << c.name;
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(reason, c.reason) << c.name << ": " << n.status();
    EXPECT_FALSE(n.status().message().empty()) << c.name;
  }
}

}  // namespace
}  // namespace sase::alert_relay

// The real alert_relay binary against the real simulator robot endpoint on loopback, driven with
// Alertmanager-format payloads: firing and resolved messages arrive signed and readable, a storm
// of 50 yields at most 20 messages with the rest counted as dropped (and the simulator never says
// "too fast"), wrong credentials are refused by the simulator and counted, bad input gets a 4xx,
// and the command line behaves like the other services'.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/subprocess.h"
#include "dingtalk_sim/sim_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "e2e-robot-token-7f3a";
constexpr char kSecret[] = "SECe2e0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

json Alert(const std::string& status, const std::string& alertname, const std::string& instance) {
  return {{"status", status},
          {"labels", {{"alertname", alertname}, {"instance", instance}, {"source", "demo-dingtalk"},
                      {"severity", "critical"}}},
          {"annotations", {{"summary", "sync_worker on " + instance + " is down"},
                           {"description", "up == 0 for 2 minutes; *check* the pod"},
                           {"runbook_url", "https://runbooks.example/process-down"}}},
          {"startsAt", "2024-05-01T10:00:00.000Z"},
          {"endsAt", status == "resolved" ? "2024-05-01T10:07:00.000Z" : "0001-01-01T00:00:00Z"},
          {"generatorURL", "http://prometheus:9090/graph?g0.expr=up"},
          {"fingerprint", "0123456789abcdef"}};
}

std::string Notification(const std::string& status, const std::string& alertname = "ProcessDown") {
  json alerts = json::array({Alert(status, alertname, "sync-0:9461"), Alert(status, alertname, "sync-1:9461")});
  return json{{"version", "4"},
              {"groupKey", "{}:{alertname=\"" + alertname + "\", source=\"demo-dingtalk\"}"},
              {"truncatedAlerts", 0},
              {"status", status},
              {"receiver", "dingtalk"},
              {"groupLabels", {{"alertname", alertname}, {"source", "demo-dingtalk"}}},
              {"commonLabels", {{"alertname", alertname}, {"source", "demo-dingtalk"}, {"severity", "critical"}}},
              {"commonAnnotations", {{"runbook_url", "https://runbooks.example/process-down"}}},
              {"externalURL", "http://alertmanager:9093"},
              {"alerts", alerts}}
      .dump();
}

struct Relay {
  std::unique_ptr<testing::Subprocess> proc;
  int http_port = -1;
  int metrics_port = -1;
};

class AlertRelayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dingtalk_sim::SimOptions opt;
    opt.generator = {.seed = 3, .users = 5, .departments = 2, .max_depth = 2};
    opt.threads = 4;
    opt.robot.access_token = kToken;
    opt.robot.secret = kSecret;
    auto sim = dingtalk_sim::SimServer::Start(opt);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    sim_client_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
    dir_ = absl::StrCat(::testing::TempDir(), "/alert_relay_e2e_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    token_file_ = Write("token", std::string(kToken) + "\n");
    secret_file_ = Write("secret", std::string(kSecret) + "\n");
  }
  void TearDown() override {
    for (Relay& r : relays_) r.proc.reset();
    if (sim_) sim_->Stop();
    std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }
  std::string RobotUrl() const { return absl::StrCat("http://127.0.0.1:", sim_->port(), "/robot/send"); }

  std::vector<std::string> Args(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {testing::BinaryPath("services/alert_relay/alert_relay"),
                                     "--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
                                     "--robot_url=" + RobotUrl(), "--robot_token_file=" + token_file_,
                                     "--robot_secret_file=" + secret_file_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  // Starts the relay and waits until it serves; later flags win over the defaults above.
  Relay& Start(const std::vector<std::string>& extra = {}) {
    Relay r;
    r.proc = std::make_unique<testing::Subprocess>(
        Args(extra), absl::StrCat(dir_, "/relay_", relays_.size(), ".log"));
    r.http_port = r.proc->WaitForLoggedInt("http_port");
    r.metrics_port = r.proc->WaitForLoggedInt("metrics_port");
    EXPECT_GT(r.http_port, 0) << r.proc->Log();
    EXPECT_GT(r.metrics_port, 0) << r.proc->Log();
    relays_.push_back(std::move(r));
    return relays_.back();
  }
  // Runs the binary to its end (it is expected to exit by itself); returns the exit status.
  int RunToExit(const std::vector<std::string>& argv, std::string* log) {
    testing::Subprocess proc(argv, absl::StrCat(dir_, "/run_", runs_++, ".log"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (proc.Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(proc.Running()) << "still running: " << proc.Log();
    const int status = proc.Stop();
    *log = proc.Log();
    return status;
  }

  httplib::Result Post(const Relay& r, const std::string& body) {
    httplib::Client c("127.0.0.1", r.http_port);
    c.set_read_timeout(10, 0);
    return c.Post("/alertmanager", body, "application/json");
  }
  json PostJson(const Relay& r, const std::string& body, int want_status) {
    httplib::Result res = Post(r, body);
    if (!res) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(res.error());
      return json();
    }
    EXPECT_EQ(res->status, want_status) << res->body;
    return json::parse(res->body, nullptr, false);
  }
  // A sample's value from the relay's /metrics, e.g. Metric(r, "sase_alert_relay_dropped_total",
  // "reason=\"rate_limited\""); -1 when absent.
  double Metric(const Relay& r, const std::string& name, const std::string& labels = "") {
    httplib::Client c("127.0.0.1", r.metrics_port);
    httplib::Result res = c.Get("/metrics");
    if (!res || res->status != 200) {
      ADD_FAILURE() << "cannot scrape /metrics";
      return -1;
    }
    const std::string prefix = labels.empty() ? name + " " : name + "{" + labels + "} ";
    size_t at = 0;
    while ((at = res->body.find(prefix, at)) != std::string::npos) {
      if (at == 0 || res->body[at - 1] == '\n') return std::stod(res->body.substr(at + prefix.size()));
      ++at;
    }
    return -1;
  }
  json Robot() {
    httplib::Result res = sim_client_->Get("/admin/robot/messages");
    if (!res) return json();
    return json::parse(res->body);
  }

  std::unique_ptr<dingtalk_sim::SimServer> sim_;
  std::unique_ptr<httplib::Client> sim_client_;
  std::string dir_, token_file_, secret_file_;
  std::deque<Relay> relays_;  // stable references
  int runs_ = 0;
};

TEST_F(AlertRelayE2E, FiringThenResolvedReachTheRobotSignedAndReadable) {
  Relay& r = Start();
  EXPECT_EQ(PostJson(r, Notification("firing"), 200), (json{{"status", "sent"}}));
  EXPECT_EQ(PostJson(r, Notification("resolved"), 200), (json{{"status", "sent"}}));

  json robot = Robot();
  ASSERT_EQ(robot["messages"].size(), 2u) << robot;
  EXPECT_EQ(robot["accepted"], 2);
  EXPECT_TRUE(robot["rejected"].empty()) << robot;
  const json& firing = robot["messages"][0];
  EXPECT_EQ(firing["msgtype"], "markdown");
  EXPECT_EQ(firing["title"], "[FIRING:2] ProcessDown demo-dingtalk");
  const std::string text = firing["text"];
  EXPECT_THAT(text, HasSubstr("**Severity:** critical"));
  EXPECT_THAT(text, HasSubstr("sync\\_worker on sync-0:9461 is down"));
  EXPECT_THAT(text, HasSubstr("up == 0 for 2 minutes; \\*check\\* the pod"));
  EXPECT_THAT(text, HasSubstr("[Runbook](https://runbooks.example/process-down)"));
  EXPECT_THAT(text, HasSubstr("[Alertmanager](http://alertmanager:9093)"));
  // The timestamp the relay signed is its clock's, within DingTalk's window.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EXPECT_LT(std::llabs(now_ms - firing["timestamp"].get<int64_t>()), 60 * 1000);
  EXPECT_EQ(robot["messages"][1]["title"], "[RESOLVED] ProcessDown demo-dingtalk");
  EXPECT_THAT(robot["messages"][1]["text"].get<std::string>(), HasSubstr("Resolved 2024-05-01 10:07:00 UTC"));

  EXPECT_EQ(Metric(r, "sase_alert_relay_sent_total"), 2);
  EXPECT_EQ(Metric(r, "sase_alert_relay_notifications_received_total", "status=\"firing\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_notifications_received_total", "status=\"resolved\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_monthly_budget_remaining"), 4998);
  // Neither the token nor the secret is ever logged.
  const std::string log = r.proc->Log();
  EXPECT_THAT(log, Not(HasSubstr(kToken)));
  EXPECT_THAT(log, Not(HasSubstr(kSecret)));
  EXPECT_THAT(log, HasSubstr("\"msg\":\"notification sent\""));
}

TEST_F(AlertRelayE2E, AStormOfFiftyYieldsAtMostTwentyAndCountsTheRestAsDropped) {
  // The relay's most generous setting: 10 at once, then 10 a minute (never more than 20 in any minute).
  Relay& r = Start({"--rate_burst=10", "--rate_per_minute=10"});
  std::vector<std::thread> senders;
  std::atomic<int> sent{0}, dropped{0}, other{0};
  for (int t = 0; t < 5; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        httplib::Result res = Post(r, Notification("firing", absl::StrCat("Storm", t, "_", i)));
        if (!res || res->status != 200) {
          ++other;
          continue;
        }
        const json body = json::parse(res->body);
        if (body["status"] == "sent") {
          ++sent;
        } else if (body["status"] == "dropped" && body["reason"] == "rate_limited") {
          ++dropped;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& s : senders) s.join();
  EXPECT_EQ(other.load(), 0);  // every notification was answered 2xx: Alertmanager never retries a storm
  EXPECT_EQ(sent + dropped, 50);
  EXPECT_LE(sent.load(), 20);
  EXPECT_GE(sent.load(), 10);  // the burst went out
  EXPECT_EQ(Metric(r, "sase_alert_relay_sent_total"), sent.load());
  EXPECT_EQ(Metric(r, "sase_alert_relay_dropped_total", "reason=\"rate_limited\""), dropped.load());
  EXPECT_EQ(Metric(r, "sase_alert_relay_notifications_received_total", "status=\"firing\""), 50);
  json robot = Robot();
  EXPECT_EQ(robot["accepted"], sent.load());
  EXPECT_FALSE(robot["rejected"].contains("410100")) << "the simulator saw more than 20 a minute: " << robot;
}

TEST_F(AlertRelayE2E, AWrongSecretIsRefusedBySimulatorAndCounted) {
  const std::string wrong = Write("wrong_secret", "SECnot-the-robots-secret\n");
  Relay& r = Start({"--robot_secret_file=" + wrong});
  EXPECT_EQ(PostJson(r, Notification("firing"), 200),
            (json{{"status", "dropped"}, {"reason", "dingtalk_rejected"}, {"error", "310000"}}));
  EXPECT_EQ(Metric(r, "sase_alert_relay_dingtalk_errors_total", "errcode=\"310000\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_dropped_total", "reason=\"dingtalk_rejected\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_sent_total"), 0);
  json robot = Robot();
  EXPECT_EQ(robot["accepted"], 0);
  EXPECT_EQ(robot["rejected"]["310000"], 1) << robot;
}

TEST_F(AlertRelayE2E, AWrongTokenIsRefusedBySimulatorAndCounted) {
  setenv("ALERT_RELAY_E2E_TOKEN", "not-the-robots-token", 1);
  Relay& r = Start({"--robot_token_file=", "--robot_token_env=ALERT_RELAY_E2E_TOKEN"});
  EXPECT_EQ(PostJson(r, Notification("firing"), 200)["error"], "300001");
  EXPECT_EQ(Metric(r, "sase_alert_relay_dingtalk_errors_total", "errcode=\"300001\""), 1);
  EXPECT_EQ(Robot()["rejected"]["300001"], 1);
}

TEST_F(AlertRelayE2E, BadInputGetsA4xxWithAReason) {
  Relay& r = Start({"--max_body_bytes=4096"});
  json bad = PostJson(r, "this is not json", 400);
  EXPECT_EQ(bad["error"], "bad_json");
  EXPECT_EQ(PostJson(r, R"({"version":"4","status":"firing"})", 400)["error"], "bad_payload");
  EXPECT_EQ(PostJson(r, R"({"version":"3","status":"firing","alerts":[]})", 400)["error"], "unsupported_version");
  httplib::Result big = Post(r, std::string(8192, ' ') + Notification("firing"));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"], "too_large");
  EXPECT_EQ(Metric(r, "sase_alert_relay_requests_rejected_total", "reason=\"bad_json\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_requests_rejected_total", "reason=\"bad_payload\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_requests_rejected_total", "reason=\"unsupported_version\""), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_requests_rejected_total", "reason=\"too_large\""), 1);
  EXPECT_EQ(Robot()["accepted"], 0);

  httplib::Client c("127.0.0.1", r.http_port);
  httplib::Result health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  httplib::Result get = c.Get("/alertmanager");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

TEST_F(AlertRelayE2E, AnUnreachableRobotAsksAlertmanagerToRetry) {
  const int closed = testing::FreePort();  // nothing listens there: the connect is refused
  Relay& r = Start({absl::StrCat("--robot_url=http://127.0.0.1:", closed, "/robot/send"), "--robot_timeout_ms=300"});
  json answer = PostJson(r, Notification("firing"), 503);
  EXPECT_EQ(answer, (json{{"status", "retry"}, {"error", "unreachable"}}));
  EXPECT_EQ(Metric(r, "sase_alert_relay_upstream_retry_total"), 1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_dingtalk_errors_total", "errcode=\"unreachable\""), 1);
}

TEST_F(AlertRelayE2E, HelpBadConfigAndATakenPort) {
  std::string log;
  EXPECT_EQ(RunToExit({testing::BinaryPath("services/alert_relay/alert_relay"), "--help"}, &log), 0);
  EXPECT_THAT(log, HasSubstr("robot_secret_file"));
  EXPECT_THAT(log, HasSubstr("rate_per_minute"));

  EXPECT_EQ(RunToExit(Args({"--rate_burst=15"}), &log), 2);  // 15 + 8 > 20
  EXPECT_THAT(log, HasSubstr("config key rate_burst"));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;  // one line

  EXPECT_EQ(RunToExit({testing::BinaryPath("services/alert_relay/alert_relay")}, &log), 2);
  EXPECT_THAT(log, HasSubstr("config key robot_token_file"));

  // The port of a running relay: both would bind with httplib's default SO_REUSEPORT and share it.
  Relay& first = Start();
  EXPECT_GT(RunToExit(Args({absl::StrCat("--listen_addr=127.0.0.1:", first.http_port)}), &log), 0);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"listen_addr\":\"127.0.0.1:", first.http_port, "\"")));
  EXPECT_THAT(log, Not(HasSubstr(kSecret)));
  EXPECT_GT(RunToExit(Args({absl::StrCat("--metrics_addr=127.0.0.1:", first.metrics_port)}), &log), 0);
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"metrics_addr\":\"127.0.0.1:", first.metrics_port, "\"")));
}

// The real Alertmanager (Debian's prometheus-alertmanager) running deploy/alertmanager/alertmanager.yml,
// with only the relay's URL and the waits shortened: grouping and both inhibitions, delivered
// through the relay to the simulator's robot.
TEST_F(AlertRelayE2E, AlertmanagerGroupsAndInhibitsThenTheRelayDelivers) {
  const std::string alertmanager = "/usr/bin/prometheus-alertmanager";
  ASSERT_TRUE(std::filesystem::exists(alertmanager))
      << "install prometheus-alertmanager (scripts/install_deps.sh): the deploy config is tested with it";
  Relay& r = Start();
  std::ifstream in(std::string(SASE_SOURCE_DIR) + "/deploy/alertmanager/alertmanager.yml");
  std::stringstream config;
  config << in.rdbuf();
  std::string yml = config.str();
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"http://alert_relay:8060/alertmanager", absl::StrCat("http://127.0.0.1:", r.http_port, "/alertmanager")},
      {"group_wait: 30s", "group_wait: 1s"},
      {"group_wait: 10s", "group_wait: 1s"},
      {"group_interval: 5m", "group_interval: 2s"}};
  for (const auto& [from, to] : edits) {
    const size_t at = yml.find(from);
    ASSERT_NE(at, std::string::npos) << "deploy/alertmanager/alertmanager.yml no longer has " << from;
    yml.replace(at, from.size(), to);
  }
  const std::string config_path = Write("alertmanager.yml", yml);
  const int am_port = testing::FreePort();
  testing::Subprocess am({alertmanager, "--config.file=" + config_path, "--storage.path=" + dir_ + "/am-data",
                          absl::StrCat("--web.listen-address=127.0.0.1:", am_port), "--cluster.listen-address=",
                          "--log.level=warn"},
                         dir_ + "/alertmanager.log");
  httplib::Client api("127.0.0.1", am_port);
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    httplib::Result res = api.Get("/-/ready");
    ready = res && res->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(ready) << am.Log();

  auto alert = [](const std::string& name, const std::string& severity, const std::string& instance,
                  const std::string& summary) {
    return json{{"labels", {{"alertname", name}, {"severity", severity}, {"instance", instance},
                            {"source", "demo-dingtalk"}}},
                {"annotations", {{"summary", summary}}}};
  };
  json alerts = json::array({
      alert("SaseProcessDown", "critical", "sync-0:9461", "sync_worker sync-0 is down"),
      // Inhibited by SaseProcessDown on the same instance.
      alert("SaseSyncRunFailed", "warning", "sync-0:9461", "a sync run failed on the dead pod"),
      // The warning is inhibited by the critical of the same alertname and source.
      alert("DingTalkThrottled", "critical", "sync-1:9461", "critical twin"),
      alert("DingTalkThrottled", "warning", "sync-1:9461", "warning twin"),
  });
  for (int i = 0; i < 10; ++i) {  // one group, one message
    alerts.push_back(alert("TokenRefreshFailing", "warning", absl::StrCat("sync-", i + 2, ":9461"), "token refresh"));
  }
  httplib::Result posted = api.Post("/api/v2/alerts", alerts.dump(), "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;

  auto wait_for = [this](size_t n) {
    json robot;
    for (int i = 0; i < 300; ++i) {
      robot = Robot();
      if (robot["messages"].size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return robot;
  };
  json robot = wait_for(3);
  // Every group waited 1 s; give an inhibition that failed time to show before judging.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  robot = Robot();
  std::map<std::string, std::string> by_title;
  for (const json& m : robot["messages"]) by_title[m["title"]] = m["text"];
  EXPECT_EQ(robot["messages"].size(), 3u) << robot.dump(1);
  EXPECT_EQ(by_title.size(), 3u) << robot.dump(1);
  EXPECT_TRUE(by_title.count("[FIRING:1] SaseProcessDown demo-dingtalk")) << robot.dump(1);
  EXPECT_TRUE(by_title.count("[FIRING:10] TokenRefreshFailing demo-dingtalk")) << robot.dump(1);
  ASSERT_TRUE(by_title.count("[FIRING:1] DingTalkThrottled demo-dingtalk")) << robot.dump(1);
  EXPECT_THAT(by_title["[FIRING:1] DingTalkThrottled demo-dingtalk"], HasSubstr("critical twin"));
  EXPECT_THAT(robot.dump(), Not(HasSubstr("warning twin")));
  EXPECT_THAT(robot.dump(), Not(HasSubstr("SaseSyncRunFailed")));

  // SaseProcessDown resolves: its group says so, and what it inhibited is let through.
  json resolved = json::array({alert("SaseProcessDown", "critical", "sync-0:9461", "sync_worker sync-0 is down")});
  resolved[0]["endsAt"] = absl::FormatTime(absl::RFC3339_full, absl::Now() - absl::Seconds(1), absl::UTCTimeZone());
  posted = api.Post("/api/v2/alerts", resolved.dump(), "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  robot = wait_for(5);
  by_title.clear();
  for (const json& m : robot["messages"]) by_title[m["title"]] = m["text"];
  EXPECT_TRUE(by_title.count("[RESOLVED] SaseProcessDown demo-dingtalk")) << robot.dump(1);
  EXPECT_TRUE(by_title.count("[FIRING:1] SaseSyncRunFailed demo-dingtalk")) << robot.dump(1);
  EXPECT_EQ(Metric(r, "sase_alert_relay_dropped_total", "reason=\"rate_limited\""), 0);
  EXPECT_TRUE(robot["rejected"].empty()) << robot;
  am.Stop();
}

}  // namespace
}  // namespace sase::alert_relay

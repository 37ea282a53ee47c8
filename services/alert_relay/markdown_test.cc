// Rendering of Alertmanager notifications into DingTalk robot markdown.
#include "alert_relay/markdown.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Alert MakeAlert(std::string status, LabelSet labels, LabelSet annotations = {}) {
  Alert a;
  a.status = std::move(status);
  a.labels = std::move(labels);
  a.annotations = std::move(annotations);
  a.starts_at = "2024-05-01T10:00:00.123+08:00";
  a.ends_at = a.status == "resolved" ? "2024-05-01T02:30:00Z" : "0001-01-01T00:00:00Z";
  return a;
}

Notification Firing() {
  Notification n;
  n.version = "4";
  n.status = "firing";
  n.external_url = "http://alertmanager.example:9093";
  n.group_labels = {{"alertname", "SyncRunFailed"}, {"source", "demo-dingtalk"}};
  n.common_labels = {{"alertname", "SyncRunFailed"}, {"source", "demo-dingtalk"}};
  n.common_annotations = {{"summary", "A full sync run failed"},
                          {"runbook_url", "https://runbooks.example/sync-run-failed"}};
  n.alerts = {MakeAlert("firing", {{"alertname", "SyncRunFailed"}, {"source", "demo-dingtalk"},
                                   {"severity", "warning"}, {"instance", "sync-0:9461"}},
                        {{"summary", "A full sync run failed"}, {"description", "run 42 failed: DingTalk throttled"}}),
              MakeAlert("firing", {{"alertname", "SyncRunFailed"}, {"source", "demo-dingtalk"},
                                   {"severity", "critical"}, {"instance", "sync-1:9461"}},
                        {{"summary", "A full sync run failed"}})};
  return n;
}

// nlohmann's strict dump throws on invalid UTF-8: the text must survive it.
bool ValidUtf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

TEST(RenderMarkdown, FiringTitleSeverityAndAlerts) {
  RobotMarkdown m = RenderMarkdown(Firing(), {});
  EXPECT_EQ(m.title, "[FIRING:2] SyncRunFailed demo-dingtalk");
  EXPECT_THAT(m.text, HasSubstr("### 🔴 \\[FIRING:2\\] SyncRunFailed demo-dingtalk\n"));
  EXPECT_THAT(m.text, HasSubstr("**Severity:** critical"));  // the highest of the alerts
  EXPECT_THAT(m.text, HasSubstr("**Group:** alertname=SyncRunFailed, source=demo-dingtalk"));
  EXPECT_THAT(m.text, HasSubstr("**Summary:** A full sync run failed"));
  EXPECT_THAT(m.text, HasSubstr("[Runbook](https://runbooks.example/sync-run-failed)"));
  EXPECT_THAT(m.text, HasSubstr("**Firing (2)**"));
  // The labels that tell the alerts apart, never the common ones again.
  EXPECT_THAT(m.text, HasSubstr("instance=sync-0:9461, severity=warning"));
  EXPECT_THAT(m.text, HasSubstr("instance=sync-1:9461, severity=critical"));
  EXPECT_THAT(m.text, HasSubstr("run 42 failed: DingTalk throttled"));
  EXPECT_THAT(m.text, HasSubstr("Since 2024-05-01 02:00:00 UTC"));
  EXPECT_THAT(m.text, HasSubstr("[Alertmanager](http://alertmanager.example:9093)"));
  EXPECT_THAT(m.text, Not(HasSubstr("Resolved")));
}

TEST(RenderMarkdown, ResolvedNotification) {
  Notification n = Firing();
  n.status = "resolved";
  for (Alert& a : n.alerts) {
    a.status = "resolved";
    a.ends_at = "2024-05-01T02:30:00Z";
  }
  RobotMarkdown m = RenderMarkdown(n, {});
  EXPECT_EQ(m.title, "[RESOLVED] SyncRunFailed demo-dingtalk");
  EXPECT_THAT(m.text, HasSubstr("### ✅ \\[RESOLVED\\]"));
  EXPECT_THAT(m.text, HasSubstr("**Resolved (2)**"));
  EXPECT_THAT(m.text, HasSubstr("Resolved 2024-05-01 02:30:00 UTC"));
  EXPECT_THAT(m.text, Not(HasSubstr("**Firing")));
}

TEST(RenderMarkdown, MixedNotificationListsFiringBeforeResolved) {
  Notification n = Firing();
  n.alerts[0].status = "resolved";
  n.alerts[0].ends_at = "2024-05-01T02:30:00Z";
  RobotMarkdown m = RenderMarkdown(n, {});
  EXPECT_EQ(m.title, "[FIRING:1] SyncRunFailed demo-dingtalk");
  const size_t firing = m.text.find("**Firing (1)**");
  const size_t resolved = m.text.find("**Resolved (1)**");
  ASSERT_NE(firing, std::string::npos);
  ASSERT_NE(resolved, std::string::npos);
  EXPECT_LT(firing, resolved);
}

TEST(RenderMarkdown, EscapesUntrustedText) {
  Notification n = Firing();
  n.common_annotations["summary"] = "disk *full* on [host](javascript:alert(1)) <script>x</script>\n# Heading";
  n.alerts[0].labels["path"] = "/var/lib_data|`rm`~";
  RobotMarkdown m = RenderMarkdown(n, {});
  EXPECT_THAT(m.text, HasSubstr("**Summary:** disk \\*full\\* on \\[host\\](javascript:alert(1)) "
                                "&lt;script&gt;x&lt;/script&gt; # Heading"));
  EXPECT_THAT(m.text, HasSubstr("path=/var/lib\\_data\\|\\`rm\\`\\~"));
  EXPECT_THAT(m.text, Not(HasSubstr("<script>")));
  EXPECT_THAT(m.text, Not(HasSubstr("\n# Heading")));
}

TEST(EscapeMarkdown, EscapesEachSpecialCharacter) {
  EXPECT_EQ(EscapeMarkdown("a\\b`c*d_e[f]g~h|i"), "a\\\\b\\`c\\*d\\_e\\[f\\]g\\~h\\|i");
  EXPECT_EQ(EscapeMarkdown("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;");
  EXPECT_EQ(EscapeMarkdown("a\nb\r\nc\td"), "a b  c d");
  EXPECT_EQ(EscapeMarkdown("中文 ok"), "中文 ok");
}

TEST(RenderMarkdown, RunbookOnlyLinksHttpUrls) {
  Notification n = Firing();
  n.common_annotations.erase("runbook_url");
  n.alerts[0].annotations["runbook_url"] = "javascript:alert(1)";
  n.alerts[1].annotations["runbook"] = "https://wiki.example/a_(b)";
  RobotMarkdown m = RenderMarkdown(n, {});
  EXPECT_THAT(m.text, HasSubstr("Runbook: javascript:alert(1)"));
  EXPECT_THAT(m.text, Not(HasSubstr("](javascript")));
  EXPECT_THAT(m.text, HasSubstr("[Runbook](https://wiki.example/a_%28b%29)"));
}

TEST(RenderMarkdown, RunbookTextThatIsNotAUrl) {
  Notification n = Firing();
  n.common_annotations.erase("runbook_url");
  n.common_annotations["runbook"] = "Check sync_worker's log for the run id";
  RobotMarkdown m = RenderMarkdown(n, {});
  EXPECT_THAT(m.text, HasSubstr("Runbook: Check sync\\_worker&#39;s log for the run id"));
}

TEST(RenderMarkdown, StaysWithinTheTextBoundAndCountsWhatWasLeftOut) {
  Notification n = Firing();
  n.alerts.clear();
  for (int i = 0; i < 300; ++i) {
    n.alerts.push_back(MakeAlert("firing", {{"alertname", "SyncRunFailed"}, {"instance", "sync-" + std::to_string(i)}},
                                 {{"summary", std::string(250, 'x')}, {"description", std::string(380, 'y')}}));
  }
  n.truncated_alerts = 12;
  for (size_t bound : {2000u, 4000u, 18000u}) {
    RobotMarkdown m = RenderMarkdown(n, {.max_text_bytes = bound});
    EXPECT_LE(m.text.size(), bound);
    EXPECT_THAT(m.text, HasSubstr("more alerts (see Alertmanager)"));
    EXPECT_THAT(m.text, HasSubstr("[Alertmanager]("));  // the footer survives
    EXPECT_THAT(m.text, HasSubstr("instance=sync-0"));   // at least the first alert
  }
  RobotMarkdown m = RenderMarkdown(n, {.max_text_bytes = 4000});
  size_t shown = 0;
  for (size_t pos = 0; (pos = m.text.find("\n- **", pos)) != std::string::npos; ++pos) ++shown;
  EXPECT_GT(shown, 0u);
  EXPECT_THAT(m.text, HasSubstr("… and " + std::to_string(300 - shown + 12) + " more alerts"));
  EXPECT_EQ(m.title, "[FIRING:300] SyncRunFailed demo-dingtalk");
}

TEST(RenderMarkdown, LongMultibyteFieldsAreCutOnCharacterBoundaries) {
  Notification n = Firing();
  std::string chinese;
  for (int i = 0; i < 400; ++i) chinese += "同步失败";
  n.common_annotations["summary"] = chinese;
  n.alerts[0].annotations["description"] = chinese;
  n.group_labels["source"] = chinese;
  RobotMarkdown m = RenderMarkdown(n, {.max_text_bytes = 2000});
  EXPECT_LE(m.text.size(), 2000u);
  EXPECT_LE(m.title.size(), 128u);
  EXPECT_TRUE(ValidUtf8(m.text));
  EXPECT_TRUE(ValidUtf8(m.title));
  EXPECT_THAT(m.text, HasSubstr("…"));
}

TEST(RenderMarkdown, NoticeIsShownAndCounted) {
  RobotMarkdown m = RenderMarkdown(Firing(), {}, "3 notifications were dropped");
  EXPECT_THAT(m.text, HasSubstr("> 3 notifications were dropped\n"));
}

TEST(TruncateUtf8, CutsOnBoundaries) {
  EXPECT_EQ(TruncateUtf8("hello", 10), "hello");
  EXPECT_EQ(TruncateUtf8("hello world", 8), "hello…");
  const std::string s = "ab同步";  // 2 + 3 + 3 bytes
  EXPECT_EQ(TruncateUtf8(s, 8), s);
  EXPECT_EQ(TruncateUtf8(s, 7), "ab…");  // "ab同" would need 5 + 3 bytes
  for (size_t bound = 0; bound <= s.size() + 1; ++bound) {
    const std::string t = TruncateUtf8(s, bound);
    EXPECT_LE(t.size(), bound) << bound;
    EXPECT_TRUE(ValidUtf8(t)) << bound;
  }
}

TEST(RenderMarkdown, UnparseableTimesAreShownBoundedAndNoExternalUrlNoLink) {
  Notification n = Firing();
  n.external_url = "not a url";
  n.alerts[0].starts_at = "yesterday";
  RobotMarkdown m = RenderMarkdown(n, {});
  EXPECT_THAT(m.text, HasSubstr("Since yesterday"));
  EXPECT_THAT(m.text, Not(HasSubstr("[Alertmanager]")));
}

}  // namespace
}  // namespace sase::alert_relay

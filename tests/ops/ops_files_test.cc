// The operations files: promtool accepts the Prometheus configuration and rules and their unit
// tests pass; the tests cover every alert firing and not firing; every alert says what it means and
// what to do; the Grafana files parse and every panel uses the provisioned datasource; the scrape
// targets use the metrics ports the binaries listen on by default.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/testing/subprocess.h"
#include "ops/ops_checks.h"

namespace sase::ops {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string SourceDir() {
  const char* dir = std::getenv("SASE_SOURCE_DIR");
  return dir != nullptr ? dir : SASE_SOURCE_DIR;
}
std::string PrometheusDir() { return SourceDir() + "/deploy/prometheus"; }
std::string GrafanaDir() { return SourceDir() + "/deploy/grafana"; }

// promtool comes with Debian's `prometheus` package (scripts/install_deps.sh installs it): in CI
// its absence is a failure, locally a skip.
#define SASE_REQUIRE_PROMTOOL(var)                                                                   \
  std::string var;                                                                                   \
  do {                                                                                               \
    std::optional<std::string> found = FindOnPath("promtool");                                       \
    if (!found.has_value()) {                                                                        \
      if (std::getenv("CI") != nullptr) FAIL() << "promtool not found on PATH (Debian package prometheus)"; \
      GTEST_SKIP() << "promtool not found on PATH: install the Debian package prometheus "          \
                      "(scripts/install_deps.sh does)";                                            \
    }                                                                                                \
    var = *found;                                                                                    \
  } while (false)

std::vector<std::string> RuleFiles() { return ListFiles(PrometheusDir() + "/rules", ".yml"); }
std::vector<std::string> RuleTestFiles() { return ListFiles(PrometheusDir() + "/tests", ".yml"); }

TEST(PrometheusFilesTest, PromtoolAcceptsTheConfiguration) {
  SASE_REQUIRE_PROMTOOL(promtool);
  CommandResult r = RunCommand({promtool, "check", "config", PrometheusDir() + "/prometheus.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is valid prometheus config file"));
  // Every rule file is loaded by the configuration (rule_files: rules/*.yml).
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("SUCCESS: ", RuleFiles().size(), " rule files found"))) << r.output;
}

// promtool's count of rules per file equals what ParseRuleFile reads: no rule escapes the checks
// below and the metric check (tests/ops/ops_metrics_exported_pgtest.cc) through the YAML subset.
TEST(PrometheusFilesTest, PromtoolAcceptsEveryRuleFileAndTheReaderSeesEveryRule) {
  SASE_REQUIRE_PROMTOOL(promtool);
  ASSERT_THAT(RuleFiles(), Not(IsEmpty()));
  for (const std::string& file : RuleFiles()) {
    CommandResult r = RunCommand({promtool, "check", "rules", file});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.output, m, std::regex("SUCCESS: ([0-9]+) rules found"))) << r.output;
    absl::StatusOr<std::vector<Rule>> rules = ParseRuleFile(ReadFile(file));
    ASSERT_TRUE(rules.ok()) << file << ": " << rules.status();
    EXPECT_EQ(rules->size(), std::stoul(m[1].str())) << file;
  }
}

TEST(PrometheusFilesTest, PromtoolRuleUnitTestsPass) {
  SASE_REQUIRE_PROMTOOL(promtool);
  std::vector<std::string> argv = {promtool, "test", "rules"};
  for (const std::string& f : RuleTestFiles()) argv.push_back(f);
  ASSERT_GT(argv.size(), 3u);
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("FAILED"))) << r.output;
}

std::vector<Rule> AllRules() {
  std::vector<Rule> all;
  for (const std::string& file : RuleFiles()) {
    absl::StatusOr<std::vector<Rule>> rules = ParseRuleFile(ReadFile(file));
    EXPECT_TRUE(rules.ok()) << file << ": " << rules.status();
    if (rules.ok()) all.insert(all.end(), rules->begin(), rules->end());
  }
  return all;
}

// promtool passes a case that names an alert no rule has (with exp_alerts: []) and does not ask
// for both outcomes: this does.
TEST(PrometheusFilesTest, EveryAlertIsTestedFiringAndNotFiring) {
  std::set<std::string> alerts;
  for (const Rule& r : AllRules()) {
    if (r.alert) alerts.insert(r.name);
  }
  ASSERT_THAT(alerts, Not(IsEmpty()));
  std::map<std::string, int> firing, quiet;
  for (const std::string& file : RuleTestFiles()) {
    absl::StatusOr<std::vector<AlertCase>> cases = ParseAlertCases(ReadFile(file));
    ASSERT_TRUE(cases.ok()) << file << ": " << cases.status();
    for (const AlertCase& c : *cases) {
      EXPECT_TRUE(alerts.contains(c.alertname)) << file << ": a case for " << c.alertname << ", which no rule defines";
      ++(c.fires ? firing : quiet)[c.alertname];
    }
  }
  for (const std::string& a : alerts) {
    EXPECT_GT(firing[a], 0) << a << " has no test case where it fires";
    EXPECT_GT(quiet[a], 0) << a << " has no test case where it stays quiet";
  }
}

TEST(PrometheusFilesTest, EveryAlertHasASeverityAndSaysWhatItMeansAndWhatToDo) {
  int alerts = 0;
  for (const Rule& r : AllRules()) {
    if (!r.alert) {
      EXPECT_TRUE(IsRecordingRuleName(r.name)) << r.name << ": recording rules are named level:metric:operations";
      continue;
    }
    ++alerts;
    EXPECT_THAT(r.name, ::testing::StartsWith("Sase"));
    const std::string severity = r.labels.contains("severity") ? r.labels.at("severity") : "";
    EXPECT_TRUE(severity == "critical" || severity == "warning") << r.name << ": severity '" << severity << "'";
    for (const char* key : {"summary", "description", "runbook"}) {
      EXPECT_TRUE(r.annotations.contains(key) && !r.annotations.at(key).empty()) << r.name << " has no " << key;
    }
    if (r.annotations.contains("runbook")) {
      EXPECT_THAT(r.annotations.at("runbook"), HasSubstr("Means:")) << r.name;
      EXPECT_THAT(r.annotations.at("runbook"), HasSubstr("Do")) << r.name;
    }
  }
  EXPECT_GT(alerts, 0);
}

// --- Grafana ---------------------------------------------------------------------------------

// The uid of deploy/grafana/provisioning/datasources/datasource.yml (one Prometheus datasource).
std::string ProvisionedUid() {
  const std::string yml = ReadFile(GrafanaDir() + "/provisioning/datasources/datasource.yml");
  std::vector<std::string> uids, types;
  std::smatch m;
  for (auto it = yml.cbegin(); std::regex_search(it, yml.cend(), m, std::regex(R"((?:^|\n)\s*(?:- )?uid:\s*(\S+))"));
       it = m[0].second) {
    uids.push_back(m[1].str());
  }
  for (auto it = yml.cbegin(); std::regex_search(it, yml.cend(), m, std::regex(R"((?:^|\n)\s*(?:- )?type:\s*(\S+))"));
       it = m[0].second) {
    types.push_back(m[1].str());
  }
  EXPECT_EQ(uids.size(), 1u) << "one datasource with a fixed uid: " << absl::StrJoin(uids, ",");
  EXPECT_EQ(types, std::vector<std::string>{"prometheus"});
  return uids.empty() ? "" : uids[0];
}

TEST(GrafanaFilesTest, ProvisioningNamesOneDatasourceAndTheDashboardDirectory) {
  EXPECT_EQ(ProvisionedUid(), "sase-prometheus");
  const std::string providers = ReadFile(GrafanaDir() + "/provisioning/dashboards/dashboards.yml");
  EXPECT_THAT(providers, HasSubstr("apiVersion: 1"));
  EXPECT_THAT(providers, HasSubstr("type: file"));
  EXPECT_THAT(providers, HasSubstr("path: /var/lib/grafana/dashboards"));
}

TEST(GrafanaFilesTest, DashboardsParseAndUseOnlyTheProvisionedDatasource) {
  const std::string uid = ProvisionedUid();
  const std::vector<std::string> files = ListFiles(GrafanaDir() + "/dashboards", ".json");
  ASSERT_THAT(files, Not(IsEmpty()));
  std::set<std::string> dashboard_uids;
  for (const std::string& file : files) {
    nlohmann::json d = nlohmann::json::parse(ReadFile(file), nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(d.is_discarded()) << file << " is not JSON";
    ASSERT_TRUE(d.is_object()) << file;
    EXPECT_TRUE(d.contains("uid") && d["uid"].is_string() && dashboard_uids.insert(d["uid"]).second)
        << file << ": a fixed, unique dashboard uid";
    EXPECT_TRUE(d.contains("title") && d["title"].is_string()) << file;
    EXPECT_THAT(DatasourceProblems(d, uid), IsEmpty()) << file;
    EXPECT_THAT(DashboardExprs(d), Not(IsEmpty())) << file;
    std::set<int> ids;
    std::vector<nlohmann::json> stack(d["panels"].begin(), d["panels"].end());
    while (!stack.empty()) {
      nlohmann::json p = stack.back();
      stack.pop_back();
      ASSERT_TRUE(p.contains("id") && p["id"].is_number_integer()) << file << ": " << p.dump();
      EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << file << ": panel id " << p["id"] << " twice";
      EXPECT_TRUE(p.contains("gridPos")) << file << ": panel " << p["id"];
      if (p.contains("panels")) stack.insert(stack.end(), p["panels"].begin(), p["panels"].end());
    }
  }
}

// --- Scrape targets --------------------------------------------------------------------------

// The default port of --metrics_addr from `<binary> --help`.
std::string DefaultMetricsPort(const std::string& binary) {
  CommandResult r = RunCommand({testing::BinaryPath(binary), "--help"});
  std::smatch m;
  if (!std::regex_search(r.output, m, std::regex(R"(--metrics_addr \(env SASE_METRICS_ADDR\) default [^ \n]*:([0-9]+))"))) {
    ADD_FAILURE() << binary << " --help names no --metrics_addr default:\n" << r.output;
    return "";
  }
  return m[1].str();
}

TEST(PrometheusFilesTest, ScrapeTargetsUseTheBinariesMetricsPorts) {
  const std::string config = ReadFile(PrometheusDir() + "/prometheus.yml");
  const std::map<std::string, std::string> jobs = {{"sync_worker", "services/sync_worker/sync_worker"},
                                                   {"directory", "services/directory/directory"},
                                                   {"ingress", "services/ingress/ingress"}};
  for (const auto& [job, binary] : jobs) {
    const std::string port = DefaultMetricsPort(binary);
    ASSERT_FALSE(port.empty());
    // job_name: <job>, then (before the next job) its target <job>:<port>.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(config, m, std::regex("job_name: " + job + "\\n([\\s\\S]*?)(job_name:|$)")))
        << "no scrape job " << job;
    EXPECT_THAT(m[1].str(), HasSubstr(absl::StrCat("\"", job, ":", port, "\""))) << "job " << job;
  }
  EXPECT_THAT(config, HasSubstr("\"alertmanager:9093\""));
}

}  // namespace
}  // namespace sase::ops

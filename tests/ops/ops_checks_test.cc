#include "ops/ops_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sase::ops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Names(std::string_view promql) {
  absl::StatusOr<std::vector<MetricRef>> refs = MetricRefs(promql);
  EXPECT_TRUE(refs.ok()) << refs.status();
  std::vector<std::string> out;
  if (refs.ok()) {
    for (const MetricRef& r : *refs) out.push_back(r.name);
  }
  return out;
}

TEST(MetricRefsTest, SkipsFunctionsAggregationsAndLabelLists) {
  EXPECT_THAT(Names("histogram_quantile(0.99, sum by (job, method, le) (rate(sase_x_bucket[5m])))"),
              ElementsAre("sase_x_bucket"));
  EXPECT_THAT(Names("sum(rate(a_total[5m])) without (instance) / on (job) group_left (version) b"),
              ElementsAre("a_total", "b"));
  EXPECT_THAT(Names("count by(job)(up) > bool 0 and on() vector(1) unless ignoring(x) c offset 5m"),
              ElementsAre("up", "c"));
  EXPECT_THAT(Names("topk(3, x) or absent(y) AND z UNLESS w"), ElementsAre("x", "y", "z", "w"));
  EXPECT_THAT(Names("time() - max(max_over_time(g[7d])) > 2 * 86400"), ElementsAre("g"));
  EXPECT_THAT(Names("recording:metric:rate5m{job=\"d\"} > 1e-3 and m > 0x1F and n > Inf"),
              ElementsAre("recording:metric:rate5m", "m", "n"));
}

TEST(MetricRefsTest, SkipsMatchersStringsSubqueriesAndGrafanaVariables) {
  EXPECT_THAT(Names(R"q(a{x="sum(b)", y=~"c|d", z!~'e\'f', w!=`g}h`} @ start())q"), ElementsAre("a"));
  EXPECT_THAT(Names(R"q(label_replace(m, "dst", "$1", "src", "(.*)"))q"), ElementsAre("m"));
  EXPECT_THAT(Names("max_over_time(rate(q[5m])[1h:1m] offset -1d)"), ElementsAre("q"));
  EXPECT_THAT(Names("rate(r[$__rate_interval]) * $scale + ${factor:raw}"), ElementsAre("r"));
  EXPECT_THAT(Names("# a comment naming not_a_metric\ns1 # another one\n+ s2"), ElementsAre("s1", "s2"));
  EXPECT_THAT(Names("sum(x) by (le)"), ElementsAre("x"));
  EXPECT_THAT(Names("1 + 2.5 * .5"), IsEmpty());
}

TEST(MetricRefsTest, ReadsTheJobOfAnEqualityMatcher) {
  absl::StatusOr<std::vector<MetricRef>> refs =
      MetricRefs(R"q(a{method="m", job="directory"} / b{job=~"directory|ingress"} + c{job!="x"} + d {job = "ingress"})q");
  ASSERT_TRUE(refs.ok()) << refs.status();
  EXPECT_THAT(*refs, ElementsAre(MetricRef{"a", "directory"}, MetricRef{"b", ""}, MetricRef{"c", ""},
                                 MetricRef{"d", "ingress"}));
}

TEST(MetricRefsTest, RefusesWhatItCannotCheck) {
  EXPECT_THAT(MetricRefs(R"q({__name__=~"sase_.*"})q").status().message(), HasSubstr("without a metric name"));
  EXPECT_THAT(MetricRefs(R"q(x{__name__="y"})q").status().message(), HasSubstr("__name__"));
  EXPECT_FALSE(MetricRefs(R"q(x{a="b)q").ok());
  EXPECT_FALSE(MetricRefs("rate(x[5m)").ok());
  EXPECT_FALSE(MetricRefs("x{a}").ok());
}

constexpr char kRules[] = R"q(groups:
  - name: g
    rules:
      - record: level:m:rate5m
        expr: sum(rate(m_total[5m]))  # a comment
      - alert: One
        expr: |
          level:m:rate5m > 1
          and on () n
        for: 5m
        labels:
          severity: warning
          expr: not-an-expr
        annotations:
          summary: "one {{ $labels.job }}"
          description: 'it''s one'
          runbook: plain text
            continued
  - name: h
    rules:
      - alert: "Two"
        expr: >-
          o
          > 2
)q";

TEST(ParseRuleFileTest, ReadsRecordsAlertsExprsAndAnnotations) {
  absl::StatusOr<std::vector<Rule>> rules = ParseRuleFile(kRules);
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 3u);
  EXPECT_EQ((*rules)[0].name, "level:m:rate5m");
  EXPECT_FALSE((*rules)[0].alert);
  EXPECT_EQ((*rules)[0].expr, "sum(rate(m_total[5m]))");
  EXPECT_EQ((*rules)[1].name, "One");
  EXPECT_TRUE((*rules)[1].alert);
  EXPECT_EQ((*rules)[1].expr, "level:m:rate5m > 1\nand on () n");
  EXPECT_EQ((*rules)[1].annotations.at("summary"), "one {{ $labels.job }}");
  EXPECT_EQ((*rules)[1].annotations.at("description"), "it's one");
  EXPECT_EQ((*rules)[1].annotations.at("runbook"), "plain text continued");
  EXPECT_EQ((*rules)[1].annotations.size(), 3u);
  EXPECT_EQ((*rules)[1].labels, (std::map<std::string, std::string>{{"severity", "warning"}, {"expr", "not-an-expr"}}));
  EXPECT_EQ((*rules)[2].name, "Two");
  EXPECT_EQ((*rules)[2].expr, "o > 2");
}

TEST(ParseRuleFileTest, RefusesARuleWithoutOrWithTwoExprs) {
  EXPECT_THAT(ParseRuleFile("groups:\n  - name: g\n    rules:\n      - alert: A\n        for: 5m\n").status().message(),
              HasSubstr("A has no expr"));
  EXPECT_THAT(ParseRuleFile("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: a\n        expr: b\n")
                  .status()
                  .message(),
              HasSubstr("second expr"));
  EXPECT_FALSE(ParseRuleFile("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: \"a\n").ok());
}

constexpr char kTests[] = R"q(rule_files: [r.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'x{a="b"}'
        values: '1x10'
    promql_expr_test:
      - expr: x
        eval_time: 1m
        exp_samples: [{labels: 'x{a="b"}', value: 1}]
    alert_rule_test:
      - eval_time: 3m  # pending
        alertname: A
        exp_alerts: []
      - eval_time: 5m
        alertname: A
        exp_alerts:
          - exp_labels: {severity: critical}
            exp_annotations:
              summary: "s"
      - alertname: B
        eval_time: 5m
      - alertname: C
        eval_time: 5m
        exp_alerts: [{exp_labels: {a: b}}]
  - interval: 1m
    alert_rule_test:
      - eval_time: 1m
        alertname: D
        exp_alerts:
)q";

TEST(ParseAlertCasesTest, TellsFiringCasesFromQuietOnes) {
  absl::StatusOr<std::vector<AlertCase>> cases = ParseAlertCases(kTests);
  ASSERT_TRUE(cases.ok()) << cases.status();
  std::vector<std::string> got;
  for (const AlertCase& c : *cases) got.push_back(c.alertname + "@" + c.eval_time + (c.fires ? ":fires" : ":quiet"));
  EXPECT_THAT(got, ElementsAre("A@3m:quiet", "A@5m:fires", "B@5m:quiet", "C@5m:fires", "D@1m:quiet"));
}

TEST(ExportedNamesTest, ExpandsHistogramsAndSummaries) {
  constexpr char kScrape[] = R"q(# HELP h_seconds latency
# TYPE h_seconds histogram
h_seconds_count 0
h_seconds_sum 0
# TYPE s summary
# TYPE c_total counter
c_total{a="b"} 3
# TYPE empty_family counter
untyped_sample 1
)q";
  EXPECT_THAT(ExportedNames(kScrape),
              UnorderedElementsAre("h_seconds_bucket", "h_seconds_sum", "h_seconds_count", "s", "s_sum", "s_count",
                                   "c_total", "empty_family", "untyped_sample"));
}

nlohmann::json Dashboard(const std::string& uid, const std::string& expr) {
  nlohmann::json ds = {{"type", "prometheus"}, {"uid", uid}};
  return {{"panels",
           {{{"id", 1}, {"type", "row"}, {"title", "r"}, {"panels", nlohmann::json::array()}},
            {{"id", 2},
             {"type", "timeseries"},
             {"title", "t"},
             {"datasource", ds},
             {"targets", {{{"refId", "A"}, {"datasource", ds}, {"expr", expr}}}}},
            {{"id", 3},
             {"type", "row"},
             {"collapsed", true},
             {"panels",
              {{{"id", 4},
                {"type", "stat"},
                {"title", "nested"},
                {"datasource", ds},
                {"targets", {{{"refId", "A"}, {"datasource", ds}, {"expr", "nested_metric"}}}}}}}}}}};
}

TEST(DashboardTest, FindsNestedExprsAndForeignDatasources) {
  EXPECT_THAT(DashboardExprs(Dashboard("u", "rate(a[5m])")), ElementsAre("rate(a[5m])", "nested_metric"));
  EXPECT_THAT(DatasourceProblems(Dashboard("u", "a"), "u"), IsEmpty());
  EXPECT_EQ(DatasourceProblems(Dashboard("other", "a"), "u").size(), 4u);  // 2 panels + 2 targets

  nlohmann::json d = Dashboard("u", "a");
  d["panels"][1]["targets"][0].erase("datasource");
  d["panels"][2]["panels"][0]["datasource"] = "${DS_PROMETHEUS}";
  d["templating"]["list"] = {{{"name", "job"}, {"type", "query"}, {"query", "label_values(up, job)"}}};
  std::vector<std::string> problems = DatasourceProblems(d, "u");
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("placeholder")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("panel 2 \"t\" target A")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("panel 4 \"nested\": datasource")));
  EXPECT_THAT(problems, ::testing::Contains(HasSubstr("templating variable job")));
}

TEST(UnexportedNamesTest, NamesWhatNoBinaryExports) {
  const std::map<std::string, std::set<std::string>> exported = {{"sync_worker", {"sw_total", "shared"}},
                                                                 {"directory", {"dir_seconds_bucket", "shared"}}};
  const std::set<std::string> recorded = {"level:sw:rate5m"};
  const std::set<std::string> prometheus = {"up"};
  EXPECT_THAT(UnexportedNames({{"ok", "rate(sw_total[5m]) + level:sw:rate5m + up{job=\"x\"} + shared{job=\"directory\"}"}},
                              exported, recorded, prometheus),
              IsEmpty());
  EXPECT_THAT(UnexportedNames({{"a.yml: Bogus", "rate(sase_bogus_total[5m]) > 0"},
                               {"b.json: panel", "level:missing:rate5m"},
                               {"c", "sw_total{job=\"directory\"}"},
                               {"d", "dir_seconds_bucket{job=\"nope\"}"},
                               {"e", "{__name__=\"sw_total\"}"}},
                              exported, recorded, prometheus),
              ElementsAre(HasSubstr("a.yml: Bogus: sase_bogus_total is exported by no binary"),
                          HasSubstr("b.json: panel: no rule records level:missing:rate5m"),
                          HasSubstr("c: sw_total is not exported by directory"),
                          HasSubstr("d: dir_seconds_bucket{job=\"nope\"}: no binary is scraped as job nope"),
                          HasSubstr("e: cannot read the expression")));
}

TEST(RunCommandTest, ReturnsExitCodeAndOutput) {
  CommandResult r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.output, HasSubstr("out"));
  EXPECT_THAT(r.output, HasSubstr("err"));
  EXPECT_EQ(RunCommand({"/nonexistent/binary"}).exit_code, 127);
}

}  // namespace
}  // namespace sase::ops

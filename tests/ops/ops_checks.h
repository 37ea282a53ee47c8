#pragma once
// Checks of the operations files (deploy/prometheus/, deploy/grafana/) shared by the ops tests:
// the metric names a PromQL expression reads, the rules of a Prometheus rule file, the alert cases
// of a `promtool test rules` file, the metric names of a /metrics exposition, and the expressions
// and datasources of a Grafana dashboard.
//
// No YAML library is a dependency of the project, so the YAML readers here understand the subset
// the files in deploy/ are written in (block mappings and sequences, `key: value`, `|`/`>` block
// scalars, one-line quoted scalars). The ops tests cross-check what they read with promtool's own
// count of rules, so a construct they do not understand fails a test instead of going unchecked.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace sase::ops {

// One vector selector of an expression: `sase_x{job="directory"}` → {"sase_x", "directory"}.
struct MetricRef {
  std::string name;
  std::string job;  // value of an equality matcher job="..."; empty when there is none
  bool operator==(const MetricRef&) const = default;
};

// The metric names an expression selects, in order of appearance. Skips function and aggregation
// names, keywords (by, without, on, ignoring, group_left, group_right, and, or, unless, bool,
// offset, ...), label lists after by/without/on/ignoring/group_*, label matchers, range and
// subquery brackets, strings, numbers and durations, comments and Grafana variables ($var,
// ${var}, $__rate_interval). A selector without a metric name ({__name__=~"..."} or {job="x"})
// is an error: its metrics cannot be checked.
absl::StatusOr<std::vector<MetricRef>> MetricRefs(std::string_view promql);

// Recording-rule names contain a colon (level:metric:operations); exported metrics never do.
bool IsRecordingRuleName(std::string_view name);

struct Rule {
  std::string name;  // the alert or record name
  bool alert = false;
  std::string expr;
  int line = 0;                          // 1-based line of `- alert:` / `- record:`
  std::map<std::string, std::string> labels;       // alerts: key → raw text
  std::map<std::string, std::string> annotations;  // alerts: key → raw text (not rendered)
};

// The rules of a Prometheus rule file. Errors when a rule has no expr, two exprs, or an expr the
// reader cannot take apart.
absl::StatusOr<std::vector<Rule>> ParseRuleFile(std::string_view yaml);

// One `alert_rule_test` case of a promtool test file.
struct AlertCase {
  std::string alertname;
  std::string eval_time;
  bool fires = false;  // exp_alerts lists at least one alert (false: `exp_alerts: []` or absent)
};
absl::StatusOr<std::vector<AlertCase>> ParseAlertCases(std::string_view yaml);

// Every metric name a /metrics exposition (Prometheus text format) offers: sample names, and for
// `# TYPE x histogram` x_bucket, x_sum and x_count, for summaries x, x_sum and x_count.
std::set<std::string> ExportedNames(std::string_view exposition);

// Every PromQL expression of a Grafana dashboard: targets[].expr of every panel, rows' nested
// panels included. (Templating queries such as label_values() are not PromQL: DatasourceProblems
// refuses query variables so that no expression escapes the metric check.)
std::vector<std::string> DashboardExprs(const nlohmann::json& dashboard);

// Problems with the datasources of a dashboard: every panel that has targets, every target and
// every annotation must name the datasource `uid` (a {"type","uid"} object); no "${DS_...}"
// export placeholders or __inputs, no templating query variables. Empty when all is well.
std::vector<std::string> DatasourceProblems(const nlohmann::json& dashboard, const std::string& uid);

// Names read by `exprs` that nothing offers: a recording-rule name no rule records, a metric no
// binary exports, or one the binary of its job="..." matcher does not export. `exported` maps a
// job (sync_worker, directory, ingress) to what its binary exports; `prometheus_names` are series
// Prometheus makes itself (up). Each problem names the expression's `where`.
struct Expr {
  std::string where;  // e.g. "alerts.yml: SaseProcessDown"
  std::string promql;
};
std::vector<std::string> UnexportedNames(const std::vector<Expr>& exprs,
                                         const std::map<std::string, std::set<std::string>>& exported,
                                         const std::set<std::string>& recorded,
                                         const std::set<std::string>& prometheus_names);

// Runs argv (no shell) and returns its exit status and stdout+stderr; -1 when it cannot start.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv);

// The executable `name` on PATH, or nullopt.
std::optional<std::string> FindOnPath(const std::string& name);

std::string ReadFile(const std::string& path);
// Files of `dir` whose name ends with `suffix`, sorted; full paths.
std::vector<std::string> ListFiles(const std::string& dir, const std::string& suffix);

}  // namespace sase::ops

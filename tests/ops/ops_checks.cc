#include "ops/ops_checks.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sase::ops {
namespace {

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Binary operators, modifiers and literals spelled as words (PromQL keywords are case-insensitive).
const std::set<std::string>& Keywords() {
  static const auto* k = new std::set<std::string>{"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"};
  return *k;
}
// Aggregation operators: `sum by (job) (x)` puts by/without between the name and its arguments.
const std::set<std::string>& Aggregations() {
  static const auto* k = new std::set<std::string>{"sum",   "min",    "max",          "avg",    "group",
                                                  "stddev", "stdvar", "count",        "count_values",
                                                  "bottomk", "topk",  "quantile",     "limitk", "limit_ratio"};
  return *k;
}
// Keywords followed by a parenthesised list of label names.
const std::set<std::string>& LabelListKeywords() {
  static const auto* k =
      new std::set<std::string>{"by", "without", "on", "ignoring", "group_left", "group_right"};
  return *k;
}

class PromqlScanner {
 public:
  explicit PromqlScanner(std::string_view s) : s_(s) {}

  absl::StatusOr<std::vector<MetricRef>> Run() {
    std::vector<MetricRef> refs;
    while (true) {
      SkipSpaceAndComments();
      if (i_ >= s_.size()) break;
      const char c = s_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        if (absl::Status st = SkipString(); !st.ok()) return st;
      } else if (c == '[') {
        if (absl::Status st = SkipBalanced('[', ']'); !st.ok()) return st;
      } else if (c == '{') {
        return Error("a selector without a metric name (its metrics cannot be checked)");
      } else if (c == '$') {
        SkipGrafanaVariable();
      } else if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
                 (c == '.' && i_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])) != 0)) {
        SkipNumber();
      } else if (IsIdentStart(c)) {
        const size_t start = i_;
        while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
        std::string ident(s_.substr(start, i_ - start));
        const std::string lower = absl::AsciiStrToLower(ident);
        SkipSpaceAndComments();
        const char next = i_ < s_.size() ? s_[i_] : '\0';
        if (LabelListKeywords().contains(lower)) {
          if (next == '(') {
            if (absl::Status st = SkipBalanced('(', ')'); !st.ok()) return st;
          }
        } else if (Keywords().contains(lower) || next == '(' ||
                   (Aggregations().contains(lower) && (NextWordIs("by") || NextWordIs("without")))) {
          // an operator, or a function / aggregation name: its arguments are scanned as usual
        } else {
          MetricRef ref{std::move(ident), ""};
          if (next == '{') {
            absl::StatusOr<std::string> job = ReadMatchers();
            if (!job.ok()) return job.status();
            ref.job = *job;
          }
          refs.push_back(std::move(ref));
        }
      } else {
        ++i_;  // operators and punctuation
      }
    }
    return refs;
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(what, " at offset ", i_, " of: ", std::string(s_)));
  }

  // Whether the identifier at i_ is `word` (case-insensitive).
  bool NextWordIs(std::string_view word) const {
    size_t end = i_;
    while (end < s_.size() && IsIdentChar(s_[end])) ++end;
    return absl::AsciiStrToLower(std::string(s_.substr(i_, end - i_))) == word;
  }

  void SkipSpaceAndComments() {
    while (i_ < s_.size()) {
      if (IsSpace(s_[i_])) {
        ++i_;
      } else if (s_[i_] == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  // At a quote: moves past the closing one. Backquoted strings have no escapes.
  absl::Status SkipString() {
    const char quote = s_[i_++];
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '\\' && quote != '`') {
        ++i_;
      } else if (c == quote) {
        return absl::OkStatus();
      }
    }
    return Error("an unterminated string");
  }

  // At `open`: moves past the matching `close`, skipping strings inside.
  absl::Status SkipBalanced(char open, char close) {
    int depth = 0;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"' || c == '\'' || c == '`') {
        if (absl::Status st = SkipString(); !st.ok()) return st;
        continue;
      }
      ++i_;
      if (c == open) ++depth;
      if (c == close && --depth == 0) return absl::OkStatus();
    }
    return Error(absl::StrCat("an unclosed '", std::string(1, open), "'"));
  }

  void SkipGrafanaVariable() {
    ++i_;  // $
    if (i_ < s_.size() && s_[i_] == '{') {
      while (i_ < s_.size() && s_[i_] != '}') ++i_;
      if (i_ < s_.size()) ++i_;
      return;
    }
    while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
  }

  // Numbers (1, 0.5, 1e-3, 0x1f, Inf handled as keyword) and durations (5m, 1h30m).
  void SkipNumber() {
    const bool hex = s_.substr(i_, 2) == "0x" || s_.substr(i_, 2) == "0X";
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_') {
        ++i_;
      } else if ((c == '+' || c == '-') && (s_[i_ - 1] == 'e' || s_[i_ - 1] == 'E') && !hex) {
        ++i_;
      } else {
        break;
      }
    }
  }

  // At '{': reads the matchers up to '}'; returns the value of job="..." (empty if none).
  absl::StatusOr<std::string> ReadMatchers() {
    ++i_;  // {
    std::string job;
    while (true) {
      SkipSpaceAndComments();
      if (i_ >= s_.size()) return Error("an unclosed '{'");
      if (s_[i_] == '}') {
        ++i_;
        return job;
      }
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      const size_t start = i_;
      while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
      const std::string label(s_.substr(start, i_ - start));
      if (label.empty()) return Error("a malformed label matcher");
      if (label == "__name__") return Error("a __name__ matcher (its metrics cannot be checked)");
      SkipSpaceAndComments();
      std::string op;
      while (i_ < s_.size() && (s_[i_] == '=' || s_[i_] == '!' || s_[i_] == '~')) op += s_[i_++];
      if (op != "=" && op != "!=" && op != "=~" && op != "!~") return Error("a malformed label matcher");
      SkipSpaceAndComments();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'' && s_[i_] != '`')) {
        return Error("a label matcher without a quoted value");
      }
      const size_t value_start = i_ + 1;
      if (absl::Status st = SkipString(); !st.ok()) return st;
      if (label == "job" && op == "=") job = std::string(s_.substr(value_start, i_ - 1 - value_start));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

// --- The YAML subset --------------------------------------------------------------------------

struct Line {
  int number = 0;     // 1-based
  int indent = 0;     // leading spaces
  bool item = false;  // starts with "- "
  int key_col = 0;    // column of the key (after "- ")
  std::string key;    // empty when the line is not `key:` / `key: value`
  std::string rest;   // after "key:", stripped
  std::string text;   // the whole line
  bool blank = false; // empty or a comment only
};

std::vector<Line> SplitLines(std::string_view yaml) {
  std::vector<Line> out;
  int n = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(yaml.data(), yaml.size()), '\n')) {
    Line l;
    l.number = ++n;
    l.text = std::string(raw);
    size_t p = 0;
    while (p < l.text.size() && l.text[p] == ' ') ++p;
    l.indent = static_cast<int>(p);
    l.blank = p >= l.text.size() || l.text[p] == '#';
    if (!l.blank && l.text.compare(p, 2, "- ") == 0) {
      l.item = true;
      p += 2;
      while (p < l.text.size() && l.text[p] == ' ') ++p;
    }
    l.key_col = static_cast<int>(p);
    size_t k = p;
    while (k < l.text.size() && (std::isalnum(static_cast<unsigned char>(l.text[k])) != 0 || l.text[k] == '_')) ++k;
    if (k > p && k < l.text.size() && l.text[k] == ':' && (k + 1 == l.text.size() || l.text[k + 1] == ' ')) {
      l.key = l.text.substr(p, k - p);
      l.rest = std::string(absl::StripAsciiWhitespace(l.text.substr(k + 1)));
    }
    out.push_back(std::move(l));
  }
  return out;
}

// Drops a trailing " # comment" of a plain scalar.
std::string StripComment(const std::string& s) {
  size_t at = s.find(" #");
  return std::string(absl::StripAsciiWhitespace(at == std::string::npos ? s : s.substr(0, at)));
}

// The scalar value of lines[*i] (a `key: ...` line); advances *i past continuation lines.
absl::StatusOr<std::string> ReadScalar(const std::vector<Line>& lines, size_t* i) {
  const Line& l = lines[*i];
  const std::string& rest = l.rest;
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("line ", l.number, ": ", what));
  };
  if (!rest.empty() && (rest[0] == '|' || rest[0] == '>')) {
    std::vector<std::string> body;
    int block_indent = -1;
    size_t j = *i + 1;
    for (; j < lines.size(); ++j) {
      const Line& b = lines[j];
      const bool empty = absl::StripAsciiWhitespace(b.text).empty();
      if (!empty && b.indent <= l.key_col) break;
      if (empty) {
        body.emplace_back();
        continue;
      }
      if (block_indent < 0) block_indent = b.indent;
      body.push_back(b.text.substr(static_cast<size_t>(std::min(block_indent, b.indent))));
    }
    *i = j - 1;
    while (!body.empty() && body.back().empty()) body.pop_back();
    return absl::StrJoin(body, rest[0] == '|' ? "\n" : " ");
  }
  if (!rest.empty() && rest[0] == '"') {
    std::string out;
    for (size_t k = 1; k < rest.size(); ++k) {
      if (rest[k] == '\\' && k + 1 < rest.size()) {
        const char e = rest[++k];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else if (rest[k] == '"') {
        return out;
      } else {
        out += rest[k];
      }
    }
    return error("a double-quoted scalar that goes on past its line");
  }
  if (!rest.empty() && rest[0] == '\'') {
    std::string out;
    for (size_t k = 1; k < rest.size(); ++k) {
      if (rest[k] == '\'' && k + 1 < rest.size() && rest[k + 1] == '\'') {
        out += '\'';
        ++k;
      } else if (rest[k] == '\'') {
        return out;
      } else {
        out += rest[k];
      }
    }
    return error("a single-quoted scalar that goes on past its line");
  }
  if (!rest.empty() && (rest[0] == '{' || rest[0] == '[')) return error("a flow collection where a scalar belongs");
  // A plain scalar, maybe continued on more-indented lines.
  std::string out = StripComment(rest);
  size_t j = *i + 1;
  for (; j < lines.size(); ++j) {
    const Line& c = lines[j];
    if (c.blank || c.indent <= l.key_col) break;
    absl::StrAppend(&out, " ", StripComment(c.text));
  }
  *i = j - 1;
  if (out.empty()) return error("an empty value");
  return out;
}

}  // namespace

absl::StatusOr<std::vector<MetricRef>> MetricRefs(std::string_view promql) { return PromqlScanner(promql).Run(); }

bool IsRecordingRuleName(std::string_view name) { return name.find(':') != std::string_view::npos; }

absl::StatusOr<std::vector<Rule>> ParseRuleFile(std::string_view yaml) {
  std::vector<Line> lines = SplitLines(yaml);
  std::vector<Rule> rules;
  int rule_col = -1;  // key column of the current rule's keys
  int mapping_col = -1;  // column of `labels:` / `annotations:` while reading its entries
  std::map<std::string, std::string>* mapping = nullptr;
  auto finish = [&]() -> absl::Status {
    if (rule_col >= 0 && rules.back().expr.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", rules.back().line, ": rule ", rules.back().name,
                                                     " has no expr"));
    }
    rule_col = -1;
    mapping_col = -1;
    return absl::OkStatus();
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (l.blank) continue;
    if (l.item && (l.key == "alert" || l.key == "record")) {
      if (absl::Status st = finish(); !st.ok()) return st;
      absl::StatusOr<std::string> name = ReadScalar(lines, &i);
      if (!name.ok()) return name.status();
      rules.push_back(Rule{*name, l.key == "alert", "", l.number, {}, {}});
      rule_col = l.key_col;
      continue;
    }
    if (rule_col < 0) continue;
    if (l.key_col < rule_col || (l.item && l.key_col <= rule_col)) {
      if (absl::Status st = finish(); !st.ok()) return st;
      continue;
    }
    if (mapping_col >= 0 && l.key_col > mapping_col && !l.key.empty()) {
      absl::StatusOr<std::string> value = ReadScalar(lines, &i);
      if (!value.ok()) return value.status();
      (*mapping)[l.key] = *value;
      continue;
    }
    if (l.key_col != rule_col) continue;
    mapping_col = -1;
    if (l.key == "expr") {
      if (!rules.back().expr.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("line ", l.number, ": a second expr in ", rules.back().name));
      }
      absl::StatusOr<std::string> expr = ReadScalar(lines, &i);
      if (!expr.ok()) return expr.status();
      rules.back().expr = *expr;
    } else if (l.key == "annotations" || l.key == "labels") {
      if (!l.rest.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("line ", l.number, ": write ", l.key, " as a block mapping"));
      }
      mapping_col = l.key_col;
      mapping = l.key == "labels" ? &rules.back().labels : &rules.back().annotations;
    }
  }
  if (absl::Status st = finish(); !st.ok()) return st;
  return rules;
}

absl::StatusOr<std::vector<AlertCase>> ParseAlertCases(std::string_view yaml) {
  std::vector<Line> lines = SplitLines(yaml);
  std::vector<AlertCase> out;
  std::optional<AlertCase> cur;
  int cur_col = -1;
  bool in_exp_alerts = false;
  auto finish = [&] {
    if (cur.has_value() && !cur->alertname.empty()) out.push_back(*cur);
    cur.reset();
    cur_col = -1;
    in_exp_alerts = false;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (l.blank) continue;
    const bool case_key = l.key == "eval_time" || l.key == "alertname" || l.key == "exp_alerts";
    if (cur.has_value() && l.key_col > cur_col) {
      if (in_exp_alerts && l.item) cur->fires = true;  // an item of exp_alerts
      continue;
    }
    if (l.item) {
      finish();
      if (!case_key) continue;
      cur = AlertCase{};
      cur_col = l.key_col;
    } else if (!cur.has_value() || l.key_col < cur_col) {
      finish();
      continue;
    }
    in_exp_alerts = false;
    if (l.key == "alertname" || l.key == "eval_time") {
      absl::StatusOr<std::string> v = ReadScalar(lines, &i);
      if (!v.ok()) return v.status();
      (l.key == "alertname" ? cur->alertname : cur->eval_time) = *v;
    } else if (l.key == "exp_alerts") {
      const std::string rest = StripComment(l.rest);
      if (rest.empty()) {
        in_exp_alerts = true;  // a block sequence follows (or nothing: no alerts)
      } else if (rest != "[]") {
        cur->fires = absl::StartsWith(rest, "[");
        if (!cur->fires) {
          return absl::InvalidArgumentError(absl::StrCat("line ", l.number, ": exp_alerts is not a sequence"));
        }
      }
    }
  }
  finish();
  return out;
}

std::set<std::string> ExportedNames(std::string_view exposition) {
  std::set<std::string> out;
  for (absl::string_view line : absl::StrSplit(absl::string_view(exposition.data(), exposition.size()), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() != 2) continue;
      const std::string& name = parts[0];
      if (parts[1] == "histogram") {
        out.insert({name + "_bucket", name + "_sum", name + "_count"});
      } else if (parts[1] == "summary") {
        out.insert({name, name + "_sum", name + "_count"});
      } else {
        out.insert(name);
      }
      continue;
    }
    if (line[0] == '#') continue;
    size_t end = 0;
    while (end < line.size() && IsIdentChar(line[end])) ++end;
    if (end > 0) out.insert(std::string(line.substr(0, end)));
  }
  return out;
}

namespace {

void CollectPanels(const nlohmann::json& panels, std::vector<const nlohmann::json*>* out) {
  if (!panels.is_array()) return;
  for (const nlohmann::json& p : panels) {
    out->push_back(&p);
    if (p.contains("panels")) CollectPanels(p["panels"], out);
  }
}

std::vector<const nlohmann::json*> AllPanels(const nlohmann::json& dashboard) {
  std::vector<const nlohmann::json*> out;
  if (dashboard.contains("panels")) CollectPanels(dashboard["panels"], &out);
  return out;
}

std::string PanelName(const nlohmann::json& p) {
  return absl::StrCat("panel ", p.contains("id") ? p["id"].dump() : "?", " \"",
                      p.value("title", std::string()), "\"");
}

bool NamesUid(const nlohmann::json& ds, const std::string& uid) {
  return ds.is_object() && ds.contains("uid") && ds["uid"] == uid;
}

}  // namespace

std::vector<std::string> DashboardExprs(const nlohmann::json& dashboard) {
  std::vector<std::string> out;
  for (const nlohmann::json* p : AllPanels(dashboard)) {
    if (!p->contains("targets") || !(*p)["targets"].is_array()) continue;
    for (const nlohmann::json& t : (*p)["targets"]) {
      if (t.contains("expr") && t["expr"].is_string()) out.push_back(t["expr"].get<std::string>());
    }
  }
  return out;
}

std::vector<std::string> DatasourceProblems(const nlohmann::json& dashboard, const std::string& uid) {
  std::vector<std::string> problems;
  if (absl::StrContains(dashboard.dump(), "${DS_")) problems.push_back("a ${DS_...} export placeholder");
  if (dashboard.contains("__inputs")) problems.push_back("__inputs (an export meant for import, not provisioning)");
  for (const nlohmann::json* p : AllPanels(dashboard)) {
    const bool has_targets = p->contains("targets") && (*p)["targets"].is_array() && !(*p)["targets"].empty();
    if ((has_targets || p->contains("datasource")) && !NamesUid(p->value("datasource", nlohmann::json()), uid)) {
      problems.push_back(absl::StrCat(PanelName(*p), ": datasource is not uid ", uid));
    }
    if (!has_targets) continue;
    for (const nlohmann::json& t : (*p)["targets"]) {
      if (!NamesUid(t.value("datasource", nlohmann::json()), uid)) {
        problems.push_back(absl::StrCat(PanelName(*p), " target ", t.value("refId", std::string("?")),
                                        ": datasource is not uid ", uid));
      }
      if (!t.contains("expr") || !t["expr"].is_string() || t["expr"].get<std::string>().empty()) {
        problems.push_back(absl::StrCat(PanelName(*p), " target ", t.value("refId", std::string("?")), ": no expr"));
      }
    }
  }
  if (dashboard.contains("templating") && dashboard["templating"].contains("list")) {
    for (const nlohmann::json& v : dashboard["templating"]["list"]) {
      if (v.value("type", std::string()) == "query") {
        problems.push_back(absl::StrCat("templating variable ", v.value("name", std::string("?")),
                                        ": query variables are not checked against the exported metrics"));
      }
    }
  }
  if (dashboard.contains("annotations") && dashboard["annotations"].contains("list")) {
    for (const nlohmann::json& a : dashboard["annotations"]["list"]) {
      if (!NamesUid(a.value("datasource", nlohmann::json()), uid)) {
        problems.push_back(absl::StrCat("annotation ", a.value("name", std::string("?")), ": datasource is not uid ", uid));
      }
    }
  }
  return problems;
}

std::vector<std::string> UnexportedNames(const std::vector<Expr>& exprs,
                                         const std::map<std::string, std::set<std::string>>& exported,
                                         const std::set<std::string>& recorded,
                                         const std::set<std::string>& prometheus_names) {
  std::set<std::string> problems;
  for (const Expr& e : exprs) {
    absl::StatusOr<std::vector<MetricRef>> refs = MetricRefs(e.promql);
    if (!refs.ok()) {
      problems.insert(absl::StrCat(e.where, ": cannot read the expression: ", refs.status().message()));
      continue;
    }
    for (const MetricRef& r : *refs) {
      if (IsRecordingRuleName(r.name)) {
        if (!recorded.contains(r.name)) problems.insert(absl::StrCat(e.where, ": no rule records ", r.name));
      } else if (prometheus_names.contains(r.name)) {
        continue;
      } else if (!r.job.empty()) {
        auto it = exported.find(r.job);
        if (it == exported.end()) {
          problems.insert(absl::StrCat(e.where, ": ", r.name, "{job=\"", r.job, "\"}: no binary is scraped as job ",
                                       r.job));
        } else if (!it->second.contains(r.name)) {
          problems.insert(absl::StrCat(e.where, ": ", r.name, " is not exported by ", r.job));
        }
      } else if (std::none_of(exported.begin(), exported.end(),
                              [&](const auto& job) { return job.second.contains(r.name); })) {
        problems.insert(absl::StrCat(e.where, ": ", r.name, " is exported by no binary"));
      }
    }
  }
  return {problems.begin(), problems.end()};
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  CommandResult result;
  int fds[2];
  if (argv.empty() || pipe(fds) != 0) return result;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return result;
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    std::vector<std::string> copy = argv;
    for (std::string& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) result.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::optional<std::string> FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> ListFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string p = entry.path().string();
    if (entry.is_regular_file() && absl::EndsWith(p, suffix)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sase::ops

#include "alert_relay/markdown.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/web.h"

namespace sase::alert_relay {
namespace {

// Bounds of single untrusted fields, before escaping.
constexpr size_t kLabelValueBytes = 100;
constexpr size_t kSummaryBytes = 300;
constexpr size_t kDescriptionBytes = 400;
constexpr size_t kRunbookBytes = 800;  // a runbook text ("Means: ... Do: ...") is the message's point
constexpr size_t kUrlBytes = 512;
constexpr size_t kGroupLabelsShown = 8;
constexpr size_t kAlertLabelsShown = 6;
// Room kept for the closing lines ("… and N more alerts", the notice, the Alertmanager link).
constexpr size_t kFooterReserve = 160 + kUrlBytes;

int SeverityRank(const std::string& s) {
  if (s == "critical") return 4;
  if (s == "error") return 3;
  if (s == "warning") return 2;
  if (s == "info") return 1;
  return 0;
}

std::string Value(const LabelSet& set, const std::string& key) {
  auto it = set.find(key);
  return it == set.end() ? std::string() : it->second;
}

std::string Field(std::string_view raw, size_t max_bytes) { return EscapeMarkdown(TruncateUtf8(raw, max_bytes)); }

std::string Pairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<std::string> parts;
  parts.reserve(pairs.size());
  for (const auto& [k, v] : pairs) parts.push_back(absl::StrCat(Field(k, kLabelValueBytes), "=", Field(v, kLabelValueBytes)));
  return absl::StrJoin(parts, ", ");
}

// An absolute http(s) URL made safe as a markdown link target; nullopt otherwise.
std::optional<std::string> LinkTarget(const std::string& url) {
  if (url.empty() || url.size() > kUrlBytes) return std::nullopt;
  std::optional<common::UrlParts> parts = common::ParseUrl(url, /*any_scheme=*/false);
  if (!parts || (parts->scheme != "http" && parts->scheme != "https") || parts->host.empty() ||
      parts->has_user_info) {
    return std::nullopt;
  }
  std::string out;
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '(' || c == ')' || c == '<' || c == '>' || c == '"' || c == '`') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// "2024-05-01 10:00:00 UTC"; "" for Go's zero time or an empty value; the raw text (bounded) when it
// is not RFC 3339.
std::string When(const std::string& rfc3339) {
  if (rfc3339.empty()) return "";
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) return Field(rfc3339, 40);
  if (t < absl::FromUnixSeconds(0)) return "";  // 0001-01-01T00:00:00Z: not set
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

std::string Runbook(const LabelSet& annotations) {
  for (const char* key : {"runbook_url", "runbook"}) {
    const std::string v = Value(annotations, key);
    if (v.empty()) continue;
    if (std::optional<std::string> link = LinkTarget(v)) return absl::StrCat("[Runbook](", *link, ")");
    return absl::StrCat("Runbook: ", Field(v, kRunbookBytes));
  }
  return "";
}

std::string Title(const Notification& n, int firing) {
  std::string status = n.status == "firing" ? absl::StrCat("[FIRING:", firing, "]") : "[RESOLVED]";
  std::vector<std::string> values;
  for (const auto& [k, v] : n.group_labels) values.push_back(v);
  if (values.empty()) values.push_back(Value(n.common_labels, "alertname"));
  std::string title = absl::StrCat(status, " ", absl::StrJoin(values, " "));
  for (char& c : title) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return title;
}

std::string AlertItem(const Alert& a, const Notification& n) {
  const std::string common_summary = Value(n.common_annotations, "summary");
  std::string summary = Value(a.annotations, "summary");
  if (summary.empty() || summary == common_summary) summary = Value(a.labels, "alertname");
  if (summary.empty()) summary = "alert";
  std::vector<std::string> lines = {absl::StrCat("- **", Field(summary, kSummaryBytes), "**")};

  std::vector<std::pair<std::string, std::string>> distinct;
  size_t hidden = 0;
  for (const auto& [k, v] : a.labels) {
    if (k == "alertname") continue;
    auto c = n.common_labels.find(k);
    if (c != n.common_labels.end() && c->second == v) continue;
    if (distinct.size() < kAlertLabelsShown) {
      distinct.emplace_back(k, v);
    } else {
      ++hidden;
    }
  }
  if (!distinct.empty()) {
    lines.push_back(absl::StrCat(Pairs(distinct), hidden > 0 ? absl::StrCat(" (+", hidden, " labels)") : ""));
  }
  const std::string description = Value(a.annotations, "description");
  if (!description.empty() && description != Value(n.common_annotations, "description")) {
    lines.push_back(Field(description, kDescriptionBytes));
  }
  std::string when = a.status == "resolved" ? When(a.ends_at) : When(a.starts_at);
  if (!when.empty()) when = absl::StrCat(a.status == "resolved" ? "Resolved " : "Since ", when);
  std::string runbook = Runbook(a.annotations);
  if (runbook == Runbook(n.common_annotations)) runbook.clear();  // shown once in the header
  std::vector<std::string> tail;
  if (!when.empty()) tail.push_back(when);
  if (!runbook.empty()) tail.push_back(runbook);
  if (!tail.empty()) lines.push_back(absl::StrJoin(tail, " · "));
  return absl::StrCat(absl::StrJoin(lines, "  \n  "), "\n");
}

}  // namespace

std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  constexpr std::string_view kEllipsis = "…";
  const bool room = max_bytes >= kEllipsis.size();
  size_t cut = room ? max_bytes - kEllipsis.size() : max_bytes;
  // Never end inside a character: back up over continuation bytes (10xxxxxx) at the cut.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  std::string out(s.substr(0, cut));
  if (room) out += kEllipsis;
  return out;
}

std::string EscapeMarkdown(std::string_view s) {
  std::string md;
  md.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '\n': case '\r': case '\t': md += ' '; break;
      case '\\': case '`': case '*': case '_': case '[': case ']': case '~': case '|':
        md += '\\';
        md += c;
        break;
      default: md += c;
    }
  }
  return common::HtmlEscape(md);
}

RobotMarkdown RenderMarkdown(const Notification& n, const RenderOptions& options, std::string_view notice) {
  int firing = 0;
  int severity_rank = -1;
  std::string severity = Value(n.common_labels, "severity");
  for (const Alert& a : n.alerts) {
    if (a.status != "firing") continue;
    ++firing;
    const std::string s = Value(a.labels, "severity");
    if (SeverityRank(s) > severity_rank) {
      severity_rank = SeverityRank(s);
      severity = s;
    }
  }
  RobotMarkdown out;
  out.title = TruncateUtf8(Title(n, firing), options.max_title_bytes);

  const bool is_firing = n.status == "firing";
  const char* icon = !is_firing                       ? "✅"
                     : SeverityRank(severity) >= 3 ? "🔴"
                     : SeverityRank(severity) == 2 ? "🟠"
                                                   : "🔵";
  std::string text = absl::StrCat("### ", icon, " ", EscapeMarkdown(out.title), "\n\n");
  if (!severity.empty()) absl::StrAppend(&text, "**Severity:** ", Field(severity, kLabelValueBytes), "\n\n");
  if (!n.group_labels.empty()) {
    std::vector<std::pair<std::string, std::string>> shown;
    for (const auto& kv : n.group_labels) {
      if (shown.size() == kGroupLabelsShown) break;
      shown.push_back(kv);
    }
    absl::StrAppend(&text, "**Group:** ", Pairs(shown), "\n\n");
  }
  if (std::string s = Value(n.common_annotations, "summary"); !s.empty()) {
    absl::StrAppend(&text, "**Summary:** ", Field(s, kSummaryBytes), "\n\n");
  }
  if (std::string d = Value(n.common_annotations, "description"); !d.empty()) {
    absl::StrAppend(&text, Field(d, kDescriptionBytes), "\n\n");
  }
  if (std::string r = Runbook(n.common_annotations); !r.empty()) absl::StrAppend(&text, r, "\n\n");

  const size_t budget = options.max_text_bytes > kFooterReserve + notice.size()
                            ? options.max_text_bytes - kFooterReserve - notice.size()
                            : 0;
  int64_t left_out = n.truncated_alerts;
  for (const char* section : {"firing", "resolved"}) {
    std::vector<const Alert*> alerts;
    for (const Alert& a : n.alerts) {
      if (a.status == section) alerts.push_back(&a);
    }
    if (alerts.empty()) continue;
    std::string heading = absl::StrCat("**", section == std::string_view("firing") ? "Firing" : "Resolved", " (",
                                       alerts.size(), ")**\n\n");
    bool heading_written = false;
    for (const Alert* a : alerts) {
      std::string item = AlertItem(*a, n);
      const size_t need = item.size() + (heading_written ? 0 : heading.size());
      if (text.size() + need > budget) {
        ++left_out;
        continue;
      }
      if (!heading_written) {
        text += heading;
        heading_written = true;
      }
      text += item;
    }
    if (heading_written) text += "\n";
  }
  if (left_out > 0) absl::StrAppend(&text, "… and ", left_out, " more alerts (see Alertmanager)\n\n");
  if (!notice.empty()) absl::StrAppend(&text, "> ", EscapeMarkdown(notice), "\n\n");
  if (std::optional<std::string> link = LinkTarget(n.external_url)) {
    absl::StrAppend(&text, "[Alertmanager](", *link, ")\n");
  }
  out.text = TruncateUtf8(text, options.max_text_bytes);
  return out;
}

}  // namespace sase::alert_relay

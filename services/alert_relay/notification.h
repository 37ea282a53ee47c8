#pragma once
// Alertmanager's webhook notification (payload version 4), parsed and checked:
//
//   {"version":"4","groupKey":"...","truncatedAlerts":0,"status":"firing|resolved","receiver":"...",
//    "groupLabels":{...},"commonLabels":{...},"commonAnnotations":{...},"externalURL":"...",
//    "alerts":[{"status":"firing|resolved","labels":{...},"annotations":{...},"startsAt":"RFC3339",
//               "endsAt":"RFC3339","generatorURL":"...","fingerprint":"..."}]}
//
// Labels and annotations are string→string maps. Unknown fields are ignored; a missing optional
// field reads as empty.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sase::alert_relay {

using LabelSet = std::map<std::string, std::string>;

struct Alert {
  std::string status;  // "firing" or "resolved"
  LabelSet labels;
  LabelSet annotations;
  std::string starts_at;  // RFC 3339 as sent
  std::string ends_at;    // "0001-01-01T00:00:00Z" while firing
  std::string generator_url;
  std::string fingerprint;
};

struct Notification {
  std::string version;
  std::string group_key;
  std::string status;  // "firing" (any alert firing) or "resolved"
  std::string receiver;
  std::string external_url;
  LabelSet group_labels;
  LabelSet common_labels;
  LabelSet common_annotations;
  std::vector<Alert> alerts;
  int64_t truncated_alerts = 0;  // alerts Alertmanager left out (webhook max_alerts)
};

// Why a body was refused; the metric label and the "error" of the 400 answer.
inline constexpr std::string_view kBadJson = "bad_json";
inline constexpr std::string_view kBadPayload = "bad_payload";
inline constexpr std::string_view kUnsupportedVersion = "unsupported_version";

// InvalidArgument on a body that is not a version-4 notification; *reason (when not null) is one of
// the k* constants above.
absl::StatusOr<Notification> ParseNotification(std::string_view body, std::string* reason);

}  // namespace sase::alert_relay

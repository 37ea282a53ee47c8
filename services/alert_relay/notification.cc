#include "alert_relay/notification.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;

constexpr size_t kMaxAlerts = 10000;

absl::Status Refuse(std::string_view reason, std::string_view message, std::string* out_reason) {
  if (out_reason != nullptr) *out_reason = std::string(reason);
  return absl::InvalidArgumentError(std::string(message));
}

// An optional string field; false when present with another type.
bool ReadString(const json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

// An optional string→string object; false when present with another shape.
bool ReadLabels(const json& obj, const char* key, LabelSet* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_object()) return false;
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    if (!kv.value().is_string()) return false;
    (*out)[kv.key()] = kv.value().get<std::string>();
  }
  return true;
}

bool ValidStatus(const std::string& s) { return s == "firing" || s == "resolved"; }

}  // namespace

absl::StatusOr<Notification> ParseNotification(std::string_view body, std::string* reason) {
  const json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Refuse(kBadJson, "body is not JSON (UTF-8)", reason);
  if (!j.is_object()) return Refuse(kBadPayload, "body must be a JSON object", reason);
  Notification n;
  if (!ReadString(j, "version", &n.version)) return Refuse(kBadPayload, "version must be a string", reason);
  if (n.version != "4") {
    return Refuse(kUnsupportedVersion, absl::StrCat("version must be \"4\", got \"", n.version, "\""), reason);
  }
  if (!ReadString(j, "status", &n.status) || !ValidStatus(n.status)) {
    return Refuse(kBadPayload, "status must be \"firing\" or \"resolved\"", reason);
  }
  if (!ReadString(j, "groupKey", &n.group_key) || !ReadString(j, "receiver", &n.receiver) ||
      !ReadString(j, "externalURL", &n.external_url)) {
    return Refuse(kBadPayload, "groupKey, receiver and externalURL must be strings", reason);
  }
  if (!ReadLabels(j, "groupLabels", &n.group_labels) || !ReadLabels(j, "commonLabels", &n.common_labels) ||
      !ReadLabels(j, "commonAnnotations", &n.common_annotations)) {
    return Refuse(kBadPayload, "groupLabels, commonLabels and commonAnnotations must map strings to strings",
                  reason);
  }
  if (auto t = j.find("truncatedAlerts"); t != j.end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 0) {
      return Refuse(kBadPayload, "truncatedAlerts must be a non-negative integer", reason);
    }
    n.truncated_alerts = t->get<int64_t>();
  }
  auto alerts = j.find("alerts");
  if (alerts == j.end() || !alerts->is_array()) return Refuse(kBadPayload, "alerts must be an array", reason);
  if (alerts->empty()) return Refuse(kBadPayload, "alerts must not be empty", reason);
  if (alerts->size() > kMaxAlerts) return Refuse(kBadPayload, "more than 10000 alerts", reason);
  n.alerts.reserve(alerts->size());
  for (size_t i = 0; i < alerts->size(); ++i) {
    const json& a = (*alerts)[i];
    const std::string where = absl::StrCat("alerts[", i, "]");
    if (!a.is_object()) return Refuse(kBadPayload, absl::StrCat(where, " must be an object"), reason);
    Alert alert;
    if (!ReadString(a, "status", &alert.status) || !ValidStatus(alert.status)) {
      return Refuse(kBadPayload, absl::StrCat(where, ".status must be \"firing\" or \"resolved\""), reason);
    }
    if (!a.contains("labels") || !ReadLabels(a, "labels", &alert.labels) ||
        !ReadLabels(a, "annotations", &alert.annotations)) {
      return Refuse(kBadPayload, absl::StrCat(where, ".labels and .annotations must map strings to strings"),
                    reason);
    }
    if (!ReadString(a, "startsAt", &alert.starts_at) || !ReadString(a, "endsAt", &alert.ends_at) ||
        !ReadString(a, "generatorURL", &alert.generator_url) || !ReadString(a, "fingerprint", &alert.fingerprint)) {
      return Refuse(kBadPayload, absl::StrCat(where, ": startsAt, endsAt, generatorURL and fingerprint must be strings"),
                    reason);
    }
    n.alerts.push_back(std::move(alert));
  }
  return n;
}

}  // namespace sase::alert_relay

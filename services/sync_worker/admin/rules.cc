#include "sync_worker/admin/rules.h"

#include <cmath>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/web.h"

namespace sase::sync_worker {
namespace {

std::string F(std::string_view field) { return std::string(field); }

bool IsLocalTarget(const std::string& name) {
  for (const FieldSpec& f : LocalTargetFields()) {
    if (f.name == name) return true;
  }
  return false;
}

bool IsSourceField(const std::string& name) {
  for (const FieldSpec& f : DingTalkSourceFields()) {
    if (f.name == name) return true;
  }
  return false;
}

}  // namespace

bool IsChineseCharacter(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) ||    // CJK Unified Ideographs
         (c >= 0x3400 && c <= 0x4DBF) ||    // Extension A
         (c >= 0x20000 && c <= 0x2A6DF) ||  // Extension B
         (c >= 0x2A700 && c <= 0x2EBEF) ||  // Extensions C–F
         (c >= 0x30000 && c <= 0x323AF);    // Extensions G–H
}

absl::Status ValidateSourceName(std::string_view name) {
  std::u32string cps;
  if (name.empty()) return absl::InvalidArgumentError("name: required");
  if (!DecodeUtf8(name, &cps)) return absl::InvalidArgumentError("name: not valid UTF-8");
  if (cps.size() < 2 || cps.size() > 100) {
    return absl::InvalidArgumentError(absl::StrCat("name: must be 2-100 characters, got ", cps.size()));
  }
  for (char32_t c : cps) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              IsChineseCharacter(c);
    if (!ok) {
      return absl::InvalidArgumentError(
          "name: only Chinese characters, letters, digits, '-' and '_' are allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAesKey(std::string_view aes_key) {
  if (aes_key.size() != 43) return absl::InvalidArgumentError("aes_key: must be exactly 43 characters of [A-Za-z0-9]");
  for (char c : aes_key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return absl::InvalidArgumentError("aes_key: must be exactly 43 characters of [A-Za-z0-9]");
  }
  return absl::OkStatus();
}

absl::Status ValidateSyncCycleHours(int64_t hours) {
  if (hours < 1 || hours > 24) {
    return absl::InvalidArgumentError(absl::StrCat("sync_cycle_hours: must be within 1-24, got ", hours));
  }
  return absl::OkStatus();
}

absl::Status ValidateText(std::string_view field, std::string_view value, int64_t min_chars, int64_t max_chars) {
  std::u32string cps;
  if (!DecodeUtf8(value, &cps)) return absl::InvalidArgumentError(absl::StrCat(F(field), ": not valid UTF-8"));
  int64_t n = static_cast<int64_t>(cps.size());
  if (n < min_chars) {
    return absl::InvalidArgumentError(min_chars == 1 ? absl::StrCat(F(field), ": required")
                                                     : absl::StrCat(F(field), ": at least ", min_chars, " characters"));
  }
  if (n > max_chars) return absl::InvalidArgumentError(absl::StrCat(F(field), ": at most ", max_chars, " characters"));
  for (char32_t c : cps) {
    if (c < 0x20 || c == 0x7F) return absl::InvalidArgumentError(absl::StrCat(F(field), ": control characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateToken(std::string_view field, std::string_view value, size_t max_len) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(F(field), ": required"));
  if (value.size() > max_len) {
    return absl::InvalidArgumentError(absl::StrCat(F(field), ": at most ", max_len, " characters"));
  }
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7F) {
      return absl::InvalidArgumentError(absl::StrCat(F(field), ": only printable ASCII without spaces is allowed"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateExtendedFieldName(std::string_view field, std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(F(field), ": required"));
  if (name.size() > 64) return absl::InvalidArgumentError(absl::StrCat(F(field), ": at most 64 characters"));
  if (!(name[0] >= 'a' && name[0] <= 'z')) {
    return absl::InvalidArgumentError(absl::StrCat(F(field), ": must start with a lowercase letter"));
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat(F(field), ": only [a-z0-9_] is allowed"));
    }
  }
  return absl::OkStatus();
}

const std::vector<FieldSpec>& DingTalkSourceFields() {
  static const std::vector<FieldSpec> kFields = {
      {"userid", "User ID", FieldKind::kString},
      {"unionid", "Union ID", FieldKind::kString},
      {"name", "Name", FieldKind::kString},
      {"avatar", "Avatar URL", FieldKind::kString},
      {"state_code", "Phone country code", FieldKind::kString},
      {"mobile", "Mobile", FieldKind::kString},
      {"hide_mobile", "Mobile hidden", FieldKind::kBool},
      {"telephone", "Telephone extension", FieldKind::kString},
      {"job_number", "Job number", FieldKind::kString},
      {"title", "Title", FieldKind::kString},
      {"email", "Email", FieldKind::kString},
      {"org_email", "Organisation email", FieldKind::kString},
      {"work_place", "Work place", FieldKind::kString},
      {"remark", "Remark", FieldKind::kString},
      {"manager_userid", "Manager user ID", FieldKind::kString},
      {"hired_date", "Hire date", FieldKind::kTimestamp},
      {"active", "Activated DingTalk", FieldKind::kBool},
      {"admin", "Administrator", FieldKind::kBool},
      {"boss", "Boss", FieldKind::kBool},
      {"senior", "Senior", FieldKind::kBool},
      {"real_authed", "Real-name verified", FieldKind::kBool},
      {"exclusive_account", "Exclusive account", FieldKind::kBool},
  };
  return kFields;
}

const std::vector<FieldSpec>& LocalTargetFields() {
  static const std::vector<FieldSpec> kFields = {
      {"email", "Email", FieldKind::kString},
      {"mobile", "Mobile", FieldKind::kString},
      {"job_number", "Job number", FieldKind::kString},
      {"title", "Title", FieldKind::kString},
      {"name", "Name", FieldKind::kString},
      {"org_email", "Organisation email", FieldKind::kString},
  };
  return kFields;
}

absl::Status ValidateFieldMappings(const std::vector<store::FieldMappingRecord>& mappings) {
  if (mappings.size() > 100) return absl::InvalidArgumentError("field_mappings: at most 100 mappings");
  std::set<std::string> targets;
  for (size_t i = 0; i < mappings.size(); ++i) {
    const store::FieldMappingRecord& m = mappings[i];
    std::string src_field = absl::StrCat("field_mappings[", i, "].source_field");
    std::string dst_field = absl::StrCat("field_mappings[", i, "].target_field");
    if (m.source_field.rfind("extension.", 0) == 0) {
      if (absl::Status s = ValidateText(src_field, m.source_field.substr(10), 1, 100); !s.ok()) return s;
    } else if (!IsSourceField(m.source_field)) {
      return absl::InvalidArgumentError(
          absl::StrCat(src_field, ": unknown DingTalk field (use a user field or \"extension.<key>\")"));
    }
    if (m.target_field.rfind("ext.", 0) == 0) {
      if (absl::Status s = ValidateExtendedFieldName(dst_field, m.target_field.substr(4)); !s.ok()) return s;
    } else if (!IsLocalTarget(m.target_field)) {
      return absl::InvalidArgumentError(
          absl::StrCat(dst_field, ": unknown local field (use a built-in field or \"ext.<name>\")"));
    }
    if (!targets.insert(m.target_field).second) {
      return absl::InvalidArgumentError(absl::StrCat(dst_field, ": ", m.target_field, " is already mapped"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateScope(const std::vector<int64_t>& root_department_ids) {
  if (root_department_ids.size() > 1000) {
    return absl::InvalidArgumentError("scope.root_department_ids: at most 1000 departments");
  }
  std::set<int64_t> seen;
  for (size_t i = 0; i < root_department_ids.size(); ++i) {
    if (root_department_ids[i] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("scope.root_department_ids[", i, "]: must be a positive id"));
    }
    if (!seen.insert(root_department_ids[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat("scope.root_department_ids[", i, "]: duplicate"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDeletionGuard(int64_t max_departures, double max_departure_percent) {
  if (max_departures < 0) return absl::InvalidArgumentError("deletion_guard.max_departures: must not be negative");
  if (!std::isfinite(max_departure_percent) || max_departure_percent < 0 || max_departure_percent > 100) {
    return absl::InvalidArgumentError("deletion_guard.max_departure_percent: must be within 0-100");
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateRedirectUri(const std::string& uri, size_t index) {
  const std::string field = absl::StrCat("login_redirect_uris[", index, "]");
  if (uri.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (uri.size() > 2048) return absl::InvalidArgumentError(absl::StrCat(field, ": at most 2048 bytes"));
  for (char c : uri) {
    if (c <= 0x20 || c >= 0x7F) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": only printable ASCII without spaces is allowed"));
    }
  }
  // Any scheme (custom schemes are the point); no guessing of a missing one.
  std::optional<common::UrlParts> url = common::ParseUrl(uri, /*any_scheme=*/true);
  if (!url.has_value()) return absl::InvalidArgumentError(absl::StrCat(field, ": not an absolute URI"));
  const std::string& scheme = url->scheme;
  if (url->has_fragment || uri.find('#') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not carry a fragment (the assertion goes there)"));
  }
  if (url->has_user_info) return absl::InvalidArgumentError(absl::StrCat(field, ": must not carry user info"));
  if (scheme == "https") {
    if (url->host.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": https URL without a host"));
    return absl::OkStatus();
  }
  if (scheme == "http") {
    const std::string host = absl::AsciiStrToLower(url->host);
    if (host == "127.0.0.1" || host == "[::1]" || host == "localhost") return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(field, ": http is allowed on loopback hosts only; use https"));
  }
  static const std::set<std::string> kForbidden = {"javascript", "data", "file", "vbscript", "blob", "about",
                                                   "ftp",        "ws",   "wss",  "filesystem"};
  if (kForbidden.count(scheme) > 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": scheme \"", scheme, "\" is not allowed"));
  }
  return absl::OkStatus();  // a private-use scheme of a native client
}

}  // namespace

absl::Status ValidateRedirectUris(const std::vector<std::string>& uris) {
  if (uris.size() > 16) return absl::InvalidArgumentError("login_redirect_uris: at most 16 entries");
  std::set<std::string> seen;
  for (size_t i = 0; i < uris.size(); ++i) {
    if (absl::Status s = ValidateRedirectUri(uris[i], i); !s.ok()) return s;
    if (!seen.insert(uris[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat("login_redirect_uris[", i, "]: duplicate entry"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeEnterpriseId(std::string_view enterprise_id) {
  if (enterprise_id.empty()) return std::string();
  if (enterprise_id.size() < 3 || enterprise_id.size() > 64) {
    return absl::InvalidArgumentError("enterprise_id: 3-64 characters");
  }
  std::string out(enterprise_id);
  absl::AsciiStrToLower(&out);
  for (char c : out) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'z') && c != '-') {
      return absl::InvalidArgumentError("enterprise_id: only letters, digits and '-' are allowed");
    }
  }
  if (out.front() == '-' || out.back() == '-') {
    return absl::InvalidArgumentError("enterprise_id: must start and end with a letter or digit");
  }
  return out;
}

}  // namespace sase::sync_worker

#pragma once
// Input rules of the identity-source admin API (fields, secrets, scope, mappings, extended fields)
// as plain functions, free of gRPC and pqxx so they are unit-tested directly. Every error is INVALID_ARGUMENT and starts with the field name.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/validation.h"
#include "store/field_mapping_record.h"

namespace sase::sync_worker {

using common::DecodeUtf8;
using common::Utf8Length;
// CJK Unified Ideographs (the basic block and extensions A–H).
bool IsChineseCharacter(char32_t c);

// 2–100 characters: Chinese characters, ASCII letters, digits, '-' and '_'.
absl::Status ValidateSourceName(std::string_view name);
// Exactly 43 characters of [A-Za-z0-9]. The value never appears in the message.
absl::Status ValidateAesKey(std::string_view aes_key);
// 1–24.
absl::Status ValidateSyncCycleHours(int64_t hours);
// Between min_chars and max_chars characters of valid UTF-8 without control characters.
absl::Status ValidateText(std::string_view field, std::string_view value, int64_t min_chars, int64_t max_chars);
// 1..max_len printable ASCII characters without spaces (ids, keys and secrets). Never echoes the value.
absl::Status ValidateToken(std::string_view field, std::string_view value, size_t max_len);
// 1–64 characters of [a-z0-9_], starting with a letter.
absl::Status ValidateExtendedFieldName(std::string_view field, std::string_view name);

enum class FieldKind { kString = 1, kNumber = 2, kBool = 3, kTimestamp = 4 };  // = sase.dingtalk.v1.FieldType
struct FieldSpec {
  std::string name;
  std::string display_name;
  FieldKind kind;
};
// DingTalk user fields a mapping may read (PROTOCOL.md §6.1, scalar fields only).
const std::vector<FieldSpec>& DingTalkSourceFields();
// Built-in local fields a mapping may write.
const std::vector<FieldSpec>& LocalTargetFields();

// source_field: a DingTalk field or "extension.<key>"; target_field: a built-in local field or
// "ext.<name>"; targets unique; at most 100 mappings. (Whether an "ext.<name>" field exists is checked
// by the repository inside the write transaction.)
absl::Status ValidateFieldMappings(const std::vector<store::FieldMappingRecord>& mappings);
// Positive, distinct, at most 1000.
absl::Status ValidateScope(const std::vector<int64_t>& root_department_ids);
// max_departures >= 0, max_departure_percent within [0, 100].
absl::Status ValidateDeletionGuard(int64_t max_departures, double max_departure_percent);

// Logon redirect allow-list (field "login_redirect_uris"): at most 16 distinct entries, each at
// most 2048 bytes, parsed by libcurl's URL API: an absolute https URL, an http URL on a loopback
// host (127.0.0.1, [::1], localhost), or a private-use scheme (RFC 8252 §7.1, e.g.
// "com.example.sase:/callback"; not javascript, data, file, vbscript, blob, about, ftp, ws or wss);
// no fragment, no user info. The message names the entry's index, not its value.
absl::Status ValidateRedirectUris(const std::vector<std::string>& uris);

// Tenant enterprise identifier: 3–64 characters of [a-z0-9-] (upper case accepted and folded),
// starting and ending with a letter or digit. Returns the lower-case form; "" stays "" (unset).
absl::StatusOr<std::string> NormalizeEnterpriseId(std::string_view enterprise_id);

}  // namespace sase::sync_worker

#pragma once
// Input validation shared by every RPC handler. Each returns InvalidArgument naming the field.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sase::common {

// 1–64 characters of [A-Za-z0-9_.-].
absl::Status ValidateTenantId(std::string_view tenant_id);
// A canonical lowercase or uppercase UUID (8-4-4-4-12 hex).
bool IsUuid(std::string_view s);
// Decodes strict UTF-8 (no overlongs, surrogates or values above U+10FFFF). False on malformed input.
bool DecodeUtf8(std::string_view s, std::u32string* out);
// Number of code points, or -1 when s is not valid UTF-8.
int64_t Utf8Length(std::string_view s);
absl::Status ValidateUuid(std::string_view field, std::string_view value);
// The canonical (lowercase) spelling of a UUID. Ids are compared, cached and bound into secret
// envelopes in this form, so every boundary that accepts an id canonicalises it first.
std::string CanonicalUuid(std::string_view value);
// page_size: 0 → default, negative or above max → InvalidArgument naming "page_size".
absl::StatusOr<int> ResolvePageSize(int32_t page_size, int def, int max);
// Positive 64-bit id (DingTalk dept ids).
absl::Status ValidatePositive(std::string_view field, int64_t value);

// Opaque keyset page tokens: base64url("<kind>:<payload>"). Decoding checks the kind.
std::string EncodePageToken(std::string_view kind, std::string_view payload);
absl::StatusOr<std::string> DecodePageToken(std::string_view kind, std::string_view token);

}  // namespace sase::common

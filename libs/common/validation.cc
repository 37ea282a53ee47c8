#include "common/validation.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sase::common {

absl::Status ValidateTenantId(std::string_view tenant_id) {
  if (tenant_id.empty()) return absl::InvalidArgumentError("tenant_id: required");
  if (tenant_id.size() > 64) return absl::InvalidArgumentError("tenant_id: longer than 64 characters");
  for (char c : tenant_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    if (!ok) return absl::InvalidArgumentError("tenant_id: only letters, digits, '_', '-' and '.' are allowed");
  }
  return absl::OkStatus();
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string CanonicalUuid(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

absl::Status ValidateUuid(std::string_view field, std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": required"));
  if (!IsUuid(value)) return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": not a UUID"));
  return absl::OkStatus();
}

absl::StatusOr<int> ResolvePageSize(int32_t page_size, int def, int max) {
  if (page_size == 0) return def;
  if (page_size < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (page_size > max) return absl::InvalidArgumentError(absl::StrCat("page_size: maximum is ", max));
  return page_size;
}

absl::Status ValidatePositive(std::string_view field, int64_t value) {
  if (value <= 0) return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": must be a positive id"));
  return absl::OkStatus();
}

std::string EncodePageToken(std::string_view kind, std::string_view payload) {
  std::string raw = absl::StrCat(std::string(kind), ":", std::string(payload));
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> DecodePageToken(std::string_view kind, std::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(token), &raw)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  std::string prefix = absl::StrCat(std::string(kind), ":");
  if (raw.rfind(prefix, 0) != 0) return absl::InvalidArgumentError("page_token: not a token of this listing");
  return raw.substr(prefix.size());
}

bool DecodeUtf8(std::string_view s, std::u32string* out) {
  out->clear();
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    char32_t cp;
    size_t n;
    char32_t min;
    if (b < 0x80) {
      out->push_back(b);
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      n = 1;
      min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      n = 2;
      min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      n = 3;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out->push_back(cp);
    i += n + 1;
  }
  return true;
}

int64_t Utf8Length(std::string_view s) {
  std::u32string cps;
  if (!DecodeUtf8(s, &cps)) return -1;
  return static_cast<int64_t>(cps.size());
}

}  // namespace sase::common

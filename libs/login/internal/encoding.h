#pragma once
// base64url without padding (RFC 4648 §5, as JOSE uses it) over Abseil's WebSafeBase64*, and the
// std::string_view → absl::string_view bridge (Debian's Abseil keeps its own string_view).

#include <string>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace sase::login::internal {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string Base64UrlEncode(std::string_view bytes) {
  return absl::WebSafeBase64Escape(AbslView(bytes));
}

// False on characters outside the base64url alphabet or an impossible length.
inline bool Base64UrlDecode(std::string_view text, std::string* out) {
  return absl::WebSafeBase64Unescape(AbslView(text), out);
}

}  // namespace sase::login::internal

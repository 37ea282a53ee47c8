#include "common/web.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/c_ptr.h"
#include "nlohmann/json.hpp"

namespace sase::common {

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string JsString(std::string_view s) {
  std::string lit = nlohmann::json(std::string(s)).dump(-1, ' ', /*ensure_ascii=*/true,
                                                        nlohmann::json::error_handler_t::replace);
  return absl::StrReplaceAll(lit, {{"<", "\\u003c"}, {">", "\\u003e"}, {"&", "\\u0026"}});
}

std::string AppendQuery(std::string_view url, const std::vector<std::pair<std::string, std::string>>& params) {
  const size_t hash = url.find('#');
  std::string_view base = url.substr(0, hash);
  const std::string_view fragment = hash == std::string_view::npos ? std::string_view() : url.substr(hash);
  std::string out(base);
  for (const auto& [name, value] : params) {
    if (out.find('?') == std::string::npos) {
      out += '?';
    } else if (out.back() != '?' && out.back() != '&') {
      out += '&';
    }
    absl::StrAppend(&out, UrlEncode(name), "=", UrlEncode(value));
  }
  out += fragment;
  return out;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    absl::StrAppend(&out, UrlEncode(name), "=", UrlEncode(value));
  }
  return out;
}

namespace {

std::optional<std::string> UrlPart(CURLU* u, CURLUPart part) {
  char* v = nullptr;
  if (curl_url_get(u, part, &v, 0) != CURLUE_OK || v == nullptr) return std::nullopt;
  std::string out(v);
  curl_free(v);
  return out;
}

}  // namespace

std::optional<UrlParts> ParseUrl(const std::string& url, bool any_scheme) {
  CPtr<CURLU, curl_url_cleanup> u(curl_url());
  if (u == nullptr ||
      curl_url_set(u.get(), CURLUPART_URL, url.c_str(), any_scheme ? CURLU_NON_SUPPORT_SCHEME : 0) != CURLUE_OK) {
    return std::nullopt;
  }
  UrlParts out;
  out.scheme = absl::AsciiStrToLower(UrlPart(u.get(), CURLUPART_SCHEME).value_or(""));
  out.host = UrlPart(u.get(), CURLUPART_HOST).value_or("");
  out.port = UrlPart(u.get(), CURLUPART_PORT);
  out.has_fragment = UrlPart(u.get(), CURLUPART_FRAGMENT).has_value();
  out.has_user_info = UrlPart(u.get(), CURLUPART_USER).has_value() || UrlPart(u.get(), CURLUPART_PASSWORD).has_value();
  return out;
}

}  // namespace sase::common

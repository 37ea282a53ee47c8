#pragma once
// Text for the web: escaping into HTML and JavaScript, and building URLs. Shared by ingress's
// logon pages and the DingTalk simulator's.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sase::common {

// Text safe in HTML element content and in quoted attribute values.
std::string HtmlEscape(std::string_view s);
// Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string UrlEncode(std::string_view s);
// A JavaScript string literal (JSON, ASCII only, with '<' '>' '&' escaped too, so it is safe
// inside a <script> element).
std::string JsString(std::string_view s);
// url with the pairs appended to its query ('?' or '&' as needed, before any fragment), each name
// and value URL-encoded.
std::string AppendQuery(std::string_view url, const std::vector<std::pair<std::string, std::string>>& params);
// application/x-www-form-urlencoded pairs ("a=1&b=2"), each name and value URL-encoded.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params);

// The parts of an absolute URL as libcurl's URL API parses it (never a parser of our own); nullopt
// when it is not an absolute URL. any_scheme: accept schemes libcurl does not speak (the
// private-use schemes of native apps); otherwise only those it does (http, https, ...).
struct UrlParts {
  std::string scheme;               // lower case
  std::string host;                 // "" when absent
  std::optional<std::string> port;  // only when the URL names one
  bool has_fragment = false;
  bool has_user_info = false;       // a user or a password
};
std::optional<UrlParts> ParseUrl(const std::string& url, bool any_scheme);

}  // namespace sase::common

#include "sasectl/login_test.h"

#include <cjose/cjose.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/c_ptr.h"
#include "common/status_macros.h"
#include "sasectl/table.h"

namespace sase::sasectl {
namespace {

using nlohmann::json;

constexpr int64_t kIatLeewaySeconds = 60;
constexpr size_t kPrefixChars = 12;

std::string CjoseMessage(const cjose_err& err) {
  return err.message != nullptr ? std::string(err.message) : std::string("unknown error");
}

// The string member `key`; "" when absent or not a string (never throws).
std::string StringMember(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<int64_t> IntMember(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

absl::Status UsageError(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<std::string> BaseUrlFlag(const Invocation& inv, const std::string& flag, const char* fallback) {
  std::string url = inv.Has(flag) ? inv.Get(flag) : fallback;
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return UsageError(absl::StrCat("--", flag, " takes an http:// or https:// URL, not \"", url, "\""));
  }
  while (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

absl::StatusOr<LoginFlow> ParseFlow(const std::string& value) {
  if (value.empty() || value == "oauth") return LoginFlow::kOAuth;
  if (value == "in_app") return LoginFlow::kInApp;
  return UsageError(absl::StrCat("--flow takes oauth or in_app, not \"", value, "\""));
}

absl::StatusCode CodeForHttp(long status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 429:
    case 503:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kFailedPrecondition;
  }
}

std::string HtmlUnescape(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}});
}

// The text of the element with this id (ingress's refusal page: id="reason", id="message").
std::string HtmlElementText(const std::string& page, const std::string& id) {
  std::smatch m;
  const std::regex re(absl::StrCat("id=\"", id, "\">([^<]*)<"));
  return std::regex_search(page, m, re) ? HtmlUnescape(m[1].str()) : "";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

std::string FormDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The JSON string literal starting at `open` (a '"'), escapes included; "" when unterminated.
std::string StringLiteralAt(const std::string& text, size_t open) {
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return text.substr(open, i - open + 1);
    }
  }
  return "";
}

absl::StatusOr<json> DecodeJsonPart(const std::string& part, const char* what) {
  std::string raw;
  if (part.empty() || !absl::WebSafeBase64Unescape(part, &raw)) {
    return absl::InvalidArgumentError(absl::StrCat("assertion ", what, ": not base64url"));
  }
  json j = json::parse(raw, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat("assertion ", what, ": not a JSON object"));
  return j;
}

// The JSON of the JWKS key whose kid is `kid` (an EC P-256 key).
absl::StatusOr<std::string> FindJwk(const std::string& jwks_json, const std::string& kid) {
  json jwks = json::parse(jwks_json, nullptr, false);
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return absl::InvalidArgumentError("JWKS: no \"keys\" array");
  }
  for (const json& key : jwks["keys"]) {
    if (StringMember(key, "kid") != kid) continue;
    if (StringMember(key, "kty") != "EC" || StringMember(key, "crv") != "P-256") {
      return absl::InvalidArgumentError(absl::StrCat("JWKS key ", kid, " is not an EC P-256 key"));
    }
    return Dump(key);
  }
  return absl::NotFoundError(absl::StrCat("JWKS has no key with kid ", kid));
}

// Verifies the signature with libcjose; returns the verified payload.
absl::StatusOr<std::string> VerifySignature(const std::string& assertion, const std::string& key_json) {
  cjose_err err{};
  common::CPtr<cjose_jwk_t, cjose_jwk_release> jwk(cjose_jwk_import(key_json.c_str(), key_json.size(), &err));
  if (!jwk) return absl::InvalidArgumentError(absl::StrCat("JWKS key: ", CjoseMessage(err)));
  common::CPtr<cjose_jws_t, cjose_jws_release> jws(cjose_jws_import(assertion.c_str(), assertion.size(), &err));
  if (!jws) return absl::InvalidArgumentError(absl::StrCat("assertion: ", CjoseMessage(err)));
  if (!cjose_jws_verify(jws.get(), jwk.get(), &err)) {
    return absl::PermissionDeniedError("assertion: the signature does not verify");
  }
  uint8_t* plaintext = nullptr;
  size_t len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &plaintext, &len, &err) || plaintext == nullptr) {
    return absl::InternalError(absl::StrCat("assertion payload: ", CjoseMessage(err)));
  }
  return std::string(reinterpret_cast<const char*>(plaintext), len);
}

std::string Rfc3339(int64_t unix_seconds) {
  // RFC 3339 in UTC with "Z", as FormatTime in render.h prints times.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(unix_seconds), absl::UTCTimeZone());
}

absl::Status CheckTimes(const json& claims, absl::Time now) {
  std::optional<int64_t> exp = IntMember(claims, "exp");
  std::optional<int64_t> iat = IntMember(claims, "iat");
  if (!exp || !iat) return absl::InvalidArgumentError("assertion: exp and iat must be integers");
  const int64_t now_s = absl::ToUnixSeconds(now);
  if (*exp <= now_s) return absl::PermissionDeniedError(absl::StrCat("assertion expired at ", Rfc3339(*exp)));
  if (*iat > now_s + kIatLeewaySeconds) {
    return absl::PermissionDeniedError(absl::StrCat("assertion issued in the future (", Rfc3339(*iat), ")"));
  }
  return absl::OkStatus();
}

std::string ClaimText(const std::string& key, const json& v) {
  if ((key == "iat" || key == "exp") && v.is_number_integer()) return Rfc3339(v.get<int64_t>());
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_array()) {
    std::vector<std::string> items;
    for (const json& item : v) items.push_back(item.is_string() ? item.get<std::string>() : Dump(item));
    return items.empty() ? "-" : absl::StrJoin(items, ",");
  }
  return Dump(v);
}

std::vector<std::pair<std::string, std::string>> ClaimRows(const json& claims) {
  static const char* const kOrder[] = {"iss",  "aud",      "sub", "tenant", "idp", "dingtalk_userid",
                                       "name", "dept_ids", "iat", "exp",    "jti"};
  std::vector<std::pair<std::string, std::string>> rows;
  for (const char* key : kOrder) {
    if (claims.contains(key)) rows.emplace_back(key, ClaimText(key, claims[key]));
  }
  for (const auto& [key, value] : claims.items()) {
    if (std::find(std::begin(kOrder), std::end(kOrder), key) == std::end(kOrder)) {
      rows.emplace_back(key, ClaimText(key, value));
    }
  }
  return rows;
}

}  // namespace

std::string LoginFlowName(LoginFlow flow) { return flow == LoginFlow::kInApp ? "in_app" : "oauth"; }

absl::StatusOr<LoginTestOptions> BuildLoginTestOptions(const Invocation& inv) {
  LoginTestOptions o;
  ASSIGN_OR_RETURN(o.flow, ParseFlow(inv.Get("flow")));
  ASSIGN_OR_RETURN(o.ingress, BaseUrlFlag(inv, "ingress", kDefaultIngressUrl));
  ASSIGN_OR_RETURN(o.sim, BaseUrlFlag(inv, "sim", kDefaultSimUrl));
  o.idp_id = inv.Get("idp");
  o.userid = inv.Get("userid");
  o.redirect_uri = inv.Get("redirect-uri");
  o.timeout_seconds = inv.global.timeout_seconds;
  const std::pair<const char*, const std::string*> required[] = {
      {"idp", &o.idp_id}, {"userid", &o.userid}, {"redirect-uri", &o.redirect_uri}};
  for (const auto& [flag, value] : required) {
    if (value->empty()) return UsageError(absl::StrCat("--", flag, " must not be empty"));
  }
  return o;
}

absl::Status RefusalFromReply(long http_status, const std::string& body, const std::string& step) {
  const json j = json::parse(body, nullptr, false);
  std::string reason = StringMember(j, "error");
  std::string message = StringMember(j, "message");
  if (reason.empty()) {
    reason = HtmlElementText(body, "reason");
    message = HtmlElementText(body, "message");
  }
  if (reason.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(step, ": unexpected HTTP ", http_status));
  }
  return absl::Status(CodeForHttp(http_status), absl::StrCat(kLoginRefusedPrefix, reason, " (",
                                                             message.empty() ? "no message" : message, ")"));
}

std::map<std::string, std::string> ParseFragment(const std::string& url) {
  std::map<std::string, std::string> out;
  const size_t hash = url.find('#');
  if (hash == std::string::npos) return out;
  for (absl::string_view pair : absl::StrSplit(url.substr(hash + 1), '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    out[FormDecode(kv.first)] = FormDecode(kv.second);
  }
  return out;
}

absl::StatusOr<RedirectTokens> CheckClientRedirect(const std::string& location, const std::string& redirect_uri,
                                                   const std::string& sent_state) {
  if (!absl::StartsWith(location, redirect_uri + "#")) {
    return absl::FailedPreconditionError("the logon did not end on --redirect-uri with a fragment");
  }
  std::map<std::string, std::string> f = ParseFragment(location);
  RedirectTokens t{f["assertion"], f["token_type"], 0};
  if (t.assertion.empty()) return absl::FailedPreconditionError("the client redirect carries no assertion");
  if (t.token_type != "Bearer") {
    return absl::FailedPreconditionError(absl::StrCat("token_type is \"", t.token_type, "\", not Bearer"));
  }
  if (f["state"] != sent_state) return absl::FailedPreconditionError("the client state did not come back unchanged");
  if (!absl::SimpleAtoi(f["expires_in"], &t.expires_in)) {
    return absl::FailedPreconditionError("expires_in is not a number");
  }
  return t;
}

absl::StatusOr<std::string> ExtractPageState(const std::string& page) {
  static const std::regex* const kState = new std::regex(R"re(\bstate"?\s*:\s*")re");
  for (std::sregex_iterator it(page.begin(), page.end(), *kState), end; it != end; ++it) {
    const size_t open = static_cast<size_t>(it->position() + it->length()) - 1;
    const json value = json::parse(StringLiteralAt(page, open), nullptr, false);
    if (value.is_string() && !value.get<std::string>().empty()) return value.get<std::string>();
  }
  return absl::FailedPreconditionError("homepage: the page carries no logon state");
}

std::string JsonStringField(const std::string& json_text, const char* key) {
  return StringMember(json::parse(json_text, nullptr, false), key);
}

std::string AuthorizePageError(const std::string& page) {
  static const std::regex* const kError = new std::regex(R"re(id="sim-error">(.*?)</p>)re");
  static const std::regex* const kTag = new std::regex("<[^>]*>");
  std::smatch m;
  if (!std::regex_search(page, m, *kError)) return "";
  return HtmlUnescape(std::regex_replace(m[1].str(), *kTag, ""));
}

absl::StatusOr<DecodedJws> DecodeJws(const std::string& compact) {
  std::vector<std::string> parts = absl::StrSplit(compact, '.');
  if (parts.size() != 3) return absl::InvalidArgumentError("assertion: not a compact JWS");
  DecodedJws out;
  ASSIGN_OR_RETURN(out.header, DecodeJsonPart(parts[0], "header"));
  ASSIGN_OR_RETURN(out.claims, DecodeJsonPart(parts[1], "claims"));
  return out;
}

absl::StatusOr<VerifiedAssertion> VerifyAssertion(const std::string& assertion, const std::string& jwks_json,
                                                  absl::Time now) {
  ASSIGN_OR_RETURN(DecodedJws decoded, DecodeJws(assertion));
  VerifiedAssertion out{decoded.header, json::object(), StringMember(decoded.header, "kid")};
  if (StringMember(out.header, "alg") != "ES256") return absl::InvalidArgumentError("assertion: alg is not ES256");
  if (out.kid.empty()) return absl::InvalidArgumentError("assertion: the header names no kid");
  ASSIGN_OR_RETURN(std::string key_json, FindJwk(jwks_json, out.kid));
  ASSIGN_OR_RETURN(std::string payload, VerifySignature(assertion, key_json));
  out.claims = json::parse(payload, nullptr, false);
  if (!out.claims.is_object()) return absl::InvalidArgumentError("assertion claims: not a JSON object");
  RETURN_IF_ERROR(CheckTimes(out.claims, now));
  return out;
}

LoginTestResult MakeLoginTestResult(LoginFlow flow, const RedirectTokens& tokens, VerifiedAssertion verified) {
  return LoginTestResult{flow, std::move(verified), tokens.assertion.size(), tokens.assertion.substr(0, kPrefixChars),
                         tokens.token_type, tokens.expires_in};
}

std::string RenderLoginTest(const LoginTestResult& r) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"flow", LoginFlowName(r.flow)},
      {"assertion", absl::StrCat(r.assertion_length, " characters, starting ", r.assertion_prefix, "...")},
      {"token_type", r.token_type},
      {"expires_in", absl::StrCat(r.expires_in, " s")},
      {"header", Dump(r.verified.header)},
  };
  for (auto& row : ClaimRows(r.verified.claims)) rows.push_back(std::move(row));
  return absl::StrCat(RenderKeyValues(rows), "signature: verified with kid ", SanitizeForTerminal(r.verified.kid),
                      "\n");
}

std::string LoginTestJson(const LoginTestResult& r) {
  const json out = {{"flow", LoginFlowName(r.flow)},
                    {"assertion_length", r.assertion_length},
                    {"assertion_prefix", r.assertion_prefix},
                    {"token_type", r.token_type},
                    {"expires_in", r.expires_in},
                    {"header", r.verified.header},
                    {"claims", r.verified.claims},
                    {"signature", {{"verified", true}, {"kid", r.verified.kid}}}};
  return Dump(out) + "\n";
}

}  // namespace sase::sasectl

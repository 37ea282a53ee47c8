#include "dingtalk/internal/classify.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sase::dingtalk::internal {
namespace {

bool IsPermissionChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == ':';
}

// "subcode=90018" inside an 88 errmsg when sub_code is absent.
std::optional<int64_t> SubcodeFromMessage(std::string_view msg) {
  size_t pos = msg.find("subcode=");
  if (pos == std::string_view::npos) return std::nullopt;
  pos += 8;
  size_t end = pos;
  while (end < msg.size() && (absl::ascii_isdigit(static_cast<unsigned char>(msg[end])) || msg[end] == '-')) ++end;
  int64_t v = 0;
  if (end > pos && absl::SimpleAtoi(std::string(msg.substr(pos, end - pos)), &v)) return v;
  return std::nullopt;
}

Classified Fail(ApiError reason, std::string code, std::string message) {
  Classified c;
  c.reason = reason;
  c.code = std::move(code);
  c.message = std::move(message);
  return c;
}

Classified ClassifyNewApiError(long http_status, const Json* body, bool is_token_call) {
  std::string code = body ? GetString(*body, "code") : "";
  if (code.empty() && body) code = GetString(*body, "Code");
  std::string message = body ? GetString(*body, "message") : "";
  if (message.empty() && body) message = GetString(*body, "Message");
  Classified c;
  c.code = code.empty() ? absl::StrCat("http_", http_status) : code;
  c.message = message;
  if (http_status >= 500) {
    c.reason = ApiError::kUnreachable;
    return c;
  }
  if (code == "invalidClientIdOrSecret" || absl::StrContains(code, "InvalidClientIdOrSecret")) {
    c.reason = ApiError::kAuth;
  } else if (code == "InvalidAuthentication" || code == "accesstoken.expired" ||
             absl::StartsWith(code, "AuthenticationFailed") || http_status == 401) {
    c.reason = ApiError::kAuth;
    c.token_invalid = !is_token_call;
  } else if (absl::StrContains(code, "AccessTokenPermissionDenied")) {
    c.reason = ApiError::kPermissionDenied;
    if (body) {
      if (const Json* detail = Member(*body, "AccessDeniedDetail")) {
        if (const Json* scopes = Member(*detail, "requiredScopes")) {
          std::vector<std::string> list = AsStringList(*scopes);
          if (!list.empty()) c.permission = list.front();
        }
      }
    }
    if (c.permission.empty()) c.permission = PermissionFromMessage(message);
  } else if (absl::StrContains(code, "QpsLimit") || absl::StrContains(code, "QpmLimit") || http_status == 429) {
    c.reason = ApiError::kThrottled;
  } else if (absl::StrContains(code, "IpNotInWhiteList")) {
    c.reason = ApiError::kIpNotAllowed;
  } else if (absl::StrContains(code, "ApiCountLimit")) {
    c.reason = ApiError::kQuotaExhausted;
  } else if (http_status == 404 || absl::StrContains(absl::AsciiStrToLower(code), "notfound")) {
    c.reason = ApiError::kNotFound;
  } else if (http_status == 403) {
    c.reason = ApiError::kPermissionDenied;
    c.permission = PermissionFromMessage(message);
  } else if (http_status >= 400) {
    c.reason = ApiError::kInvalidArgument;
  } else {
    c.reason = ApiError::kUnknown;
  }
  return c;
}

}  // namespace

std::string PermissionFromMessage(std::string_view message) {
  // ASCII brackets or the full-width 【】 (UTF-8 E3 80 90 / E3 80 91).
  static constexpr std::string_view kOpen[] = {"[", "\xE3\x80\x90"};
  for (std::string_view open : kOpen) {
    size_t pos = 0;
    while ((pos = message.find(open, pos)) != std::string_view::npos) {
      pos += open.size();
      size_t end = pos;
      while (end < message.size() && IsPermissionChar(message[end])) ++end;
      std::string_view candidate = message.substr(pos, end - pos);
      bool closed = end < message.size() && (message[end] == ']' || message.substr(end).starts_with("\xE3\x80\x91"));
      if (closed && !candidate.empty() && !candidate.starts_with("subcode")) return std::string(candidate);
    }
  }
  return "";
}

namespace {

// An HTML page (by Content-Type or by its first character, whatever the Content-Type says).
bool IsHtmlBody(std::string_view content_type, std::string_view body) {
  if (absl::StrContains(absl::AsciiStrToLower(std::string(content_type)), "text/html")) return true;
  size_t first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '<';
}

// The gateway's JSON form of the ban: {"status":1111,...} or a "punish" member.
bool IsIpBanObject(const Json* obj) {
  return obj != nullptr && (GetInt(*obj, "status") == 1111 || Member(*obj, "punish") != nullptr);
}

}  // namespace

bool IsIpBanBody(std::string_view content_type, std::string_view body) {
  if (IsHtmlBody(content_type, body)) return true;
  std::optional<Json> j = ParseJson(body);
  return IsIpBanObject(j.has_value() && j->is_object() ? &*j : nullptr);
}

ApiError ClassifyErrcode(int64_t errcode, bool is_token_call, bool* token_invalid) {
  *token_invalid = false;
  switch (errcode) {
    case 0:
      return ApiError::kNone;
    case -1:
      return ApiError::kUnreachable;  // system busy: retry
    case 60003:
    case 60121:
    case 33012:
      return ApiError::kNotFound;
    case 60011:
    case 43007:
      return ApiError::kPermissionDenied;
    case 50002:
    case 50004:
      return ApiError::kOutOfScope;
    case 90001:
    case 90002:
    case 90003:
    case 90004:
    case 90005:
    case 90006:
    case 90017:
    case 90018:
    case 90019:
      return ApiError::kThrottled;
    case 90020:
      return ApiError::kQuotaExhausted;
    case 40089:
    case 40096:
      return ApiError::kAuth;
    case 40000:  // token blank (seen as 88/40000)
    case 40001:
    case 40014:
    case 41001:
    case 42001:
      *token_invalid = !is_token_call;
      return ApiError::kAuth;
    case 60020:
      return ApiError::kIpNotAllowed;
    case 40078:
      return ApiError::kInvalidAuthCode;
    case 40009:
    case 40035:
    case 40068:
    case 40069:
    case 400001:
    case 400002:
      return ApiError::kInvalidArgument;
    default:
      return ApiError::kUnknown;
  }
}

Classified ClassifyResponse(ApiStyle style, long http_status, std::string_view content_type, std::string_view body,
                            bool is_token_call) {
  // A gateway's own error page (Tengine's "<title>502 Bad Gateway</title>") is a transient 5xx, not
  // the IP ban: same handling, but the operator must not be told the egress IP is banned.
  if (http_status >= 500 && http_status < 600 &&
      body.find(absl::StrCat("<title>", http_status, " ")) != std::string_view::npos) {
    return Fail(ApiError::kUnreachable, absl::StrCat("http_", http_status),
                absl::StrCat("DingTalk's gateway answered HTTP ", http_status));
  }
  // The body is parsed once, here (it used to be parsed a second time for the IP-ban check: half
  // of a user page's cost in sync_worker).
  const bool html = IsHtmlBody(content_type, body);
  std::optional<Json> parsed = html ? std::nullopt : ParseJson(body);
  const Json* obj = (parsed.has_value() && parsed->is_object()) ? &*parsed : nullptr;
  if (html || IsIpBanObject(obj)) {
    return Fail(ApiError::kUnreachable, "ip_ban",
                absl::StrCat("DingTalk answered with the IP-ban page (HTTP ", http_status, ")"));
  }

  if (style == ApiStyle::kNewApi) {
    if (http_status >= 200 && http_status < 300) {
      if (obj == nullptr)
        return Fail(ApiError::kBadResponse, absl::StrCat("http_", http_status), "body is not a JSON object");
      Classified ok;
      ok.body = std::move(*parsed);
      return ok;
    }
    return ClassifyNewApiError(http_status, obj, is_token_call);
  }

  // Old API.
  if (http_status >= 500) {
    return Fail(ApiError::kUnreachable, absl::StrCat("http_", http_status), absl::StrCat("HTTP ", http_status));
  }
  if (obj == nullptr) {
    if (http_status != 200) {
      return Fail(ApiError::kUnreachable, absl::StrCat("http_", http_status), absl::StrCat("HTTP ", http_status));
    }
    return Fail(ApiError::kBadResponse, "http_200", "body is not a JSON object");
  }
  std::optional<int64_t> errcode = GetInt(*obj, "errcode");
  if (!errcode.has_value()) {
    if (http_status >= 400) return ClassifyNewApiError(http_status, obj, is_token_call);
    // Some gateways answer with a new-API style body; anything else without errcode is malformed.
    if (Member(*obj, "code") != nullptr) return ClassifyNewApiError(http_status, obj, is_token_call);
    return Fail(ApiError::kBadResponse, absl::StrCat("http_", http_status), "response has no errcode");
  }
  std::string errmsg = GetString(*obj, "errmsg");
  if (*errcode == 0 && (http_status < 200 || http_status >= 300)) {
    // errcode 0 under a non-2xx status (found by fuzz/response_fuzzer.cc) is not a success: the
    // status wins, as it does for a body without errcode.
    if (http_status >= 400) return ClassifyNewApiError(http_status, obj, is_token_call);
    return Fail(ApiError::kUnreachable, absl::StrCat("http_", http_status), absl::StrCat("HTTP ", http_status));
  }
  if (*errcode == 0) {
    Classified ok;
    ok.body = std::move(*parsed);
    return ok;
  }
  Classified c;
  c.message = errmsg;
  int64_t effective = *errcode;
  c.code = std::to_string(*errcode);
  if (*errcode == 88) {
    std::optional<int64_t> sub = GetInt(*obj, "sub_code");
    if (!sub.has_value()) sub = GetInt(*obj, "subcode");
    if (!sub.has_value()) sub = SubcodeFromMessage(errmsg);
    if (sub.has_value()) {
      effective = *sub;
      c.code = absl::StrCat("88/", *sub);
    }
    std::string sub_msg = GetString(*obj, "sub_msg");
    if (!sub_msg.empty() && !absl::StrContains(errmsg, sub_msg)) absl::StrAppend(&c.message, ": ", sub_msg);
  }
  c.reason = ClassifyErrcode(effective, is_token_call, &c.token_invalid);
  // 88 without a usable sub_code, or one that reads as 0 ("subcode=-000", found by
  // fuzz/response_fuzzer.cc), is still an error: never the success an errcode 0 would be.
  if (effective == 88 || c.reason == ApiError::kNone) c.reason = ApiError::kUnknown;
  if (c.reason == ApiError::kPermissionDenied) c.permission = PermissionFromMessage(c.message);
  // A 403 carried inside an old-API body ("errcode":403 + "AccessTokenPermissionDenied: ...").
  if (c.reason == ApiError::kUnknown && absl::StrContains(errmsg, "AccessTokenPermissionDenied")) {
    c.reason = ApiError::kPermissionDenied;
    c.permission = PermissionFromMessage(errmsg);
  }
  return c;
}

}  // namespace sase::dingtalk::internal

#pragma once
// Maps one HTTP response from DingTalk to success (a parsed JSON body) or a typed error.
// Pure functions, no I/O: unit-tested on their own.

#include <string>
#include <string_view>

#include "dingtalk/error.h"
#include "dingtalk/internal/json_util.h"

namespace sase::dingtalk::internal {

enum class ApiStyle {
  kOapi,    // oapi.dingtalk.com: HTTP 200 + errcode/errmsg
  kNewApi,  // api.dingtalk.com/v1.0: HTTP 2xx, errors as HTTP 4xx {code,message}
};

struct Classified {
  ApiError reason = ApiError::kNone;  // kNone = success, `body` holds the parsed object
  bool token_invalid = false;         // refresh the app token once and retry
  std::string code;                   // DingTalk code: "60011", "88/90018", "InvalidAuthentication", "http_503"
  std::string message;                // errmsg / message (never includes the request URL)
  std::string permission;             // missing permission point when known
  Json body;
};

// `http_status` is the HTTP status, `content_type` may be empty. `is_token_call` marks the token
// endpoints, where 40001/40089/40096/invalidClientIdOrSecret mean bad credentials (no refresh).
Classified ClassifyResponse(ApiStyle style, long http_status, std::string_view content_type, std::string_view body,
                            bool is_token_call);

// Maps an old-API errcode (and the 88 wrapper's sub_code) to a reason; sets token_invalid.
ApiError ClassifyErrcode(int64_t errcode, bool is_token_call, bool* token_invalid);

// The permission point named in a message such as "应用尚未开通所需的权限：[qyapi_get_member]", or "".
std::string PermissionFromMessage(std::string_view message);

// True for the IP-ban answer: an HTML page, or JSON {"status":1111,...,"punish":"deny"}.
bool IsIpBanBody(std::string_view content_type, std::string_view body);

}  // namespace sase::dingtalk::internal

#pragma once
// Sends one markdown message to a DingTalk custom robot:
//
//   POST <robot_url>?access_token=<token>&timestamp=<ms>&sign=<urlencoded base64 HMAC>
//   {"msgtype":"markdown","markdown":{"title":...,"text":...}}
//
// and sorts DingTalk's answer ({"errcode":0,"errmsg":"ok"} on success) into what the relay does
// next. The URL carries the access token and is never logged; transport errors from
// dingtalk::CurlTransport carry no query string.

#include <cstdint>
#include <string>

#include "alert_relay/markdown.h"
#include "common/clock.h"
#include "dingtalk/http_transport.h"

namespace sase::alert_relay {

// DingTalk's robot errcodes the relay acts on.
inline constexpr int64_t kErrTokenInvalid = 300001;  // token is not exist
inline constexpr int64_t kErrSignMismatch = 310000;  // sign not match / invalid timestamp (and other security settings)
inline constexpr int64_t kErrTooFast = 410100;       // send too fast, exceed 20 times per minute (muted 10 min)
inline constexpr int64_t kErrTooLong = 460101;       // message too long
inline constexpr int64_t kErrBusy = -1;              // 系统繁忙

enum class SendOutcome {
  kSent,
  kTooFast,    // 410100: pause, drop
  kRejected,   // a DingTalk refusal that a retry cannot fix (token, sign, content): drop
  kRetryable,  // transport failure, HTTP 5xx, errcode -1 or an unreadable answer: Alertmanager may retry
};

struct SendResult {
  SendOutcome outcome = SendOutcome::kRetryable;
  // A bounded metric label: the errcode for the codes DingTalk documents for robots ("310000",
  // "-1", ...), "other" for any other errcode, "http_<status>", "unreachable", "bad_response";
  // "" when sent.
  std::string error;
  std::string errmsg;  // DingTalk's errmsg (or the transport error), for the log
};

class RobotClient {
 public:
  struct Options {
    std::string url = "https://oapi.dingtalk.com/robot/send";  // no query
    std::string access_token;
    std::string secret;
  };

  RobotClient(Options options, dingtalk::HttpTransport& transport, common::Clock& clock);

  SendResult Send(const RobotMarkdown& message);

  // The signed request URL for a timestamp (exposed for tests).
  std::string SignedUrl(int64_t timestamp_ms) const;

 private:
  const Options options_;
  dingtalk::HttpTransport& transport_;
  common::Clock& clock_;
};

}  // namespace sase::alert_relay

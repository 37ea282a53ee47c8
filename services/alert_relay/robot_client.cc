#include "alert_relay/robot_client.h"

#include "absl/strings/str_cat.h"
#include "common/web.h"
#include "dingtalk/robot_signature.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;

std::string ErrcodeLabel(int64_t errcode) {
  switch (errcode) {
    case kErrTokenInvalid: case kErrSignMismatch: case kErrTooFast: case kErrTooLong: case kErrBusy:
    case 40035:   // missing or malformed parameter
    case 430101:  // robot disabled / not in group
      return std::to_string(errcode);
    default:
      return "other";
  }
}

SendResult Fail(SendOutcome outcome, std::string error, std::string errmsg) {
  return SendResult{outcome, std::move(error), std::move(errmsg)};
}

}  // namespace

RobotClient::RobotClient(Options options, dingtalk::HttpTransport& transport, common::Clock& clock)
    : options_(std::move(options)), transport_(transport), clock_(clock) {}

std::string RobotClient::SignedUrl(int64_t timestamp_ms) const {
  return common::AppendQuery(options_.url, {{"access_token", options_.access_token},
                                            {"timestamp", std::to_string(timestamp_ms)},
                                            {"sign", dingtalk::RobotSignature(timestamp_ms, options_.secret)}});
}

SendResult RobotClient::Send(const RobotMarkdown& message) {
  dingtalk::HttpRequest request;
  request.method = "POST";
  request.url = SignedUrl(absl::ToUnixMillis(clock_.Now()));
  request.headers = {"Content-Type: application/json;charset=utf-8"};
  const json body = {{"msgtype", "markdown"}, {"markdown", {{"title", message.title}, {"text", message.text}}}};
  request.body = body.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);

  absl::StatusOr<dingtalk::HttpResponse> response = transport_.Do(request);
  if (!response.ok()) return Fail(SendOutcome::kRetryable, "unreachable", std::string(response.status().message()));
  if (response->status >= 500) {
    return Fail(SendOutcome::kRetryable, absl::StrCat("http_", response->status), "DingTalk answered a server error");
  }
  if (response->status != 200) {
    return Fail(SendOutcome::kRejected, absl::StrCat("http_", response->status), "DingTalk refused the request");
  }
  const json answer = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  auto code = answer.is_object() ? answer.find("errcode") : answer.end();
  if (!answer.is_object() || code == answer.end() || !code->is_number_integer()) {
    // An HTML page with 200 (a proxy, an IP ban) is not DingTalk's verdict on the message.
    return Fail(SendOutcome::kRetryable, "bad_response", "DingTalk's answer has no errcode");
  }
  const int64_t errcode = code->get<int64_t>();
  auto msg = answer.find("errmsg");
  std::string errmsg = msg != answer.end() && msg->is_string() ? msg->get<std::string>() : "";
  if (errcode == 0) return SendResult{SendOutcome::kSent, "", std::move(errmsg)};
  if (errcode == kErrTooFast) return Fail(SendOutcome::kTooFast, ErrcodeLabel(errcode), std::move(errmsg));
  if (errcode == kErrBusy) return Fail(SendOutcome::kRetryable, ErrcodeLabel(errcode), std::move(errmsg));
  return Fail(SendOutcome::kRejected, ErrcodeLabel(errcode), std::move(errmsg));
}

}  // namespace sase::alert_relay

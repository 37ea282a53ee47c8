#include "callback/error.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace sase::callback {
namespace {

constexpr char kReasonTypeUrl[] = "type.sase/callback.reason";

struct ReasonInfo {
  CallbackError reason;
  std::string_view name;
  absl::StatusCode code;
  int http;
};

constexpr std::array<ReasonInfo, 15> kReasons{{
    {CallbackError::kNone, "none", absl::StatusCode::kOk, 200},
    {CallbackError::kMissingSignature, "missing_signature", absl::StatusCode::kUnauthenticated, 401},
    {CallbackError::kMissingParam, "missing_param", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadSignature, "bad_signature", absl::StatusCode::kUnauthenticated, 401},
    {CallbackError::kBadTimestamp, "bad_timestamp", absl::StatusCode::kUnauthenticated, 401},
    {CallbackError::kBadBody, "bad_body", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadBase64, "bad_base64", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadCiphertext, "bad_ciphertext", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadPadding, "bad_padding", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadLength, "bad_length", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kWrongReceiver, "wrong_receiver", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadJson, "bad_json", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadEvent, "bad_event", absl::StatusCode::kInvalidArgument, 400},
    {CallbackError::kBadKey, "bad_key", absl::StatusCode::kFailedPrecondition, 500},
    {CallbackError::kInternal, "internal", absl::StatusCode::kInternal, 500},
}};

const ReasonInfo& Info(CallbackError reason) {
  for (const ReasonInfo& info : kReasons) {
    if (info.reason == reason) return info;
  }
  return kReasons.back();  // unreachable for valid enum values
}

}  // namespace

std::string_view ReasonName(CallbackError reason) { return Info(reason).name; }

int HttpStatusFor(CallbackError reason) { return Info(reason).http; }

absl::Status MakeError(CallbackError reason, std::string_view message) {
  const ReasonInfo& info = Info(reason);
  if (info.code == absl::StatusCode::kOk) return absl::OkStatus();
  std::string text(info.name);
  text.append(": ").append(message);
  absl::Status status(info.code, text);
  status.SetPayload(kReasonTypeUrl, absl::Cord(std::string(info.name)));
  return status;
}

CallbackError ReasonOf(const absl::Status& status) {
  if (status.ok()) return CallbackError::kNone;
  absl::optional<absl::Cord> payload = status.GetPayload(kReasonTypeUrl);
  if (!payload.has_value()) return CallbackError::kNone;
  const std::string name(*payload);
  for (const ReasonInfo& info : kReasons) {
    if (info.name == name) return info.reason;
  }
  return CallbackError::kNone;
}

}  // namespace sase::callback

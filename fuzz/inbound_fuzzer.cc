// libFuzzer target over the whole DingTalk push inbound path (sase::callback::CallbackCodec::Open).
//
// Input layout: byte 0 selects the mode (bits 0-1) and the CorpId-receiver option (bit 2); the rest
// is split at the first three '\n' into signature, timestamp, nonce and a payload:
//   mode 0: payload = HTTP body, signature as given (exercises parameter/body/signature checks);
//   mode 1: payload = HTTP body, the harness signs its "encrypt" correctly (base64/AES/padding);
//   mode 2: payload = the decrypted plaintext buffer, which the harness pads, encrypts and signs
//           (length field, receiver id, event JSON);
//   mode 3: payload = the event JSON, which the harness wraps in a valid envelope for the AppKey.
// Invariants: every failure carries a CallbackError reason; every success has a receiver id that
// is one of the configured ones, a non-empty dedupe key and (mode 3) the message as raw_json.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "callback/crypto.h"
#include "callback/error.h"
#include "callback/event.h"
#include "callback/inbound.h"
#include "nlohmann/json.hpp"

namespace {

using sase::callback::CallbackCodec;
using sase::callback::CallbackError;
using sase::callback::CallbackKeys;
using sase::callback::CallbackQuery;

// The keys of the official-py3-check_url vector, so that vector is a valid seed.
constexpr char kToken[] = "mryue";
constexpr char kAesKey[] = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7";
constexpr char kAppKey[] = "ding6ccabc44d2c8d38b";
constexpr char kCorpId[] = "dingcorp0001";
constexpr std::int64_t kNowMs = 1608001896814;

const CallbackCodec& Codec(bool accept_corp) {
  static const CallbackCodec* const codecs[2] = {
      new CallbackCodec(*CallbackCodec::Create({kToken, kAesKey, kAppKey, kCorpId, false})),
      new CallbackCodec(*CallbackCodec::Create({kToken, kAesKey, kAppKey, kCorpId, true})),
  };
  return *codecs[accept_corp ? 1 : 0];
}

std::string_view NextLine(std::string_view& rest) {
  const std::size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) {
    std::string_view all = rest;
    rest = {};
    return all;
  }
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return line;
}

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] & 3;
  const bool accept_corp = (data[0] & 4) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  CallbackQuery query;
  query.signature = std::string(NextLine(rest));
  query.timestamp = std::string(NextLine(rest));
  query.nonce = std::string(NextLine(rest));
  const std::string payload(rest);
  const CallbackCodec& codec = Codec(accept_corp);

  std::string body;
  switch (mode) {
    case 0:
      body = payload;
      break;
    case 1: {
      body = payload;
      nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("encrypt") && j["encrypt"].is_string()) {
        query.signature = sase::callback::ComputeSignature(
            kToken, query.timestamp, query.nonce, j["encrypt"].get<std::string>());
      }
      break;
    }
    case 2:
    case 3: {
      std::string plaintext = payload;
      if (mode == 3) {
        absl::StatusOr<std::string> env =
            sase::callback::PackEnvelope("0123456789abcdef", payload, kAppKey);
        Check(env.ok());
        plaintext = *env;
      }
      absl::StatusOr<std::string> enc = codec.cipher().EncryptRaw(plaintext);
      if (!enc.ok()) return 0;  // only for inputs far beyond -max_len
      body = nlohmann::json{{"encrypt", *enc}}.dump();
      query.signature =
          sase::callback::ComputeSignature(kToken, query.timestamp, query.nonce, *enc);
      break;
    }
  }

  absl::StatusOr<sase::callback::VerifiedEvent> result =
      codec.Open(query, body, absl::FromUnixMillis(kNowMs));
  static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::cerr << "mode " << mode << ": "
              << (result.ok() ? std::string("ok ") + result->event.event_type
                              : std::string(sase::callback::ReasonName(
                                    sase::callback::ReasonOf(result.status()))))
              << "\n";
  }
  if (!result.ok()) {
    Check(sase::callback::ReasonOf(result.status()) != CallbackError::kNone);
    Check(!sase::callback::ReasonName(sase::callback::ReasonOf(result.status())).empty());
    return 0;
  }
  Check(result->receiver_id == kAppKey || (accept_corp && result->receiver_id == kCorpId));
  Check(!result->event.event_type.empty());
  Check(!result->event.dedupe_key.empty());
  Check(!sase::callback::EventKindName(result->event.kind).empty());
  if (mode == 3) Check(result->event.raw_json == payload);
  for (std::int64_t dept : result->event.dept_ids) Check(dept > 0);
  // The reply for an accepted push must itself be well-formed JSON that decrypts to "success".
  absl::StatusOr<std::string> reply =
      codec.SuccessReply(result->receiver_id, absl::FromUnixMillis(kNowMs));
  Check(reply.ok());
  nlohmann::json r = nlohmann::json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  Check(r.is_object() && r["encrypt"].is_string());
  absl::StatusOr<sase::callback::DecryptedMessage> back =
      codec.cipher().Decrypt(r["encrypt"].get<std::string>());
  Check(back.ok() && back->message == "success" && back->receiver_id == result->receiver_id);
  return 0;
}

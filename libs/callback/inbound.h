#pragma once
// The whole inbound path of a DingTalk HTTP push (PROTOCOL.md §1.2–§1.6, §1.8) and the reply
// (§1.7), with no HTTP or database types: query parameters, raw body and the source's keys in,
// a verified, decrypted, parsed event (or a status carrying a CallbackError reason) out.
//
// Order of checks: query parameters → body JSON → signature (constant time) → timestamp window →
// base64/AES/padding/length → receiver id → event JSON.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "callback/crypto.h"
#include "callback/event.h"

namespace sase::callback {

inline constexpr absl::Duration kDefaultTimestampWindow = absl::Hours(1);

// The three query parameters, already URL-decoded. Empty string = absent.
struct CallbackQuery {
  std::string signature;  // msg_signature, else signature
  std::string timestamp;  // timestamp, else timeStamp
  std::string nonce;
};

// Picks the parameters from any map-like container of string → string with find()/end()
// (std::map, std::multimap as used by cpp-httplib, absl::flat_hash_map).
template <typename Map>
CallbackQuery QueryFromParams(const Map& params) {
  auto get = [&params](const char* key) -> std::string {
    auto it = params.find(key);
    return it == params.end() ? std::string() : std::string(it->second);
  };
  CallbackQuery q;
  q.signature = get("msg_signature");
  if (q.signature.empty()) q.signature = get("signature");
  q.timestamp = get("timestamp");
  if (q.timestamp.empty()) q.timestamp = get("timeStamp");
  q.nonce = get("nonce");
  return q;
}

// One identity source's callback keys (secrets: never log them).
struct CallbackKeys {
  std::string token;
  std::string aes_key;  // 43 chars of [A-Za-z0-9]
  std::string app_key;  // the expected receiver id
  std::string corp_id;  // also accepted as receiver id when accept_corp_id_receiver
  bool accept_corp_id_receiver = false;
};

struct VerifiedEvent {
  Event event;
  // The receiver id that matched (the AppKey, or the CorpId when allowed); encrypt the reply
  // with it.
  std::string receiver_id;
  std::int64_t request_timestamp_ms = 0;
};

// Parses the request timestamp: decimal digits, milliseconds; values below 10^11 are taken as
// seconds (the doc's 10-digit placeholders). kMissingParam when empty, kBadTimestamp otherwise.
absl::StatusOr<std::int64_t> ParseRequestTimestampMs(std::string_view timestamp);

// Validated keys + decoded AES key of one source; build once per key version and reuse.
class CallbackCodec {
 public:
  // kBadKey when the aes_key is malformed, the token is empty or the AppKey is empty (or
  // accept_corp_id_receiver is set with an empty CorpId).
  static absl::StatusOr<CallbackCodec> Create(CallbackKeys keys);

  // The whole inbound path. `window`: allowed |now − timestamp|.
  absl::StatusOr<VerifiedEvent> Open(const CallbackQuery& query, std::string_view body,
                                     absl::Time now,
                                     absl::Duration window = kDefaultTimestampWindow) const;

  // The HTTP 200 body answering a push: {"msg_signature","timeStamp","nonce","encrypt"} around
  // "success", timeStamp = now in ms, a fresh 16-char nonce and fresh random bytes.
  absl::StatusOr<std::string> SuccessReply(std::string_view receiver_id, absl::Time now) const;

  // Deterministic reply for known-answer tests: timestamp must be decimal digits, nonce 1–64
  // characters of [A-Za-z0-9], random 16 bytes (kBadKey-free; kMissingParam/kBadLength on misuse).
  absl::StatusOr<std::string> BuildReply(std::string_view message, std::string_view receiver_id,
                                         std::string_view timestamp, std::string_view nonce,
                                         std::string_view random) const;

  const CallbackCipher& cipher() const { return cipher_; }

 private:
  CallbackCodec(CallbackKeys keys, CallbackCipher cipher)
      : keys_(std::move(keys)), cipher_(std::move(cipher)) {}
  absl::StatusOr<std::string> MatchReceiver(std::string_view receiver_id) const;

  CallbackKeys keys_;
  CallbackCipher cipher_;
};

// One-shot convenience: CallbackCodec::Create(keys) then Open(...).
absl::StatusOr<VerifiedEvent> OpenCallback(const CallbackQuery& query, std::string_view body,
                                           const CallbackKeys& keys, absl::Time now,
                                           absl::Duration window = kDefaultTimestampWindow);

}  // namespace sase::callback

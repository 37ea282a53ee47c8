#include "callback/inbound.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <system_error>
#include <utility>

#include "callback/error.h"
#include "nlohmann/json.hpp"

namespace sase::callback {
namespace {

using Json = nlohmann::json;

constexpr std::int64_t kSecondsThreshold = 100'000'000'000;  // 10^11
constexpr std::size_t kNonceChars = 16;
constexpr std::size_t kMaxNonceChars = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

absl::StatusOr<std::string> ExtractEncrypt(std::string_view body) {
  Json root = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return MakeError(CallbackError::kBadBody, "body is not a JSON object");
  }
  auto it = root.find("encrypt");
  if (it == root.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return MakeError(CallbackError::kBadBody, "body has no string \"encrypt\"");
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> RandomNonce() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";  // 62 chars
  std::string nonce;
  while (nonce.size() < kNonceChars) {
    std::array<unsigned char, 32> buf{};
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
      return MakeError(CallbackError::kInternal, "RAND_bytes failed");
    }
    for (unsigned char b : buf) {
      if (b < 248 && nonce.size() < kNonceChars) nonce.push_back(kAlphabet[b % 62]);  // no bias
    }
  }
  return nonce;
}

}  // namespace

absl::StatusOr<std::int64_t> ParseRequestTimestampMs(std::string_view timestamp) {
  if (timestamp.empty()) return MakeError(CallbackError::kMissingParam, "timestamp missing");
  if (timestamp.size() > 19 || !std::all_of(timestamp.begin(), timestamp.end(), IsDigit)) {
    return MakeError(CallbackError::kBadTimestamp, "timestamp is not a decimal number");
  }
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), value);
  if (ec != std::errc() || ptr != timestamp.data() + timestamp.size()) {
    return MakeError(CallbackError::kBadTimestamp, "timestamp out of range");
  }
  if (value < kSecondsThreshold) value *= 1000;
  return value;
}

absl::StatusOr<CallbackCodec> CallbackCodec::Create(CallbackKeys keys) {
  if (keys.token.empty()) return MakeError(CallbackError::kBadKey, "token is empty");
  if (keys.app_key.empty()) return MakeError(CallbackError::kBadKey, "app_key is empty");
  if (keys.accept_corp_id_receiver && keys.corp_id.empty()) {
    return MakeError(CallbackError::kBadKey, "corp_id receiver accepted but corp_id is empty");
  }
  absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(keys.aes_key);
  if (!cipher.ok()) return cipher.status();
  return CallbackCodec(std::move(keys), *std::move(cipher));
}

absl::StatusOr<std::string> CallbackCodec::MatchReceiver(std::string_view receiver_id) const {
  if (receiver_id == keys_.app_key) return keys_.app_key;
  if (keys_.accept_corp_id_receiver && receiver_id == keys_.corp_id) return keys_.corp_id;
  return MakeError(CallbackError::kWrongReceiver,
                   keys_.accept_corp_id_receiver
                       ? "receiver id is neither the AppKey nor the CorpId"
                       : "receiver id is not the AppKey");
}

absl::StatusOr<VerifiedEvent> CallbackCodec::Open(const CallbackQuery& query,
                                                  std::string_view body, absl::Time now,
                                                  absl::Duration window) const {
  if (query.signature.empty()) {
    return MakeError(CallbackError::kMissingSignature, "msg_signature/signature missing");
  }
  if (query.timestamp.empty()) return MakeError(CallbackError::kMissingParam, "timestamp missing");
  if (query.nonce.empty()) return MakeError(CallbackError::kMissingParam, "nonce missing");

  absl::StatusOr<std::string> encrypt = ExtractEncrypt(body);
  if (!encrypt.ok()) return encrypt.status();

  if (!VerifySignature(keys_.token, query.timestamp, query.nonce, *encrypt, query.signature)) {
    return MakeError(CallbackError::kBadSignature, "signature mismatch");
  }

  absl::StatusOr<std::int64_t> ts_ms = ParseRequestTimestampMs(query.timestamp);
  if (!ts_ms.ok()) return ts_ms.status();
  const absl::Duration skew = absl::AbsDuration(now - absl::FromUnixMillis(*ts_ms));
  if (skew > absl::AbsDuration(window)) {
    return MakeError(CallbackError::kBadTimestamp, "timestamp outside the allowed window");
  }

  absl::StatusOr<DecryptedMessage> decrypted = cipher_.Decrypt(*encrypt);
  if (!decrypted.ok()) return decrypted.status();

  absl::StatusOr<std::string> receiver = MatchReceiver(decrypted->receiver_id);
  if (!receiver.ok()) return receiver.status();

  absl::StatusOr<Event> event = ParseEvent(decrypted->message, *ts_ms);
  if (!event.ok()) return event.status();

  VerifiedEvent out;
  out.event = *std::move(event);
  out.receiver_id = *std::move(receiver);
  out.request_timestamp_ms = *ts_ms;
  return out;
}

absl::StatusOr<std::string> CallbackCodec::BuildReply(std::string_view message,
                                                      std::string_view receiver_id,
                                                      std::string_view timestamp,
                                                      std::string_view nonce,
                                                      std::string_view random) const {
  if (timestamp.empty() || timestamp.size() > 20 ||
      !std::all_of(timestamp.begin(), timestamp.end(), IsDigit)) {
    return MakeError(CallbackError::kMissingParam, "reply timestamp must be decimal digits");
  }
  if (nonce.empty() || nonce.size() > kMaxNonceChars ||
      !std::all_of(nonce.begin(), nonce.end(), IsAlnum)) {
    return MakeError(CallbackError::kMissingParam, "reply nonce must be 1-64 letters/digits");
  }
  absl::StatusOr<std::string> encrypt = cipher_.EncryptWithRandom(random, message, receiver_id);
  if (!encrypt.ok()) return encrypt.status();
  Json reply = Json::object();
  reply["msg_signature"] = ComputeSignature(keys_.token, timestamp, nonce, *encrypt);
  reply["timeStamp"] = std::string(timestamp);
  reply["nonce"] = std::string(nonce);
  reply["encrypt"] = *encrypt;
  return reply.dump();
}

absl::StatusOr<std::string> CallbackCodec::SuccessReply(std::string_view receiver_id,
                                                        absl::Time now) const {
  absl::StatusOr<std::string> nonce = RandomNonce();
  if (!nonce.ok()) return nonce.status();
  std::array<unsigned char, kRandomPrefixBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return MakeError(CallbackError::kInternal, "RAND_bytes failed");
  }
  return BuildReply("success", receiver_id, std::to_string(absl::ToUnixMillis(now)), *nonce,
                    std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

absl::StatusOr<VerifiedEvent> OpenCallback(const CallbackQuery& query, std::string_view body,
                                           const CallbackKeys& keys, absl::Time now,
                                           absl::Duration window) {
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(keys);
  if (!codec.ok()) return codec.status();
  return codec->Open(query, body, now, window);
}

}  // namespace sase::callback

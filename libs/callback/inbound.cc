#include "callback/inbound.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <system_error>
#include <utility>

#include "callback/error.h"
#include "callback/json_internal.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sase::callback {
namespace {

constexpr std::int64_t kSecondsThreshold = 100'000'000'000;  // 10^11
constexpr std::size_t kNonceChars = 16;
constexpr std::size_t kMaxNonceChars = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

absl::StatusOr<std::string> ExtractEncrypt(std::string_view body) {
  json_internal::ParsedJson parsed;
  const rapidjson::Document& root = parsed.doc;
  if (!json_internal::Parse(body, parsed) || !root.IsObject()) {
    return MakeError(CallbackError::kBadBody, "body is not a JSON object");
  }
  const json_internal::Value* encrypt = json_internal::FindLastMember(root, "encrypt");
  if (encrypt == nullptr || !encrypt->IsString() || encrypt->GetStringLength() == 0) {
    return MakeError(CallbackError::kBadBody, "body has no string \"encrypt\"");
  }
  return std::string(json_internal::View(*encrypt));
}

// Appends letters/digits drawn without bias from `bytes` until the nonce has kNonceChars.
void AppendNonceChars(const unsigned char* bytes, std::size_t size, std::string& nonce) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";  // 62 chars
  for (std::size_t i = 0; i < size && nonce.size() < kNonceChars; ++i) {
    if (bytes[i] < 248) nonce.push_back(kAlphabet[bytes[i] % 62]);  // 248 = 4 * 62: no bias
  }
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
  const std::string signature = ComputeSignature(keys_.token, timestamp, nonce, *encrypt);
  // Members in the order nlohmann wrote them (sorted by key), so replies stay byte-identical.
  rapidjson::StringBuffer buffer;
  buffer.Reserve(encrypt->size() + signature.size() + timestamp.size() + nonce.size() + 64);
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto put = [&writer](std::string_view key, std::string_view value) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  writer.StartObject();
  put("encrypt", *encrypt);
  put("msg_signature", signature);
  put("nonce", nonce);
  put("timeStamp", timestamp);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<std::string> CallbackCodec::SuccessReply(std::string_view receiver_id,
                                                        absl::Time now) const {
  // One RAND_bytes call for the envelope's 16 random bytes and the nonce: each call is a DRBG
  // generate (with its own AES key schedule), several thousand instructions.
  std::array<unsigned char, kRandomPrefixBytes + 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return MakeError(CallbackError::kInternal, "RAND_bytes failed");
  }
  std::string nonce;
  nonce.reserve(kNonceChars);
  AppendNonceChars(bytes.data() + kRandomPrefixBytes, bytes.size() - kRandomPrefixBytes, nonce);
  while (nonce.size() < kNonceChars) {  // more than 16 of 32 bytes rejected: practically never
    std::array<unsigned char, 32> more{};
    if (RAND_bytes(more.data(), static_cast<int>(more.size())) != 1) {
      return MakeError(CallbackError::kInternal, "RAND_bytes failed");
    }
    AppendNonceChars(more.data(), more.size(), nonce);
  }
  const std::string_view random(reinterpret_cast<const char*>(bytes.data()), kRandomPrefixBytes);
  return BuildReply("success", receiver_id, std::to_string(absl::ToUnixMillis(now)), nonce, random);
}

absl::StatusOr<VerifiedEvent> OpenCallback(const CallbackQuery& query, std::string_view body,
                                           const CallbackKeys& keys, absl::Time now,
                                           absl::Duration window) {
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(keys);
  if (!codec.ok()) return codec.status();
  return codec->Open(query, body, now, window);
}

}  // namespace sase::callback

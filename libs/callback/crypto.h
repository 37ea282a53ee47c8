#pragma once
// DingTalk HTTP-push callback crypto (PROTOCOL.md §1.3–§1.5):
//  - signature: lowercase hex SHA-1 over token, timestamp, nonce and encrypt sorted byte-wise and
//    concatenated;
//  - cipher: AES-256-CBC, key = base64(aes_key + "="), IV = first 16 key bytes, PKCS#7 padding to
//    32-byte blocks;
//  - envelope: random[16] | msg_len[4, big-endian] | msg | receiver_id.
// Every error carries a CallbackError reason (callback/error.h). Nothing here logs, and no error
// message contains key material.

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sase::callback {

inline constexpr std::size_t kAesKeyChars = 43;
inline constexpr std::size_t kAesKeyBytes = 32;
inline constexpr std::size_t kRandomPrefixBytes = 16;
inline constexpr std::size_t kPadBlockBytes = 32;
// Upper bound on the base64 "encrypt" text accepted for decryption.
inline constexpr std::size_t kMaxEncryptChars = 8 * 1024 * 1024;

// OK when aes_key is exactly 43 characters of [A-Za-z0-9]; otherwise kBadKey.
absl::Status ValidateAesKey(std::string_view aes_key);

// Lowercase hex SHA-1 of the four strings sorted by raw byte value and concatenated.
std::string ComputeSignature(std::string_view token, std::string_view timestamp,
                             std::string_view nonce, std::string_view encrypt);

// True when `signature` (hex, either case) equals ComputeSignature(...). The comparison of the
// digests is constant time (CRYPTO_memcmp).
bool VerifySignature(std::string_view token, std::string_view timestamp, std::string_view nonce,
                     std::string_view encrypt, std::string_view signature);

// A decrypted envelope.
struct DecryptedMessage {
  std::string message;      // msg (the event JSON, or "success" in a reply)
  std::string receiver_id;  // the bytes after msg
};

// Builds random | BE32(len(message)) | message | receiver_id. random must be 16 bytes and the
// message shorter than 2^32 bytes (kBadLength otherwise).
absl::StatusOr<std::string> PackEnvelope(std::string_view random, std::string_view message,
                                         std::string_view receiver_id);
// Splits an unpadded plaintext; kBadLength when shorter than 20 bytes or msg_len runs past the end.
absl::StatusOr<DecryptedMessage> UnpackEnvelope(std::string_view plaintext);

// The AES key of one callback subscription. Cheap to copy (copies share one immutable, pre-keyed
// OpenSSL context pair, so the AES key schedule runs once per Create, not per call); the key bytes
// are wiped on destruction. Safe to use from many threads at once: the shared contexts are only
// read (duplicated per call), never updated.
class CallbackCipher {
 public:
  // kBadKey when the aes_key is malformed (see ValidateAesKey); kInternal when OpenSSL cannot set
  // up AES-256-CBC.
  static absl::StatusOr<CallbackCipher> Create(std::string_view aes_key);

  CallbackCipher(const CallbackCipher&) = default;
  CallbackCipher& operator=(const CallbackCipher&) = default;
  ~CallbackCipher();

  // base64 → AES-256-CBC → PKCS#7 (1..32) → envelope. Reasons: kBadBase64, kBadCiphertext,
  // kBadPadding, kBadLength, kInternal. The receiver id is returned, not checked.
  absl::StatusOr<DecryptedMessage> Decrypt(std::string_view encrypt_b64) const;

  // Envelope with 16 fresh bytes from RAND_bytes, padded to 32, encrypted, base64 (no newlines).
  absl::StatusOr<std::string> Encrypt(std::string_view message, std::string_view receiver_id) const;
  // Same with caller-chosen random bytes (16 bytes), for known-answer tests.
  absl::StatusOr<std::string> EncryptWithRandom(std::string_view random, std::string_view message,
                                                std::string_view receiver_id) const;

  // The raw AES layer without the envelope: base64 decode, decrypt, strip PKCS#7 (pad 1..32, all
  // pad bytes equal; 16-byte padding is accepted too).
  absl::StatusOr<std::string> DecryptRaw(std::string_view encrypt_b64) const;
  // Pads to a 32-byte multiple, encrypts, base64-encodes.
  absl::StatusOr<std::string> EncryptRaw(std::string_view plaintext) const;

  // The 32 decoded key bytes (for tests).
  const std::array<unsigned char, kAesKeyBytes>& key() const { return key_; }

 private:
  struct KeyedContexts;  // crypto.cc: EVP_CIPHER_CTX templates keyed for encrypt and decrypt

  CallbackCipher() = default;
  std::array<unsigned char, kAesKeyBytes> key_{};
  std::shared_ptr<const KeyedContexts> contexts_;
};

}  // namespace sase::callback

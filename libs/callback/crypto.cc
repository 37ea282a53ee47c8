#include "callback/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "callback/error.h"
#include "common/c_ptr.h"

namespace sase::callback {
namespace {

constexpr std::size_t kAesBlockBytes = 16;
constexpr std::size_t kEnvelopeHeaderBytes = kRandomPrefixBytes + 4;

bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The number of '=' (0-2) when `text` is canonical base64 in one piece: a non-zero multiple of 4
// characters of [A-Za-z0-9+/] with at most two '=' at the very end; npos otherwise.
std::size_t CanonicalBase64Padding(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::string_view::npos;
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  for (std::size_t i = 0; i < text.size() - pad; ++i) {
    const char c = text[i];
    if (!IsAlnum(c) && c != '+' && c != '/') return std::string_view::npos;
  }
  return pad;
}

// Strict enough base64 for the "encrypt" field: OpenSSL's decoder (whitespace ignored, '=' only as
// trailing padding, incomplete quartets rejected).
absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  if (text.empty()) return MakeError(CallbackError::kBadBase64, "empty encrypt");
  if (text.size() > kMaxEncryptChars) {
    return MakeError(CallbackError::kBadCiphertext, "encrypt too long");
  }
  std::string out(text.size() / 4 * 3 + 80, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  // Fast path for what DingTalk sends, canonical base64: the one-shot EVP_DecodeBlock gives the
  // same bytes as the streaming decoder below once the padding bytes it keeps are dropped, at a
  // fraction of the cost. Everything else (line breaks, spaces, stray '=') takes the streaming
  // decoder, whose rules decide acceptance as before.
  if (const std::size_t pad = CanonicalBase64Padding(text); pad != std::string_view::npos) {
    const int n = EVP_DecodeBlock(dst, Bytes(text), static_cast<int>(text.size()));
    if (n < 0 || static_cast<std::size_t>(n) < pad) {
      return MakeError(CallbackError::kBadBase64, "encrypt is not valid base64");
    }
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
  }
  common::CPtr<EVP_ENCODE_CTX, EVP_ENCODE_CTX_free> ctx(EVP_ENCODE_CTX_new());
  if (!ctx) return MakeError(CallbackError::kInternal, "EVP_ENCODE_CTX_new failed");
  EVP_DecodeInit(ctx.get());
  int len = 0;
  int final_len = 0;
  if (EVP_DecodeUpdate(ctx.get(), dst, &len, Bytes(text), static_cast<int>(text.size())) < 0 ||
      EVP_DecodeFinal(ctx.get(), dst + len, &final_len) < 0) {
    return MakeError(CallbackError::kBadBase64, "encrypt is not valid base64");
  }
  out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len));
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), Bytes(bytes),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Algorithms fetched once per process. EVP_aes_256_cbc()/EVP_sha1() make every EVP_*Init_ex
// call run an implicit fetch (a method-store lookup under a lock) and, in OpenSSL 3.0, also an
// ENGINE table lookup under the global engine lock: together a visible share of each push's CPU.
// Function-local statics are initialised exactly once and thread-safely. They are deliberately
// never freed: other threads may still hash or decrypt while static destructors run at exit, and
// the process is about to release everything anyway.
const EVP_CIPHER* Aes256Cbc() {
  static const EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

// A SHA-1 context initialised once; every signature duplicates it (EVP_MD_CTX_copy_ex), which
// skips EVP_DigestInit_ex's per-call fetch and ENGINE lookup. Only ever read after creation.
const EVP_MD_CTX* Sha1Template() {
  static const EVP_MD_CTX* const tmpl = []() -> const EVP_MD_CTX* {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    EVP_MD_CTX* ctx = md != nullptr ? EVP_MD_CTX_new() : nullptr;
    const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, md, nullptr) == 1;
    EVP_MD_free(md);  // the context holds its own reference
    if (!ok) {
      EVP_MD_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }();
  return tmpl;
}

// A context keyed once (AES key schedule, IV = first 16 key bytes, no cipher-layer padding).
EVP_CIPHER_CTX* NewKeyedContext(const std::array<unsigned char, kAesKeyBytes>& key, bool encrypt) {
  const EVP_CIPHER* cipher = Aes256Cbc();
  if (cipher == nullptr) return nullptr;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return nullptr;
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, key.data(), key.data(), encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

// AES-256-CBC without cipher-layer padding on a private duplicate of a keyed template (the
// template itself is never updated, so concurrent callers only read it); input must be a multiple
// of 16.
absl::StatusOr<std::string> AesCbc(const EVP_CIPHER_CTX* keyed, std::string_view input) {
  if (keyed == nullptr) return MakeError(CallbackError::kInternal, "AES context missing");
  common::CPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return MakeError(CallbackError::kInternal, "EVP_CIPHER_CTX_new failed");
  if (EVP_CIPHER_CTX_copy(ctx.get(), keyed) != 1) {
    return MakeError(CallbackError::kInternal, "AES init failed");
  }
  std::string out(input.size() + kAesBlockBytes, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  int final_len = 0;
  if (EVP_CipherUpdate(ctx.get(), dst, &len, Bytes(input), static_cast<int>(input.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), dst + len, &final_len) != 1) {
    return MakeError(CallbackError::kInternal, "AES operation failed");
  }
  out.resize(static_cast<std::size_t>(len) + static_cast<std::size_t>(final_len));
  return out;
}

}  // namespace

struct CallbackCipher::KeyedContexts {
  KeyedContexts() = default;
  KeyedContexts(const KeyedContexts&) = delete;
  KeyedContexts& operator=(const KeyedContexts&) = delete;
  ~KeyedContexts() {
    // EVP_CIPHER_CTX_free wipes the key schedule.
    EVP_CIPHER_CTX_free(encrypt);
    EVP_CIPHER_CTX_free(decrypt);
  }
  EVP_CIPHER_CTX* encrypt = nullptr;
  EVP_CIPHER_CTX* decrypt = nullptr;
};

absl::Status ValidateAesKey(std::string_view aes_key) {
  if (aes_key.size() != kAesKeyChars) {
    return MakeError(CallbackError::kBadKey, "aes_key must be 43 characters");
  }
  if (!std::all_of(aes_key.begin(), aes_key.end(), IsAlnum)) {
    return MakeError(CallbackError::kBadKey, "aes_key must be letters and digits only");
  }
  return absl::OkStatus();
}

std::string ComputeSignature(std::string_view token, std::string_view timestamp,
                             std::string_view nonce, std::string_view encrypt) {
  std::array<std::string_view, 4> parts{token, timestamp, nonce, encrypt};
  std::sort(parts.begin(), parts.end());  // string_view compares bytes as unsigned char
  const EVP_MD_CTX* tmpl = Sha1Template();
  EVP_MD_CTX* ctx = tmpl != nullptr ? EVP_MD_CTX_new() : nullptr;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  bool ok = ctx != nullptr && EVP_MD_CTX_copy_ex(ctx, tmpl) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return std::string();  // never equal to a 40-char signature
  return absl::BytesToHexString(std::string(reinterpret_cast<const char*>(digest), digest_len));
}

bool VerifySignature(std::string_view token, std::string_view timestamp, std::string_view nonce,
                     std::string_view encrypt, std::string_view signature) {
  const std::string expected = ComputeSignature(token, timestamp, nonce, encrypt);
  if (expected.empty() || signature.size() != expected.size()) return false;
  std::string received(signature);
  for (char& c : received) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return CRYPTO_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

absl::StatusOr<std::string> PackEnvelope(std::string_view random, std::string_view message,
                                         std::string_view receiver_id) {
  if (random.size() != kRandomPrefixBytes) {
    return MakeError(CallbackError::kBadLength, "random prefix must be 16 bytes");
  }
  if (message.size() > UINT32_MAX) {
    return MakeError(CallbackError::kBadLength, "message too long");
  }
  const auto len = static_cast<std::uint32_t>(message.size());
  std::string out;
  out.reserve(kEnvelopeHeaderBytes + message.size() + receiver_id.size() + kPadBlockBytes);
  out.append(random);
  out.push_back(static_cast<char>((len >> 24) & 0xff));
  out.push_back(static_cast<char>((len >> 16) & 0xff));
  out.push_back(static_cast<char>((len >> 8) & 0xff));
  out.push_back(static_cast<char>(len & 0xff));
  out.append(message);
  out.append(receiver_id);
  return out;
}

absl::StatusOr<DecryptedMessage> UnpackEnvelope(std::string_view plaintext) {
  if (plaintext.size() < kEnvelopeHeaderBytes) {
    return MakeError(CallbackError::kBadLength, "plaintext shorter than 20 bytes");
  }
  const auto* p = Bytes(plaintext) + kRandomPrefixBytes;
  const std::uint64_t msg_len = (std::uint64_t{p[0]} << 24) | (std::uint64_t{p[1]} << 16) |
                                (std::uint64_t{p[2]} << 8) | std::uint64_t{p[3]};
  if (msg_len > plaintext.size() - kEnvelopeHeaderBytes) {
    return MakeError(CallbackError::kBadLength, "message length runs past the plaintext");
  }
  DecryptedMessage out;
  out.message = std::string(plaintext.substr(kEnvelopeHeaderBytes, msg_len));
  out.receiver_id = std::string(plaintext.substr(kEnvelopeHeaderBytes + msg_len));
  return out;
}

absl::StatusOr<CallbackCipher> CallbackCipher::Create(std::string_view aes_key) {
  if (absl::Status s = ValidateAesKey(aes_key); !s.ok()) return s;
  std::string text(aes_key);
  text.push_back('=');
  // EVP_DecodeBlock does not strip padding and tolerates non-zero trailing bits: 44 chars → 33
  // bytes, of which the first 32 are the key.
  std::array<unsigned char, 36> decoded{};
  const int n = EVP_DecodeBlock(decoded.data(), Bytes(text), static_cast<int>(text.size()));
  OPENSSL_cleanse(text.data(), text.size());
  if (n < static_cast<int>(kAesKeyBytes)) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return MakeError(CallbackError::kBadKey, "aes_key is not valid base64");
  }
  CallbackCipher cipher;
  std::copy_n(decoded.begin(), kAesKeyBytes, cipher.key_.begin());
  OPENSSL_cleanse(decoded.data(), decoded.size());
  auto contexts = std::make_shared<KeyedContexts>();
  contexts->encrypt = NewKeyedContext(cipher.key_, /*encrypt=*/true);
  contexts->decrypt = NewKeyedContext(cipher.key_, /*encrypt=*/false);
  if (contexts->encrypt == nullptr || contexts->decrypt == nullptr) {
    return MakeError(CallbackError::kInternal, "AES-256-CBC setup failed");
  }
  cipher.contexts_ = std::move(contexts);
  return cipher;
}

CallbackCipher::~CallbackCipher() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::StatusOr<std::string> CallbackCipher::DecryptRaw(std::string_view encrypt_b64) const {
  absl::StatusOr<std::string> cipher_text = Base64Decode(encrypt_b64);
  if (!cipher_text.ok()) return cipher_text.status();
  if (cipher_text->size() < 2 * kAesBlockBytes || cipher_text->size() % kAesBlockBytes != 0) {
    return MakeError(CallbackError::kBadCiphertext,
                     "ciphertext must be at least 32 bytes and a multiple of 16");
  }
  absl::StatusOr<std::string> plain =
      AesCbc(contexts_ ? contexts_->decrypt : nullptr, *cipher_text);
  if (!plain.ok()) return plain.status();
  const auto pad = static_cast<unsigned char>(plain->back());
  if (pad < 1 || pad > kPadBlockBytes) {
    return MakeError(CallbackError::kBadPadding, "pad byte out of range");
  }
  const std::size_t unpadded = plain->size() - pad;
  for (std::size_t i = unpadded; i < plain->size(); ++i) {
    if (static_cast<unsigned char>((*plain)[i]) != pad) {
      return MakeError(CallbackError::kBadPadding, "pad bytes differ");
    }
  }
  plain->resize(unpadded);
  return plain;
}

absl::StatusOr<std::string> CallbackCipher::EncryptRaw(std::string_view plaintext) const {
  if (plaintext.size() > kMaxEncryptChars / 4 * 3 - kPadBlockBytes) {
    return MakeError(CallbackError::kBadLength, "plaintext too long");
  }
  const std::size_t pad = kPadBlockBytes - plaintext.size() % kPadBlockBytes;
  std::string padded(plaintext);
  padded.append(pad, static_cast<char>(pad));
  absl::StatusOr<std::string> cipher_text =
      AesCbc(contexts_ ? contexts_->encrypt : nullptr, padded);
  if (!cipher_text.ok()) return cipher_text.status();
  return Base64Encode(*cipher_text);
}

absl::StatusOr<DecryptedMessage> CallbackCipher::Decrypt(std::string_view encrypt_b64) const {
  absl::StatusOr<std::string> plain = DecryptRaw(encrypt_b64);
  if (!plain.ok()) return plain.status();
  return UnpackEnvelope(*plain);
}

absl::StatusOr<std::string> CallbackCipher::EncryptWithRandom(std::string_view random,
                                                              std::string_view message,
                                                              std::string_view receiver_id) const {
  absl::StatusOr<std::string> envelope = PackEnvelope(random, message, receiver_id);
  if (!envelope.ok()) return envelope.status();
  return EncryptRaw(*envelope);
}

absl::StatusOr<std::string> CallbackCipher::Encrypt(std::string_view message,
                                                    std::string_view receiver_id) const {
  std::array<unsigned char, kRandomPrefixBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return MakeError(CallbackError::kInternal, "RAND_bytes failed");
  }
  return EncryptWithRandom(
      std::string_view(reinterpret_cast<const char*>(random.data()), random.size()), message,
      receiver_id);
}

}  // namespace sase::callback

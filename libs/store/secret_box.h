#pragma once
// Encryption at rest for identity-source secrets (app_secret, aes_key, token).
//
// Envelope (bytes): version (0x01) | nonce (12 random bytes) | ciphertext | tag (16 bytes), AES-256-GCM
// (OpenSSL EVP) under a 32-byte key-encryption key (KEK). The additional authenticated data binds an
// envelope to its place: SecretBox::Aad(tenant_id, idp_id, field), so a ciphertext copied to another
// row, tenant or column fails to open.
//
//   ASSIGN_OR_RETURN(SecretBox box, SecretBox::Load(cfg.kek_file, cfg.kek_env, std::getenv));
//   ASSIGN_OR_RETURN(std::string env, box.Seal(secret, SecretBox::Aad(tenant, idp, "app_secret")));
//
// Error messages never contain key material or plaintext.

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sase::store {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr unsigned char kVersion = 0x01;

  using GetEnv = std::function<const char*(const char*)>;

  // A raw 32-byte key.
  static absl::StatusOr<SecretBox> FromRawKey(std::string key);
  // 64 hex digits, or base64 (standard or URL-safe, padding optional) of 32 bytes. Surrounding
  // whitespace is ignored.
  static absl::StatusOr<SecretBox> FromEncodedKey(std::string_view text);
  // Exactly one of kek_file (a path to a file holding the encoded key) or kek_env (the NAME of an
  // environment variable holding the encoded key) must be non-empty. Errors name the config key
  // ("kek_file" / "kek_env").
  static absl::StatusOr<SecretBox> Load(const std::string& kek_file, const std::string& kek_env,
                                        const GetEnv& getenv);

  // The AAD for one secret column of one identity source.
  static std::string Aad(std::string_view tenant_id, std::string_view idp_id, std::string_view field);

  absl::StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  // InvalidArgument for a malformed envelope, DataLoss when authentication fails (tampered data,
  // wrong AAD or wrong key).
  absl::StatusOr<std::string> Open(std::string_view envelope, std::string_view aad) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace sase::store

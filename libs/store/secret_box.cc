#include "store/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"

namespace sase::store {
namespace {

using CtxPtr = common::CPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* MutableBytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<SecretBox> SecretBox::FromRawKey(std::string key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(absl::StrCat("key-encryption key must be ", kKeySize, " bytes"));
  }
  return SecretBox(std::move(key));
}

absl::StatusOr<SecretBox> SecretBox::FromEncodedKey(std::string_view text) {
  std::string t(absl::StripAsciiWhitespace(std::string(text)));
  std::string raw;
  if (t.size() == 2 * kKeySize && IsHex(t)) {
    raw = absl::HexStringToBytes(t);
  } else if (!absl::Base64Unescape(t, &raw) && !absl::WebSafeBase64Unescape(t, &raw)) {
    return absl::InvalidArgumentError("key-encryption key is neither 64 hex digits nor base64");
  }
  if (raw.size() != kKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("key-encryption key must decode to ", kKeySize, " bytes (64 hex digits or base64)"));
  }
  return SecretBox(std::move(raw));
}

absl::StatusOr<SecretBox> SecretBox::Load(const std::string& kek_file, const std::string& kek_env,
                                          const GetEnv& getenv) {
  if (!kek_file.empty() && !kek_env.empty()) {
    return absl::InvalidArgumentError("config key kek_file: set either kek_file or kek_env, not both");
  }
  if (kek_file.empty() && kek_env.empty()) {
    return absl::InvalidArgumentError(
        "config key kek_file: a key-encryption key is required (set kek_file to a key file or kek_env to the "
        "name of an environment variable holding the key)");
  }
  std::string text;
  std::string key_name;
  if (!kek_file.empty()) {
    key_name = "kek_file";
    std::ifstream in(kek_file, std::ios::binary);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("config key kek_file: cannot read ", kek_file));
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    key_name = "kek_env";
    const char* v = getenv(kek_env.c_str());
    if (v == nullptr || *v == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("config key kek_env: environment variable ", kek_env, " is not set"));
    }
    text = v;
  }
  absl::StatusOr<SecretBox> box = FromEncodedKey(text);
  if (!box.ok()) return absl::InvalidArgumentError(absl::StrCat("config key ", key_name, ": ", box.status().message()));
  return box;
}

std::string SecretBox::Aad(std::string_view tenant_id, std::string_view idp_id, std::string_view field) {
  // Length-prefixed so that no two distinct triples produce the same AAD.
  return absl::StrCat("sase.secret.v1|", tenant_id.size(), ":", std::string(tenant_id), "|", idp_id.size(), ":",
                      std::string(idp_id), "|", field.size(), ":", std::string(field));
}

absl::StatusOr<std::string> SecretBox::Seal(std::string_view plaintext, std::string_view aad) const {
  std::string out(1 + kNonceSize + plaintext.size() + kTagSize, '\0');
  out[0] = static_cast<char>(kVersion);
  unsigned char* nonce = MutableBytes(out) + 1;
  if (RAND_bytes(nonce, static_cast<int>(kNonceSize)) != 1) return absl::InternalError("secret box: no randomness");
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return absl::InternalError("secret box: out of memory");
  int len = 0;
  unsigned char* ct = nonce + kNonceSize;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key_), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("secret box: encryption failed");
  }
  int total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) != 1) return absl::InternalError("secret box: encryption failed");
  total += len;
  if (static_cast<size_t>(total) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), ct + total) != 1) {
    return absl::InternalError("secret box: encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> SecretBox::Open(std::string_view envelope, std::string_view aad) const {
  if (envelope.size() < 1 + kNonceSize + kTagSize) return absl::InvalidArgumentError("secret box: envelope too short");
  if (static_cast<unsigned char>(envelope[0]) != kVersion) {
    return absl::InvalidArgumentError("secret box: unknown envelope version");
  }
  const unsigned char* nonce = Bytes(envelope) + 1;
  const unsigned char* ct = nonce + kNonceSize;
  size_t ct_len = envelope.size() - 1 - kNonceSize - kTagSize;
  std::string tag(envelope.substr(envelope.size() - kTagSize));
  std::string out(ct_len, '\0');
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return absl::InternalError("secret box: out of memory");
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key_), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), MutableBytes(out), &len, ct, static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) != 1) {
    return absl::InternalError("secret box: decryption failed");
  }
  int total = len;
  if (EVP_DecryptFinal_ex(ctx.get(), MutableBytes(out) + total, &len) != 1) {
    return absl::DataLossError("secret box: authentication failed (wrong key, wrong binding or tampered data)");
  }
  return out;
}

}  // namespace sase::store

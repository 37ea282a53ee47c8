#pragma once
// The signature of a DingTalk custom group robot ("自定义机器人", security setting 加签):
//
//   sign = base64(HMAC-SHA256(key = secret, data = timestamp_ms + "\n" + secret))
//
// sent URL-encoded as `...robot/send?access_token=T&timestamp=<ms>&sign=<sign>`; DingTalk rejects a
// timestamp more than one hour away from its clock. One definition for the sender
// (services/alert_relay) and the verifier (the simulator's robot endpoint). Header-only over
// OpenSSL's one-shot HMAC() and EVP_EncodeBlock: a target including it links OpenSSL::Crypto.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sase::dingtalk {

// Standard base64 (with padding) of the HMAC; "" only if libcrypto fails (never in practice) or the
// secret is larger than an int.
inline std::string RobotSignature(int64_t timestamp_ms, std::string_view secret) {
  const std::string data = std::to_string(timestamp_ms) + "\n" + std::string(secret);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (secret.size() > static_cast<size_t>(INT32_MAX) ||
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_len) == nullptr) {
    return "";
  }
  std::string out(4 * ((mac_len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac.data(), static_cast<int>(mac_len));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// True when `sign` (the base64 text, already URL-decoded) is RobotSignature(timestamp_ms, secret);
// the comparison is constant time.
inline bool VerifyRobotSignature(int64_t timestamp_ms, std::string_view secret, std::string_view sign) {
  const std::string expected = RobotSignature(timestamp_ms, secret);
  return !expected.empty() && sign.size() == expected.size() &&
         CRYPTO_memcmp(sign.data(), expected.data(), expected.size()) == 0;
}

}  // namespace sase::dingtalk

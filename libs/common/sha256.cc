#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace sase::common {
namespace {

// Fetched once; deliberately never freed (it lives as long as the process).
const EVP_MD* Md() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (Md() == nullptr || EVP_Digest(data.data(), data.size(), md, &len, Md(), nullptr) != 1 || len != 32) {
    std::fputs("fatal: OpenSSL cannot compute SHA-256 (reason openssl_sha256_unavailable)\n", stderr);
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace sase::common

#include "login/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "login/internal/encoding.h"

namespace sase::login {

std::string RandomToken(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (bytes > static_cast<std::size_t>(INT_MAX) ||
      RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::fputs("login: RAND_bytes failed\n", stderr);
    std::abort();
  }
  std::string token = internal::Base64UrlEncode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return token;
}

}  // namespace sase::login

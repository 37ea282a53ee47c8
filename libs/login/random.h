#pragma once
// Unguessable tokens for nonces and JWT ids.

#include <cstddef>
#include <string>

namespace sase::login {

// base64url (no padding) of `bytes` bytes from OpenSSL's RAND_bytes: RandomToken(16) is a 128-bit
// value in 22 characters. Aborts if the CSPRNG fails (nothing sensible can continue without it).
std::string RandomToken(std::size_t bytes);

}  // namespace sase::login

#pragma once
// SHA-256 of a byte string, on OpenSSL's EVP API with the algorithm fetched once per process.
// EVP_sha256() makes every EVP_Digest fetch the implementation again (a provider lookup under a
// lock): callgrind put that at 60 % of a directory content hash, which runs once per user synced.
//
//   std::string digest = common::Sha256(bytes);  // 32 raw bytes

#include <string>
#include <string_view>

namespace sase::common {

// The raw 32-byte digest. Aborts if OpenSSL has no SHA-256 (a broken installation, not input).
std::string Sha256(std::string_view data);

}  // namespace sase::common

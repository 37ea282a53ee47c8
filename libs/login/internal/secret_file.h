#pragma once
// Reading small files that hold key material.

#include <string>

#include "absl/status/statusor.h"

namespace sase::login::internal {

// The whole file, at most 1 MiB. FailedPrecondition naming `path` and the OS error when it cannot
// be read; InvalidArgument when it is larger. The caller should wipe the contents when done.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

// Overwrites the string's bytes (OPENSSL_cleanse), then clears it.
void Wipe(std::string& s);

}  // namespace sase::login::internal

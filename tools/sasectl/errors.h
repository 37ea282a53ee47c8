#pragma once
// Exit codes and the one-line error format of sasectl.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace sase::sasectl {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitNotFound = 3,
  kExitInvalidArgument = 4,
};

// NOT_FOUND → 3, INVALID_ARGUMENT → 4, OK → 0, anything else → 1.
int ExitCodeFor(absl::StatusCode code);
// "NOT_FOUND" (the gRPC code name).
std::string CodeName(absl::StatusCode code);
// "error: <CODE>: <message>\n", with every occurrence of a known secret replaced by a mask and
// control characters neutralised.
std::string FormatError(absl::StatusCode code, const std::string& message,
                        const std::vector<std::string>& secrets = {});
// "error: <message>\n" for usage errors (no code).
std::string FormatUsageError(const std::string& message, const std::vector<std::string>& secrets = {});

}  // namespace sase::sasectl

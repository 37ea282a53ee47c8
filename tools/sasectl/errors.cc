#include "sasectl/errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "sasectl/render.h"
#include "sasectl/table.h"

namespace sase::sasectl {
namespace {

std::string Scrub(const std::string& message, const std::vector<std::string>& secrets) {
  std::string out(message);
  for (const std::string& s : secrets) {
    if (s.size() >= 3) out = absl::StrReplaceAll(out, {{s, kSecretMask}});
  }
  return SanitizeForTerminal(out);
}

}  // namespace

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kInvalidArgument:
      return kExitInvalidArgument;
    default:
      return kExitError;
  }
}

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

std::string FormatError(absl::StatusCode code, const std::string& message, const std::vector<std::string>& secrets) {
  return absl::StrCat("error: ", CodeName(code), ": ", Scrub(message, secrets), "\n");
}

std::string FormatUsageError(const std::string& message, const std::vector<std::string>& secrets) {
  return absl::StrCat("error: ", Scrub(message, secrets), "\n");
}

}  // namespace sase::sasectl

#include "login/internal/secret_file.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sase::login::internal {
namespace {

constexpr std::size_t kMaxSecretFileBytes = 1 << 20;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string contents;
  // Reserve up front so the buffer is not reallocated (leaving unwiped copies) while reading.
  struct stat st {};
  if (fstat(fileno(file.get()), &st) == 0 && st.st_size > 0 &&
      static_cast<std::size_t>(st.st_size) <= kMaxSecretFileBytes) {
    contents.reserve(static_cast<std::size_t>(st.st_size) + 1);
  }
  char buf[4096];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof(buf), file.get());
    contents.append(buf, n);
    if (contents.size() > kMaxSecretFileBytes) {
      OPENSSL_cleanse(buf, sizeof(buf));
      Wipe(contents);
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than 1 MiB"));
    }
    if (n < sizeof(buf)) break;
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  if (std::ferror(file.get())) {
    const int err = errno;
    Wipe(contents);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(err)));
  }
  return contents;
}

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace sase::login::internal

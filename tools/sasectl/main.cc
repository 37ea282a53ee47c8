// sasectl: admin CLI of the DingTalk identity connector. See `sasectl --help`.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "sasectl/cli_args.h"
#include "sasectl/runner.h"

namespace {

// Overwrites secret flag values in the process's own argv so they do not linger in
// /proc/<pid>/cmdline (ps) while the command runs.
void ScrubArgv(int argc, char** argv) {
  const std::vector<std::string> secrets = sase::sasectl::SecretFlagNames();
  for (int i = 1; i < argc; ++i) {
    for (const std::string& name : secrets) {
      const std::string flag = "--" + name;
      if (flag == argv[i] && i + 1 < argc) {
        std::memset(argv[i + 1], '*', std::strlen(argv[i + 1]));
      } else if (std::strncmp(argv[i], (flag + "=").c_str(), flag.size() + 1) == 0) {
        char* value = argv[i] + flag.size() + 1;
        std::memset(value, '*', std::strlen(value));
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ScrubArgv(argc, argv);
  return sase::sasectl::RunSasectl(args, std::cout, std::cerr, [](const char* name) { return std::getenv(name); });
}

#pragma once
// Starting the project's real binaries from cross-service tests.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace sase::testing {

// A free TCP port on 127.0.0.1 (bound then released: the kernel will not hand it out again soon).
int FreePort();

// Path of a built binary, relative to the build tree (env SASE_BINARY_DIR, else the tree this was built in).
std::string BinaryPath(const std::string& relative);

class Subprocess {
 public:
  // Starts argv[0] with the given arguments; stderr and stdout go to `log_path`.
  Subprocess(std::vector<std::string> argv, std::string log_path);
  ~Subprocess();  // SIGTERM, then SIGKILL after 5 s
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends SIGTERM and waits; returns the exit status (or -signal).
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  void Kill();  // SIGKILL, no grace (crash simulation)
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string log_path_;
};

// Polls until a TCP connect to 127.0.0.1:port succeeds.
bool WaitForPort(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace sase::testing

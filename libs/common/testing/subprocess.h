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
  // Polls the log for a JSON field `"key":N` (e.g. the "http_port" / "grpc_port" a service logs
  // once it serves) and returns N; -1 when the process exits first or on timeout. With a listen
  // port of 0 this is the race-free way to learn where a service listens: a port chosen by
  // FreePort() can be taken by a parallel test before the service binds it.
  int WaitForLoggedInt(const std::string& key, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string log_path_;
};

// Polls until a TCP connect to 127.0.0.1:port succeeds.
bool WaitForPort(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

}  // namespace sase::testing

#pragma once
// One LISTEN connection per process, fanned out to every WatchChanges stream. Subscribers read
// generation(), query the change log, then WaitForChange(seen): it returns when a NOTIFY on
// sase_changes arrives, when the poll interval passes (so a missed notify, or a replica where
// NOTIFY does not arrive, stalls no one for more than one interval), or on Stop().
// A lost listener connection is reopened in the background; meanwhile the poll ticks go on.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sase::directory {

class ChangeNotifier {
 public:
  struct Options {
    std::string dsn;
    std::chrono::milliseconds poll_interval{1000};
  };

  explicit ChangeNotifier(Options options);
  ~ChangeNotifier();  // Stop()
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Wakes every waiter (they see stopped()) and joins the listener thread. Idempotent.
  void Stop();
  bool stopped() const { return stopped_.load(); }

  uint64_t generation() const;
  // Returns once generation() != seen, on Stop(), or after `timeout`; true if the generation moved.
  bool WaitForChange(uint64_t seen, std::chrono::milliseconds timeout);

  // Notifications received (for tests and metrics).
  uint64_t notifications() const { return notifications_.load(); }
  bool listening() const { return listening_.load(); }

 private:
  void Run();
  void Bump();

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> notifications_{0};
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace sase::directory

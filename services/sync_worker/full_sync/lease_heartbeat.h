#pragma once
// The lease heartbeat of one full-sync run as an RAII object: a thread that calls `beat` at once and
// then every `interval` until stopped. It sets `cancel` (and stops beating) when `beat` answers
// FAILED_PRECONDITION (the lease was taken over) or when `stop` is raised (the engine shuts down).
// Other beat errors are transient: the next interval retries. Stop() and the destructor join.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace sase::sync_worker {

class LeaseHeartbeat {
 public:
  // `clock` decides when an interval has passed (checked every 50 ms of real time).
  LeaseHeartbeat(std::string run_id, absl::Duration interval, common::Clock& clock, const std::atomic<bool>& stop,
                 std::atomic<bool>& cancel, std::function<absl::Status()> beat);
  ~LeaseHeartbeat() { Stop(); }
  LeaseHeartbeat(const LeaseHeartbeat&) = delete;
  LeaseHeartbeat& operator=(const LeaseHeartbeat&) = delete;

  // Idempotent; returns once the thread has exited.
  void Stop();

 private:
  void Loop();

  const std::string run_id_;
  const absl::Duration interval_;
  common::Clock& clock_;
  const std::atomic<bool>& stop_;
  std::atomic<bool>& cancel_;
  const std::function<absl::Status()> beat_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace sase::sync_worker

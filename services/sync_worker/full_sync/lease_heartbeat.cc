#include "sync_worker/full_sync/lease_heartbeat.h"

#include <chrono>
#include <utility>

#include "common/log.h"

namespace sase::sync_worker {

LeaseHeartbeat::LeaseHeartbeat(std::string run_id, absl::Duration interval, common::Clock& clock,
                               const std::atomic<bool>& stop, std::atomic<bool>& cancel,
                               std::function<absl::Status()> beat)
    : run_id_(std::move(run_id)),
      interval_(interval),
      clock_(clock),
      stop_(stop),
      cancel_(cancel),
      beat_(std::move(beat)) {
  thread_ = std::thread([this] { Loop(); });
}

void LeaseHeartbeat::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseHeartbeat::Loop() {
  absl::Time next = clock_.Now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!done_) {
    if (stop_.load()) {
      cancel_ = true;
      return;
    }
    if (const absl::Time now = clock_.Now(); now >= next) {
      next = now + interval_;  // from the start of this beat
      lock.unlock();
      absl::Status s = beat_();
      lock.lock();
      if (s.code() == absl::StatusCode::kFailedPrecondition) {
        common::LogWarn("sync run lease lost", {{"run_id", run_id_}});
        cancel_ = true;
        return;
      }
    }
    // Wakes for Stop() at once; polls `stop` (owned by the engine, not signalled here) every 50 ms.
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

}  // namespace sase::sync_worker

#pragma once
// What one full-sync run accumulates while it runs: its state, progress, API call statistics and
// counts. The lease heartbeat persists it; the apply sink and the engine update it.

#include <atomic>
#include <mutex>

#include "common/timestamp.h"
#include "dingtalk/client.h"
#include "sase/dingtalk/v1/sync.pb.h"
#include "sync_worker/full_sync/outage_gate.h"
#include "sync_worker/full_sync/snapshot_fetcher.h"

namespace sase::sync_worker {

// Everything one run accumulates; the heartbeat reads it.
struct RunState {
  std::atomic<int> state{dingtalk::v1::PENDING};
  std::atomic<bool> cancel{false};
  FetchProgress progress;
  OutageGate* outage = nullptr;  // the run's gate; its pause shows in Progress()
  dingtalk::CallStats calls;
  std::mutex mu;
  dingtalk::v1::SyncCounts counts;  // guarded by mu (api_calls/throttles filled from calls)

  dingtalk::v1::SyncProgress Progress() const {  // the live progress, with any pause
    dingtalk::v1::SyncProgress p;
    p.set_departments_done(progress.departments_done.load());
    p.set_departments_total(progress.departments_total.load());
    p.set_users_done(progress.users_done.load());
    p.set_users_total(progress.users_total.load());
    if (outage != nullptr) {
      if (std::optional<OutageGate::Waiting> w = outage->Current()) {
        common::SetTimestamp(w->until, p.mutable_waiting_until());
        p.set_waiting_reason(w->reason);
      }
    }
    return p;
  }
  dingtalk::v1::SyncCounts Counts() {
    std::lock_guard<std::mutex> lock(mu);
    dingtalk::v1::SyncCounts c = counts;
    dingtalk::ClientStats s = calls.Snapshot();
    c.set_api_calls(s.api_calls);
    c.set_throttles(s.throttled);
    return c;
  }
  template <typename Fn>
  void Update(Fn fn) {
    std::lock_guard<std::mutex> lock(mu);
    fn(counts);
  }
};

}  // namespace sase::sync_worker

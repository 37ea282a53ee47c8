#pragma once
// Applies inbox events to the directory. Events are hints, never data: the processor claims due
// inbox rows, coalesces the user and department ids per identity source, re-fetches their current
// state from DingTalk (v2/user/get, v2/department/get), and writes it through DirectoryWriter —
// a user DingTalk no longer knows is marked departed, a department it no longer knows is deleted.
// Order of events does not matter; a replayed event is harmless. Failures retry with exponential
// back-off; the scheduled full sync is the safety net.
//
// Claiming is a short UPDATE that pushes next_attempt_at into the future (a lease), so several
// sync_worker replicas process disjoint rows and a crashed worker's rows come back after the lease.
//
// Circuit breaker: when a source's fetches fail because DingTalk is unreachable (transport error,
// timeout, 5xx) its rows are not claimed for a pause (breaker_pause, doubling up to
// breaker_max_pause while it keeps failing); then one batch is tried again. Rows are claimed per
// source (index on (idp_id, next_attempt_at)), so a paused source's backlog is never scanned.

#include <atomic>
#include <map>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "store/event_inbox_repository.h"
#include "store/pg_pool.h"
#include "sync_worker/source/source_config.h"

namespace prometheus {
class Registry;
}

namespace sase::sync_worker {

struct EventProcessorOptions {
  absl::Duration poll_interval = absl::Milliseconds(200);
  absl::Duration claim_lease = absl::Seconds(60);
  int batch = 200;
  int max_attempts = 10;
  // A user_leave_org whose user DingTalk still returns is re-checked this many times (after 2, 4,
  // 8 ... seconds) before DingTalk's answer is taken as final.
  int leave_rechecks = 4;
  // Zero disables the breaker.
  absl::Duration breaker_pause = absl::Seconds(5);
  absl::Duration breaker_max_pause = absl::Minutes(5);
  // After consecutive failed passes (the database unreachable), the next pass waits
  // poll_interval * 2^failures, at most this long.
  absl::Duration pass_backoff_max = absl::Seconds(30);
};

// How long the processing loop waits before its next pass after `consecutive_failures` failed
// passes in a row (0: the last pass succeeded).
absl::Duration EventPassWait(const EventProcessorOptions& options, int consecutive_failures);

class EventProcessor {
 public:
  // `sources` is shared with the full sync (one client, one token cache per source version).
  // `clock` times the circuit breaker's pauses.
  EventProcessor(store::PgPool& pool, SourceClients& sources, prometheus::Registry& registry, common::Clock& clock,
                 EventProcessorOptions options = {});
  ~EventProcessor();

  void Start();
  void Stop();
  // Runs the next pass now instead of after the poll interval or a back-off: called when the
  // inbox has committed new events (EventInbox::OnCommit), so a push is applied at once.
  void Wake();
  // Passes the loop has completed (tests wait on it).
  int64_t passes() const { return passes_.load(); }
  // One pass over the due rows; returns how many rows it finished (done or given up).
  absl::StatusOr<int> RunOnce();
  // Sources whose rows are not being claimed now (breaker open).
  std::vector<std::string> PausedSources();

 private:
  struct Metrics;
  struct Breaker {
    absl::Time open_until = absl::InfinitePast();
    absl::Duration next_pause = absl::ZeroDuration();
  };
  // Applies one source's rows: re-fetch what they name, keep what lies in the sync scope
  // (scope_check.h), write it. `recheck` gets the ids of user_leave_org rows whose user DingTalk
  // still returns (read-after-write lag, or a rejoin): they are looked at again a few times.
  absl::Status ProcessSource(const std::string& tenant, const std::string& idp,
                             const std::vector<store::ClaimedEvent>& rows, std::set<int64_t>* recheck);
  // After a pass over one source's rows: opens (or extends) the breaker on an unreachable
  // DingTalk, closes it on success.
  void UpdateBreaker(const std::string& idp, const absl::Status& st);

  store::PgPool& pool_;
  store::EventInboxRepository inbox_;
  SourceClients& sources_;
  common::Clock& clock_;
  EventProcessorOptions options_;
  std::unique_ptr<Metrics> metrics_;
  std::map<std::string, Breaker> breakers_;  // by idp; guarded by breaker_mu_
  std::mutex breaker_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::atomic<int64_t> passes_{0};
  std::thread thread_;
};

}  // namespace sase::sync_worker

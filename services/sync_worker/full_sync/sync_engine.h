#pragma once
// The full-sync engine: runs sync runs (manual, scheduled, or taken over from a replica whose
// lease expired), each in its own thread:
//
//   PENDING -> FETCHING (snapshot_fetcher.h streams the organisation; departments, parents first,
//   and users are upserted in DirectoryWriter batches as soon as they are final) -> APPLYING
//   (departures and deleted departments, diffed against the complete snapshot) -> SUCCEEDED,
//   or AWAITING_APPROVAL when the departures exceed the deletion guard (everything else applied,
//   departures held until ApproveDeletions), or FAILED with a reason.
//
// Memory: the worker keeps a few batches of users in flight plus the ids of what it has seen (for
// the departure diff), never the whole snapshot.
//
// Outages: every DingTalk call of a run passes its OutageGate, which pauses the run through
// gateway errors, dropped connections and the IP ban (the progress says "waiting for DingTalk
// until ...") within a bounded budget. A run that fails on a transient reason (DingTalk
// unreachable or throttling, the database unavailable) is retried as a RETRY run with capped
// exponential back-off (store::RetryBackoff), also for sources that do not sync automatically.
//
// Crash safety: a run is leased (store/sync_run_repository.h) and its heartbeat renews the lease and persists
// progress every progress_interval. A worker that dies leaves the lease to expire (one that stops
// cleanly releases it); any replica's poller then takes the run over and restarts it from the
// beginning. Applying is idempotent
// (content-hash upserts), nothing is departed or deleted before a fetch completed, and the run
// stays FETCHING/APPLYING until the last batch, so a restart converges and readers of the run
// never see a partial apply presented as complete.
//
// The poller (Start) also claims due auto_sync sources (scheduler) when enabled.

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "dingtalk/client.h"
#include "sase/dingtalk/v1/sync.pb.h"
#include "store/pg_pool.h"
#include "store/sync_run_repository.h"
#include "sync_worker/full_sync/deletion_guard.h"
#include "sync_worker/full_sync/outage_gate.h"
#include "sync_worker/source/source_config.h"

namespace prometheus {
class Registry;
}

namespace sase::store {
class DirectoryWriter;
}

namespace sase::sync_worker {

struct Removals;  // removals.h
struct RunState;  // run_state.h

struct SyncEngineOptions {
  std::string owner;  // lease owner id of this worker; "" = host:pid:random
  absl::Duration lease = absl::Seconds(30);
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration progress_interval = absl::Seconds(1);
  bool scheduler_enabled = true;
  int max_concurrent_runs = 4;  // scheduled and taken-over runs; manual runs always start
  int department_workers = 8;
  int user_workers = 8;
  int apply_batch = 1000;
  DeletionGuardSettings deletion_guard;  // when the source sets no thresholds of its own
  OutagePolicy outage;                   // how a run waits out DingTalk outages (outage_gate.h)
  store::RetryBackoff retry;             // when a run that failed on a transient reason is retried
};

class SyncEngine {
 public:
  // `sources` is shared with the event processor and the probe (one client per source version).
  // `clock` times runs and drives the lease heartbeat.
  SyncEngine(store::PgPool& pool, SourceClients& sources, prometheus::Registry& registry, common::Clock& clock,
             SyncEngineOptions options);
  ~SyncEngine();
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  // Starts the poller thread (takeovers, scheduler).
  void Start();
  // Stops the poller and the running runs, and joins every thread. Clean (the default): each run
  // gives up its lease, keeping its state and progress, so another replica takes it over at
  // once. release_leases false: the rows are left as a crash would leave them (the leases
  // expire first; tests of takeover use it).
  void Stop(bool release_leases = true);
  // One poll cycle, synchronously (tests): claims expired runs and, if enabled, due sources.
  void PollOnce();

  // Manual run: NOT_FOUND for an unknown source, FAILED_PRECONDITION if one is unfinished.
  absl::StatusOr<::sase::dingtalk::v1::SyncRun> StartManual(const std::string& tenant, const std::string& idp_id,
                                                            bool departments_only);
  absl::StatusOr<::sase::dingtalk::v1::SyncRun> ApproveDeletions(const std::string& tenant,
                                                                 const std::string& run_id);
  store::SyncRunRepository& runs() { return runs_; }
  const std::string& owner() const { return options_.owner; }
  int active_runs() const { return active_runs_.load(); }

 private:
  struct Metrics;
  void Launch(store::SyncRunRecord run);
  void Execute(const store::SyncRunRecord& run, const std::atomic<bool>& stop);
  // Departs and deletes what the complete snapshot no longer has, in batches; CANCELLED when the
  // run is cancelled between batches.
  absl::Status ApplyRemovals(store::DirectoryWriter& writer, const std::string& tenant, const std::string& idp,
                             const std::string& origin, const Removals& removals, RunState& rs) const;
  // Metrics and the "sync run finished" log line of a run whose final state has been written.
  void ReportFinished(const dingtalk::v1::SyncRun& run, const store::RunOutcome& outcome, absl::Time started,
                      std::optional<absl::Time> retry_at) const;
  void PollLoop();

  store::PgPool& pool_;
  SourceClients& sources_;
  common::Clock& clock_;
  store::SyncRunRepository runs_;
  SyncEngineOptions options_;
  std::unique_ptr<Metrics> metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> release_leases_{true};
  std::atomic<bool> stop_flag_{false};
  std::thread poller_;
  std::list<std::thread> run_threads_;
  std::atomic<int> active_runs_{0};
};

}  // namespace sase::sync_worker

#include "sync_worker/full_sync/sync_engine.h"

#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <random>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "dingtalk/error.h"
#include "store/directory_reader.h"
#include "store/directory_writer.h"
#include "sync_worker/full_sync/apply_sink.h"
#include "sync_worker/full_sync/lease_heartbeat.h"
#include "sync_worker/full_sync/removals.h"
#include "sync_worker/full_sync/run_state.h"
#include "sync_worker/full_sync/snapshot_fetcher.h"
#include "sync_worker/source/failure_reason.h"

namespace sase::sync_worker {
namespace {

namespace v1 = ::sase::dingtalk::v1;

std::string DefaultOwner() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return absl::StrCat(host, ":", getpid(), ":", rd() % 1000000);
}

const char* TriggerLabel(int trigger) {
  return trigger == v1::SCHEDULED ? "scheduled" : trigger == v1::RETRY ? "retry" : "manual";
}

}  // namespace

struct SyncEngine::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : duration(prometheus::BuildHistogram()
                     .Name("sase_sync_run_duration_seconds")
                     .Help("Wall time of finished full-sync runs")
                     .Register(r)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1, 5, 15, 60, 300, 900, 1800, 3600, 7200})),
        objects(prometheus::BuildCounter()
                    .Name("sase_sync_objects_total")
                    .Help("Directory objects handled by full syncs, by kind (user, department) and action")
                    .Register(r)),
        runs(prometheus::BuildCounter()
                 .Name("sase_sync_runs_total")
                 .Help("Finished full-sync runs by trigger and result")
                 .Register(r)),
        last_success(prometheus::BuildGauge()
                         .Name("sase_sync_last_success_timestamp_seconds")
                         .Help("Unix time of the latest successful full sync (any identity source)")
                         .Register(r)
                         .Add({})),
        pauses(prometheus::BuildCounter()
                   .Name("sase_sync_outage_pauses_total")
                   .Help("Full-sync runs paused to wait out a DingTalk outage, by reason (ip_ban, unreachable, "
                         "throttled)")
                   .Register(r)),
        waiting(prometheus::BuildGauge()
                    .Name("sase_sync_runs_waiting")
                    .Help("Full-sync runs of this worker paused until DingTalk answers again")
                    .Register(r)
                    .Add({})),
        retries(prometheus::BuildCounter()
                    .Name("sase_sync_retries_scheduled_total")
                    .Help("Failed full-sync runs whose retry was scheduled (transient failure reasons)")
                    .Register(r)
                    .Add({})) {}

  void Objects(const char* kind, const char* action, int64_t n) {
    if (n > 0) objects.Add({{"kind", kind}, {"action", action}}).Increment(static_cast<double>(n));
  }

  prometheus::Histogram& duration;
  prometheus::Family<prometheus::Counter>& objects;
  prometheus::Family<prometheus::Counter>& runs;
  prometheus::Gauge& last_success;
  prometheus::Family<prometheus::Counter>& pauses;
  prometheus::Gauge& waiting;
  prometheus::Counter& retries;
};

SyncEngine::SyncEngine(store::PgPool& pool, SourceClients& sources, prometheus::Registry& registry,
                       common::Clock& clock, SyncEngineOptions options)
    : pool_(pool), sources_(sources), clock_(clock), runs_(pool), options_(std::move(options)) {
  if (options_.owner.empty()) options_.owner = DefaultOwner();
  metrics_ = std::make_unique<Metrics>(registry);
}

SyncEngine::~SyncEngine() { Stop(); }

void SyncEngine::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (poller_.joinable() || stopping_) return;
  poller_ = std::thread([this] { PollLoop(); });
}

void SyncEngine::Stop(bool release_leases) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    release_leases_ = release_leases;
    stopping_ = true;
    stop_flag_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  std::list<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(run_threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

void SyncEngine::PollLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    PollOnce();
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll_interval), [&] { return stopping_; });
  }
}

void SyncEngine::PollOnce() {
  while (!stop_flag_.load() && active_runs_.load() < options_.max_concurrent_runs) {
    absl::StatusOr<std::optional<store::SyncRunRecord>> r = runs_.ClaimExpired(options_.owner, options_.lease);
    if (!r.ok()) {
      common::LogWarn("sync run takeover failed", {{"reason", std::string(r.status().message())}});
      break;
    }
    if (!r->has_value()) break;
    common::LogInfo("sync run taken over", {{"run_id", (*r)->run.run_id()}, {"attempt", (*r)->attempts}});
    Launch(std::move(**r));
  }
  if (!options_.scheduler_enabled) return;
  while (!stop_flag_.load() && active_runs_.load() < options_.max_concurrent_runs) {
    absl::StatusOr<std::optional<store::SyncRunRecord>> r = runs_.ClaimScheduled(options_.owner, options_.lease);
    if (!r.ok()) {
      common::LogWarn("scheduler claim failed", {{"reason", std::string(r.status().message())}});
      break;
    }
    if (!r->has_value()) break;
    common::LogInfo("scheduled sync run", {{"run_id", (*r)->run.run_id()}, {"idp_id", (*r)->run.idp_id()}});
    Launch(std::move(**r));
  }
}

absl::StatusOr<v1::SyncRun> SyncEngine::StartManual(const std::string& tenant, const std::string& idp_id,
                                                    bool departments_only) {
  if (stop_flag_.load()) return absl::UnavailableError("sync_worker is shutting down");
  absl::StatusOr<store::SyncRunRecord> r = runs_.CreateManual(tenant, idp_id, departments_only, options_.owner,
                                                       options_.lease);
  if (!r.ok()) return r.status();
  v1::SyncRun out = r->run;
  Launch(std::move(*r));
  return out;
}

absl::StatusOr<v1::SyncRun> SyncEngine::ApproveDeletions(const std::string& tenant, const std::string& run_id) {
  absl::StatusOr<store::SyncRunRecord> r = runs_.ApproveDeletions(tenant, run_id);
  if (!r.ok()) return r.status();
  metrics_->Objects("user", "departed", static_cast<int64_t>(r->held_userids.size()));
  metrics_->last_success.Set(static_cast<double>(absl::ToUnixSeconds(clock_.Now())));
  common::LogInfo("held deletions approved",
                  {{"run_id", run_id}, {"users", static_cast<int64_t>(r->held_userids.size())}});
  return r->run;
}

void SyncEngine::Launch(store::SyncRunRecord run) {
  active_runs_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  // Reap finished threads (they only finish once active_runs_ was decremented; join is quick).
  run_threads_.emplace_back([this, run = std::move(run)] {
    Execute(run, stop_flag_);
    active_runs_.fetch_sub(1);
  });
}

namespace {

struct ApplyOutcome {
  bool held = false;
  std::vector<std::string> held_userids;
  std::vector<int64_t> held_dept_ids;
};

}  // namespace

void SyncEngine::ReportFinished(const v1::SyncRun& run, const store::RunOutcome& o, absl::Time started,
                                std::optional<absl::Time> retry_at) const {
  const int state = o.state;
  const v1::SyncCounts& counts = o.counts;
  const char* result = state == v1::SUCCEEDED ? "succeeded" : state == v1::AWAITING_APPROVAL ? "awaiting_approval"
                                                                                              : "failed";
  metrics_->runs.Add({{"trigger", TriggerLabel(run.trigger())}, {"result", result}}).Increment();
  metrics_->duration.Observe(absl::ToDoubleSeconds(clock_.Now() - started));
  if (state == v1::SUCCEEDED) metrics_->last_success.Set(static_cast<double>(absl::ToUnixSeconds(clock_.Now())));
  if (retry_at.has_value()) metrics_->retries.Increment();
  metrics_->Objects("department", "fetched", counts.departments_fetched());
  metrics_->Objects("department", "created", counts.departments_created());
  metrics_->Objects("department", "updated", counts.departments_updated());
  metrics_->Objects("department", "deleted", counts.departments_deleted());
  metrics_->Objects("user", "fetched", counts.users_fetched());
  metrics_->Objects("user", "created", counts.users_created());
  metrics_->Objects("user", "updated", counts.users_updated());
  metrics_->Objects("user", "departed", counts.users_departed());
  metrics_->Objects("user", "held", counts.users_held());
  common::LogInfo("sync run finished",
                  {{"run_id", run.run_id()},
                   {"idp_id", run.idp_id()},
                   {"result", result},
                   {"failure_reason", o.failure_reason},
                   {"retry_at", retry_at.has_value() ? absl::FormatTime(absl::RFC3339_sec, *retry_at, absl::UTCTimeZone())
                                                     : std::string()},
                   {"elapsed_ms", static_cast<int64_t>(absl::ToInt64Milliseconds(clock_.Now() - started))},
                   {"users_fetched", counts.users_fetched()},
                   {"users_created", counts.users_created()},
                   {"users_updated", counts.users_updated()},
                   {"users_departed", counts.users_departed()},
                   {"users_held", counts.users_held()},
                   {"api_calls", counts.api_calls()}});
}

absl::Status SyncEngine::ApplyRemovals(store::DirectoryWriter& writer, const std::string& tenant,
                                       const std::string& idp, const std::string& origin, const Removals& removals,
                                       RunState& rs) const {
  const std::vector<std::string>& departed = removals.departed_userids;
  const size_t batch = static_cast<size_t>(std::max(1, options_.apply_batch));
  for (size_t i = 0; i < departed.size(); i += batch) {
    if (rs.cancel.load()) return absl::CancelledError("cancelled");
    std::vector<std::string> part(departed.begin() + static_cast<ptrdiff_t>(i),
                                  departed.begin() + static_cast<ptrdiff_t>(std::min(i + batch, departed.size())));
    absl::StatusOr<store::WriteResult> w = writer.MarkDeparted(tenant, idp, part, origin);
    if (!w.ok()) return w.status();
    rs.Update([&](v1::SyncCounts& c) { c.set_users_departed(c.users_departed() + w->updated); });
  }
  if (!removals.deleted_dept_ids.empty()) {
    if (rs.cancel.load()) return absl::CancelledError("cancelled");
    absl::StatusOr<store::WriteResult> w = writer.DeleteDepartments(tenant, idp, removals.deleted_dept_ids, origin);
    if (!w.ok()) return w.status();
    rs.Update([&](v1::SyncCounts& c) { c.set_departments_deleted(c.departments_deleted() + w->deleted); });
  }
  return absl::OkStatus();
}

void SyncEngine::Execute(const store::SyncRunRecord& rec, const std::atomic<bool>& stop) {
  const v1::SyncRun& run = rec.run;
  const std::string& run_id = run.run_id();
  const std::string& tenant = run.tenant_id();
  const std::string& idp = run.idp_id();
  const absl::Time started = clock_.Now();
  RunState rs;
  // DingTalk outages pause the run (logged once per outage, shown in its progress) rather than
  // fail it. The gate reports each outage's start and end once: the waiting gauge follows them.
  OutageGate outage(clock_, options_.outage,
                    {[&](const std::string& reason, absl::Time until) {
                       metrics_->pauses.Add({{"reason", reason}}).Increment();
                       metrics_->waiting.Increment();
                       common::LogWarn("sync run waiting for DingTalk",
                                       {{"run_id", run_id},
                                        {"reason", reason},
                                        {"until", absl::FormatTime(absl::RFC3339_sec, until, absl::UTCTimeZone())}});
                     },
                     [&](absl::Duration paused) {
                       metrics_->waiting.Decrement();
                       common::LogInfo("sync run resumed: DingTalk answers again",
                                       {{"run_id", run_id}, {"paused_ms", absl::ToInt64Milliseconds(paused)}});
                     }});
  rs.outage = &outage;
  // A run that ends during an outage (budget spent, cancelled) leaves the waiting gauge.
  struct WaitingGuard {
    const OutageGate& gate;
    prometheus::Gauge& gauge;
    ~WaitingGuard() {
      if (gate.in_outage()) gauge.Decrement();
    }
  } waiting_guard{outage, metrics_->waiting};

  // Heartbeat: renews the lease and persists progress; cancels the run when the lease is lost or
  // the engine stops.
  LeaseHeartbeat heartbeat(run_id, options_.progress_interval, clock_, stop, rs.cancel, [&] {
    return runs_.Heartbeat(run_id, options_.owner, options_.lease, rs.state.load(), rs.Progress(), rs.Counts());
  });

  auto finish = [&](int state, const std::string& reason, const std::string& detail, const ApplyOutcome& out) {
    heartbeat.Stop();
    if (rs.cancel.load()) {  // lease lost or shutting down: the next owner finishes the run
      if (stop.load() && release_leases_.load()) {
        absl::Status released = runs_.Release(run_id, options_.owner);
        common::LogInfo("sync run lease released",
                        {{"run_id", run_id}, {"reason", "shutdown"}, {"ok", released.ok()}});
      }
      return;
    }
    store::RunOutcome o;
    o.state = state;
    o.progress = rs.Progress();
    o.counts = rs.Counts();
    o.failure_reason = reason;
    o.failure_detail = detail;
    o.held_userids = out.held_userids;
    o.held_dept_ids = out.held_dept_ids;
    if (state == v1::FAILED && IsTransientFailure(reason)) o.retry = options_.retry;
    absl::StatusOr<std::optional<absl::Time>> retry_at = runs_.Finish(run_id, options_.owner, o);
    if (!retry_at.ok()) {
      common::LogWarn("sync run finish failed",
                      {{"run_id", run_id}, {"reason", std::string(retry_at.status().message())}});
      return;
    }
    ReportFinished(run, o, started, *retry_at);
  };
  auto fail = [&](const absl::Status& s) { finish(v1::FAILED, FailureReason(s), FailureDetail(s), {}); };

  common::LogInfo("sync run started", {{"run_id", run_id}, {"idp_id", idp}, {"attempt", rec.attempts}});
  absl::StatusOr<SourceConfig> src = sources_.Load(tenant, idp);
  if (!src.ok()) return fail(src.status());
  if (src->app_secret.empty() || src->record.app_key.empty()) {
    return finish(v1::FAILED, "bad_credentials", "the identity source has no AppKey/AppSecret", {});
  }
  absl::StatusOr<std::shared_ptr<dingtalk::Client>> client = sources_.ClientFor(*src);
  if (!client.ok()) return fail(client.status());

  // What the directory holds before the run: the departure diff is taken against it once the
  // snapshot is complete.
  absl::StatusOr<store::SourceBaseline> existing = store::DirectoryReader(pool_).ReadSourceBaseline(tenant, idp);
  if (rs.cancel.load()) return finish(v1::FAILED, "", "", {});
  if (!existing.ok()) return fail(existing.status());
  const size_t directory_users_before = existing->active_userids.size();

  // Fetch and apply creates/updates as the snapshot streams in (state FETCHING); departures and
  // deleted departments only once it is complete (state APPLYING).
  rs.state = v1::FETCHING;
  FetchOptions fo;
  fo.scope_roots = src->record.scope_root_dept_ids;
  fo.departments_only = run.departments_only();
  fo.department_workers = options_.department_workers;
  fo.user_workers = options_.user_workers;
  fo.batch = std::max(1, options_.apply_batch);
  fo.stats = &rs.calls;
  fo.mappings = src->record.field_mappings;
  fo.outage = &outage;
  store::DirectoryWriter writer(pool_);
  const std::string origin = absl::StrCat("sync:", run_id);
  ApplySink sink(writer, tenant, idp, origin, rs);
  absl::StatusOr<FetchSummary> snap = FetchStreaming(**client, fo, rs.progress, rs.cancel, sink);
  absl::Status last_write = sink.Finish();
  if (rs.cancel.load()) return finish(v1::FAILED, "", "", {});  // abandoned; finish() writes nothing
  if (!snap.ok()) return fail(snap.status());
  if (!last_write.ok()) return fail(last_write);
  sink.LogFetched(run_id, started);
  rs.Update([&](v1::SyncCounts& c) {
    c.set_departments_fetched(static_cast<int64_t>(snap->department_ids.size()));
    c.set_users_fetched(static_cast<int64_t>(snap->userids.size()));
  });

  // ---- Departures and deleted departments, from the complete snapshot -------------------------
  rs.state = v1::APPLYING;
  ApplyOutcome out;
  Removals removals = ComputeRemovals(*existing, *snap);
  const DeletionGuardSettings guard = ResolveDeletionGuard(
      src->record.deletion_max_departures, src->record.deletion_max_percent, options_.deletion_guard);
  absl::Status applied = absl::OkStatus();
  if (HoldDepartures(static_cast<int64_t>(directory_users_before),
                     static_cast<int64_t>(removals.departed_userids.size()), guard)) {
    out.held = true;
    out.held_userids = std::move(removals.departed_userids);
    out.held_dept_ids = std::move(removals.deleted_dept_ids);
    rs.Update([&](v1::SyncCounts& c) { c.set_users_held(static_cast<int64_t>(out.held_userids.size())); });
    common::LogWarn("deletion guard tripped: departures held for approval",
                    {{"run_id", run_id},
                     {"departures", static_cast<int64_t>(out.held_userids.size())},
                     {"directory_users", static_cast<int64_t>(directory_users_before)},
                     {"max_departures", guard.max_departures},
                     {"max_departure_percent", guard.max_departure_percent}});
  } else {
    applied = ApplyRemovals(writer, tenant, idp, origin, removals, rs);
  }
  if (rs.cancel.load()) return finish(v1::FAILED, "", "", {});
  if (!applied.ok()) return fail(applied);
  finish(out.held ? v1::AWAITING_APPROVAL : v1::SUCCEEDED, "", "", out);
}

}  // namespace sase::sync_worker

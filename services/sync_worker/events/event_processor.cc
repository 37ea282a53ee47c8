#include "sync_worker/events/event_processor.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "dingtalk/error.h"
#include "store/directory_reader.h"
#include "store/directory_writer.h"
#include "sync_worker/events/scope_check.h"
#include "sync_worker/source/field_mapping.h"

namespace sase::sync_worker {
namespace {
namespace v1 = ::sase::dingtalk::v1;

// What DingTalk says now about everything a source's events named (events are hints).
struct Refetched {
  std::vector<dingtalk::Department> depts;
  std::vector<int64_t> gone_depts;  // DingTalk no longer knows them
  std::vector<std::pair<dingtalk::User, Memberships>> users;
  std::vector<std::string> departed;  // DingTalk no longer knows them
};

absl::StatusOr<Refetched> Refetch(dingtalk::Client& client, const dingtalk::CallOptions& opts,
                                  const std::set<std::string>& users, const std::set<int64_t>& depts) {
  Refetched out;
  for (int64_t d : depts) {
    absl::StatusOr<dingtalk::Department> got = client.GetDepartment(d, opts);
    if (got.ok()) {
      out.depts.push_back(*std::move(got));
    } else if (dingtalk::ReasonOf(got.status()) == dingtalk::ApiError::kNotFound) {
      out.gone_depts.push_back(d);
    } else {
      return got.status();
    }
  }
  for (const std::string& u : users) {
    absl::StatusOr<dingtalk::User> got = client.GetUser(u, opts);
    if (got.ok()) {
      Memberships m = MembershipsOf(*got);
      out.users.emplace_back(*std::move(got), std::move(m));
    } else if (dingtalk::ReasonOf(got.status()) == dingtalk::ApiError::kNotFound) {
      out.departed.push_back(u);
    } else {
      return got.status();
    }
  }
  return out;
}

// What the directory gets: outside the scope a department is deleted and a user departed, as a
// full sync would.
struct EventWrites {
  std::vector<v1::Department> upsert_depts;
  std::vector<v1::User> upsert_users;
  std::vector<std::string> departed;
  std::vector<int64_t> gone_depts;
  std::set<std::string> present_userids;  // users DingTalk still returns inside the scope
};

absl::StatusOr<EventWrites> KeepInScope(Refetched fetched, ScopeCheck& scope, const std::vector<store::FieldMappingRecord>& rules) {
  EventWrites out;
  out.departed = std::move(fetched.departed);
  out.gone_depts = std::move(fetched.gone_depts);
  for (const dingtalk::Department& d : fetched.depts) {
    absl::StatusOr<bool> inside = scope.ContainsMoved(d.dept_id, d.parent_id);
    if (!inside.ok()) return inside.status();
    if (!*inside) {
      out.gone_depts.push_back(d.dept_id);
      continue;
    }
    v1::Department pd;
    pd.set_department_id(d.dept_id);
    pd.set_name(d.name);
    pd.set_parent_id(d.parent_id);
    // department/get carries order and the managers (a full sync's listsub does not).
    pd.set_order(d.order);
    pd.mutable_manager_userids()->Assign(d.dept_manager_userid_list.begin(), d.dept_manager_userid_list.end());
    out.upsert_depts.push_back(std::move(pd));
  }
  for (const auto& [u, m] : fetched.users) {
    bool inside = false;
    for (int64_t d : m.depts) {
      absl::StatusOr<bool> in = scope.Contains(d);
      if (!in.ok()) return in.status();
      if ((inside = *in)) break;
    }
    if (!inside) {
      out.departed.push_back(u.userid);  // a no-op for a user the directory never held
      continue;
    }
    out.present_userids.insert(u.userid);
    v1::User mapped = MapUser(u, rules);
    // user/get names every department and leadership: the memberships are replaced with them.
    mapped.mutable_department_ids()->Assign(m.depts.begin(), m.depts.end());
    mapped.mutable_leader_department_ids()->Assign(m.leader_of.begin(), m.leader_of.end());
    out.upsert_users.push_back(std::move(mapped));
  }
  return out;
}

absl::Status Apply(store::DirectoryWriter& writer, const std::string& tenant, const std::string& idp,
                   const EventWrites& w, const std::string& origin) {
  if (!w.upsert_depts.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.UpsertDepartments(tenant, idp, w.upsert_depts, origin);
    if (!r.ok()) return r.status();
  }
  if (!w.upsert_users.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.UpsertUsers(tenant, idp, w.upsert_users, origin);
    if (!r.ok()) return r.status();
  }
  if (!w.departed.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.MarkDeparted(tenant, idp, w.departed, origin);
    if (!r.ok()) return r.status();
  }
  if (!w.gone_depts.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.DeleteDepartments(tenant, idp, w.gone_depts, origin);
    // A department that still has children here is left to the next full sync.
    if (!r.ok() && !absl::IsFailedPrecondition(r.status())) return r.status();
  }
  return absl::OkStatus();
}

}  // namespace

struct EventProcessor::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : rows(prometheus::BuildCounter()
                 .Name("sase_event_rows_total")
                 .Help("Inbox events handled by the processor, by result (applied, retry, failed, recheck)")
                 .Register(r)),
        applied(rows.Add({{"result", "applied"}})),
        retry(rows.Add({{"result", "retry"}})),
        failed(rows.Add({{"result", "failed"}})),
        recheck(rows.Add({{"result", "recheck"}})),
        lag(prometheus::BuildHistogram()
                .Name("sase_event_apply_lag_seconds")
                .Help("From inbox receipt to the directory write")
                .Register(r)
                .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300})),
        breaker_opens(prometheus::BuildCounter()
                          .Name("sase_event_source_pauses_total")
                          .Help("Event sources paused by the circuit breaker (DingTalk unreachable), by reason")
                          .Register(r)),
        paused(prometheus::BuildGauge()
                   .Name("sase_event_sources_paused")
                   .Help("Event sources whose inbox rows are not claimed now (circuit breaker open)")
                   .Register(r)
                   .Add({})),
        pass_failures(prometheus::BuildCounter()
                          .Name("sase_event_pass_failures_total")
                          .Help("Processing passes that failed as a whole (inbox unreachable); the loop backs off")
                          .Register(r)
                          .Add({})) {}
  prometheus::Family<prometheus::Counter>& rows;
  prometheus::Counter& applied;
  prometheus::Counter& retry;
  prometheus::Counter& failed;
  prometheus::Counter& recheck;
  prometheus::Histogram& lag;
  prometheus::Family<prometheus::Counter>& breaker_opens;
  prometheus::Gauge& paused;
  prometheus::Counter& pass_failures;
};

EventProcessor::EventProcessor(store::PgPool& pool, SourceClients& sources, prometheus::Registry& registry,
                               common::Clock& clock, EventProcessorOptions options)
    : pool_(pool), inbox_(pool), sources_(sources), clock_(clock), options_(options) {
  metrics_ = std::make_unique<Metrics>(registry);
}

EventProcessor::~EventProcessor() { Stop(); }

absl::Duration EventPassWait(const EventProcessorOptions& options, int consecutive_failures) {
  absl::Duration wait = options.poll_interval;
  for (int i = 0; i < consecutive_failures && wait < options.pass_backoff_max; ++i) wait *= 2;
  return std::min(wait, std::max(options.pass_backoff_max, options.poll_interval));
}

void EventProcessor::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    int failures = 0;  // consecutive failed passes
    while (!stop_) {
      wake_ = false;
      lock.unlock();
      absl::StatusOr<int> n = RunOnce();
      passes_.fetch_add(1);
      // Logged on a change of state, not per pass: a database outage is one line, not one per poll.
      if (!n.ok()) {
        metrics_->pass_failures.Increment();
        if (failures++ == 0) {
          common::LogWarn("event processing paused",
                          {{"reason", "pass_failed"}, {"detail", std::string(n.status().message()).substr(0, 300)}});
        }
      } else if (failures > 0) {
        common::LogInfo("event processing resumed", {{"reason", "pass_succeeded"}, {"failed_passes", failures}});
        failures = 0;
      }
      lock.lock();
      // A full batch means more may be due: go again at once.
      if (n.ok() && *n >= options_.batch) continue;
      cv_.wait_for(lock, absl::ToChronoMilliseconds(EventPassWait(options_, failures)),
                   [this] { return stop_ || wake_; });
    }
  });
}

void EventProcessor::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void EventProcessor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<int> EventProcessor::RunOnce() {
  absl::StatusOr<std::vector<store::ClaimedEvent>> claimed =
      inbox_.Claim(options_.batch, options_.claim_lease, PausedSources());
  if (!claimed.ok()) return claimed.status();
  if (claimed->empty()) return 0;

  std::map<std::pair<std::string, std::string>, std::vector<store::ClaimedEvent>> by_source;
  for (store::ClaimedEvent& e : *claimed) by_source[{e.tenant_id, e.idp_id}].push_back(std::move(e));
  int finished = 0;
  for (auto& [key, rows] : by_source) {
    std::set<int64_t> recheck;
    absl::Status st = ProcessSource(key.first, key.second, rows, &recheck);
    UpdateBreaker(key.second, st);
    store::InboxSettlement settle;
    int max_attempts = 0;
    for (const store::ClaimedEvent& e : rows) {
      max_attempts = std::max(max_attempts, e.attempts);
      // A departure DingTalk does not show yet is looked at again, a few times.
      if (st.ok() && recheck.contains(e.id) && e.attempts <= options_.leave_rechecks) {
        settle.recheck.push_back(e.id);
      } else {
        (st.ok() ? settle.applied : settle.failed).push_back(e.id);
      }
    }
    settle.park = !st.ok() && max_attempts >= options_.max_attempts;
    settle.reason = st.ok() ? "" : std::string(st.message()).substr(0, 500);
    settle.recheck_reason = "leave_not_visible: DingTalk still returns the user";
    absl::StatusOr<std::vector<double>> lags = inbox_.Settle(settle);
    if (!lags.ok()) return lags.status();
    const size_t settled = settle.applied.size() + settle.failed.size();
    if (st.ok() || settle.park) finished += static_cast<int>(settled);
    for (double l : *lags) metrics_->lag.Observe(l);
    (st.ok() ? metrics_->applied : settle.park ? metrics_->failed : metrics_->retry)
        .Increment(static_cast<double>(settled));
    metrics_->recheck.Increment(static_cast<double>(settle.recheck.size()));
    if (!settle.recheck.empty()) {
      common::LogInfo("departure not visible yet", {{"idp_id", key.second},
                                                    {"events", static_cast<int64_t>(settle.recheck.size())},
                                                    {"reason", "leave_not_visible"}});
    }
    if (!st.ok()) {
      common::LogWarn("events not applied", {{"idp_id", key.second},
                                             {"events", static_cast<int64_t>(rows.size())},
                                             {"reason", std::string(dingtalk::ReasonName(dingtalk::ReasonOf(st)))},
                                             {"detail", settle.reason},
                                             {"gave_up", settle.park}});
    }
  }
  return finished;
}

std::vector<std::string> EventProcessor::PausedSources() {
  std::lock_guard<std::mutex> lock(breaker_mu_);
  absl::Time now = clock_.Now();
  std::vector<std::string> out;
  for (const auto& [idp, b] : breakers_) {
    if (b.open_until > now) out.push_back(idp);
  }
  metrics_->paused.Set(static_cast<double>(out.size()));
  return out;
}

void EventProcessor::UpdateBreaker(const std::string& idp, const absl::Status& st) {
  if (options_.breaker_pause <= absl::ZeroDuration()) return;
  std::lock_guard<std::mutex> lock(breaker_mu_);
  if (st.ok() || dingtalk::ReasonOf(st) != dingtalk::ApiError::kUnreachable) {
    // Reachable again (or failing for a reason a pause would not cure): claim as usual.
    if (auto it = breakers_.find(idp); it != breakers_.end()) {
      common::LogInfo("event source resumed", {{"idp_id", idp}, {"reason", "reachable"}});
      breakers_.erase(it);
    }
    return;
  }
  Breaker& b = breakers_[idp];
  absl::Duration pause = b.next_pause > absl::ZeroDuration() ? b.next_pause : options_.breaker_pause;
  b.open_until = clock_.Now() + pause;
  b.next_pause = std::min(pause * 2, std::max(options_.breaker_max_pause, options_.breaker_pause));
  metrics_->breaker_opens.Add({{"reason", std::string(dingtalk::ReasonName(dingtalk::ReasonOf(st)))}}).Increment();
  common::LogWarn("event source paused", {{"idp_id", idp},
                                          {"reason", std::string(dingtalk::ReasonName(dingtalk::ReasonOf(st)))},
                                          {"pause_ms", absl::ToInt64Milliseconds(pause)},
                                          {"detail", std::string(st.message()).substr(0, 200)}});
}

absl::Status EventProcessor::ProcessSource(const std::string& tenant, const std::string& idp,
                                           const std::vector<store::ClaimedEvent>& rows, std::set<int64_t>* recheck) {
  absl::StatusOr<SourceConfig> src = sources_.Load(tenant, idp);
  if (absl::IsNotFound(src.status())) return absl::OkStatus();  // source deleted: nothing to apply
  if (!src.ok()) return src.status();
  absl::StatusOr<std::shared_ptr<dingtalk::Client>> client = sources_.ClientFor(*src);
  if (!client.ok()) return client.status();
  std::set<std::string> users;
  std::set<int64_t> depts;
  for (const store::ClaimedEvent& e : rows) {
    users.insert(e.user_ids.begin(), e.user_ids.end());
    depts.insert(e.dept_ids.begin(), e.dept_ids.end());
  }
  // Latency matters (a resignation must take effect in seconds): the interactive lane.
  const dingtalk::CallOptions opts = dingtalk::CallOptions::Interactive();

  // 1. Re-fetch everything named.
  absl::StatusOr<Refetched> fetched = Refetch(**client, opts, users, depts);
  if (!fetched.ok()) return fetched.status();

  // 2. Keep what lies inside the sync scope; what the directory already holds is inside.
  ScopeCheck scope(src->record.scope_root_dept_ids, **client, opts);
  if (!scope.whole_organisation()) {
    std::set<int64_t> named;
    for (const dingtalk::Department& d : fetched->depts) named.insert(d.parent_id);
    for (const auto& [u, m] : fetched->users) named.insert(m.depts.begin(), m.depts.end());
    absl::StatusOr<std::vector<int64_t>> present =
        store::DirectoryReader(pool_).PresentDepartments(tenant, idp, {named.begin(), named.end()});
    if (!present.ok()) return present.status();
    scope.MarkInside(*present);
  }
  absl::StatusOr<EventWrites> writes = KeepInScope(*std::move(fetched), scope, src->record.field_mappings);
  if (!writes.ok()) return writes.status();
  for (const store::ClaimedEvent& e : rows) {
    if (e.event_type != "user_leave_org") continue;
    for (const std::string& u : e.user_ids) {
      if (writes->present_userids.contains(u)) recheck->insert(e.id);
    }
  }

  // 3. Apply.
  store::DirectoryWriter writer(pool_);
  const std::string origin = rows.size() == 1 ? absl::StrCat("event:", rows[0].event_type) : "event";
  return Apply(writer, tenant, idp, *writes, origin);
}

}  // namespace sase::sync_worker

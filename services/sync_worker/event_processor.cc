#include "sync_worker/event_processor.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "dingtalk/error.h"
#include "store/directory_writer.h"
#include "sync_worker/field_mapping.h"
#include "sync_worker/source_config.h"

namespace sase::sync_worker {
namespace {
namespace v1 = ::sase::dingtalk::v1;

// Whether departments lie inside a source's sync scope (the subtrees of its root departments; no
// roots = the whole organisation), so that events apply exactly what a full sync would hold.
// Departments already in the directory are inside (only in-scope ones are ever written); others
// are decided by walking their parents in DingTalk, memoised for the pass.
class ScopeCheck {
 public:
  ScopeCheck(const std::vector<int64_t>& roots, dingtalk::Client& client, const dingtalk::CallOptions& opts)
      : client_(client), opts_(opts), everything_(roots.empty()), roots_(roots.begin(), roots.end()) {
    for (int64_t r : roots) memo_[r] = true;
  }

  // Marks the departments the directory already holds for this source as inside.
  absl::Status Preload(store::PgPool& pool, const std::string& tenant, const std::string& idp,
                       const std::set<int64_t>& ids) {
    if (everything_ || ids.empty()) return absl::OkStatus();
    return pool.RunStatus([&](pqxx::connection& c) -> absl::Status {
      pqxx::read_transaction tx(c);
      std::string list = absl::StrCat("{", absl::StrJoin(ids, ","), "}");
      for (const auto& row : tx.exec_params("SELECT dept_id FROM departments WHERE tenant_id = $1 AND idp_id = $2::uuid "
                                            "AND dept_id = ANY($3::bigint[])",
                                            tenant, idp, list)) {
        memo_.try_emplace(row[0].as<int64_t>(), true);
      }
      return absl::OkStatus();
    });
  }

  absl::StatusOr<bool> Contains(int64_t dept) {
    if (everything_) return true;
    std::vector<int64_t> chain;
    bool inside = false;
    for (int64_t cur = dept;; ) {
      if (auto it = memo_.find(cur); it != memo_.end()) {
        inside = it->second;
        break;
      }
      // The top of the organisation (or a broken or cyclic chain) without meeting a root.
      if (cur == dingtalk::kRootDeptId || cur <= 0 || chain.size() > 64) break;
      absl::StatusOr<dingtalk::Department> d = client_.GetDepartment(cur, opts_);
      if (!d.ok()) {
        if (dingtalk::ReasonOf(d.status()) == dingtalk::ApiError::kNotFound) break;
        return d.status();
      }
      chain.push_back(cur);
      cur = d->parent_id;
    }
    for (int64_t c : chain) memo_[c] = inside;
    return inside;
  }

  // A department just fetched with its parent: inside when it is a root or its parent is inside
  // (what the directory holds about the department itself may be out of date: it may have moved).
  absl::StatusOr<bool> ContainsMoved(int64_t dept, int64_t parent) {
    if (everything_ || roots_.contains(dept)) return true;
    absl::StatusOr<bool> inside = Contains(parent);
    if (inside.ok()) memo_[dept] = *inside;  // its members follow it
    return inside;
  }

 private:
  dingtalk::Client& client_;
  const dingtalk::CallOptions& opts_;
  const bool everything_;
  const absl::flat_hash_set<int64_t> roots_;
  absl::flat_hash_map<int64_t, bool> memo_;
};

}  // namespace

struct EventProcessor::Claimed {
  int64_t id;
  std::string event_type;
  std::vector<std::string> user_ids;
  std::vector<int64_t> dept_ids;
  int attempts;
};

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
                   .Add({})) {}
  prometheus::Family<prometheus::Counter>& rows;
  prometheus::Counter& applied;
  prometheus::Counter& retry;
  prometheus::Counter& failed;
  prometheus::Counter& recheck;
  prometheus::Histogram& lag;
  prometheus::Family<prometheus::Counter>& breaker_opens;
  prometheus::Gauge& paused;
};

EventProcessor::EventProcessor(store::PgPool& pool, const store::SecretBox& box, ClientFactory factory,
                               prometheus::Registry* registry, EventProcessorOptions options)
    : pool_(pool), box_(box), factory_(std::move(factory)), options_(options) {
  if (registry != nullptr) metrics_ = std::make_unique<Metrics>(*registry);
}

EventProcessor::~EventProcessor() { Stop(); }

void EventProcessor::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      absl::StatusOr<int> n = RunOnce();
      if (!n.ok()) {
        common::LogWarn("event processing pass failed", {{"reason", std::string(n.status().message())}});
      }
      lock.lock();
      // A full batch means more may be due: go again at once.
      if (n.ok() && *n >= options_.batch) continue;
      cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll_interval), [this] { return stop_; });
    }
  });
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
  struct Row {
    std::string tenant, idp;
    Claimed c;
  };
  std::vector<std::string> paused = PausedSources();
  // Claim: push the rows' next attempt past the lease so no other worker takes them meanwhile.
  // Per source (index (idp_id, next_attempt_at) WHERE state = 0), skipping paused sources
  // without reading their rows.
  absl::StatusOr<std::vector<Row>> claimed = pool_.Run<std::vector<Row>>(
      [&](pqxx::connection& conn) -> absl::StatusOr<std::vector<Row>> {
        pqxx::work tx(conn);
        pqxx::result r = tx.exec_params(
            "UPDATE event_inbox SET attempts = attempts + 1, "
            "next_attempt_at = now() + make_interval(secs => $2) "
            "WHERE id IN (SELECT c.id FROM identity_sources s CROSS JOIN LATERAL ("
            "  SELECT e.id FROM event_inbox e "
            "  WHERE e.idp_id = s.idp_id AND e.state = 0 AND e.next_attempt_at <= now() "
            "  ORDER BY e.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) c "
            "  WHERE s.idp_id <> ALL($3::uuid[]) LIMIT $1) "
            "RETURNING id, tenant_id, idp_id::text, event_type, array_to_json(user_ids)::text, "
            "array_to_json(dept_ids)::text, attempts",
            options_.batch, absl::ToDoubleSeconds(options_.claim_lease),
            absl::StrCat("{", absl::StrJoin(paused, ","), "}"));
        tx.commit();
        std::vector<Row> rows;
        for (const auto& row : r) {
          Row x;
          x.c.id = row[0].as<int64_t>();
          x.tenant = row[1].c_str();
          x.idp = row[2].c_str();
          x.c.event_type = row[3].c_str();
          for (const auto& u : nlohmann::json::parse(row[4].c_str())) x.c.user_ids.push_back(u.get<std::string>());
          for (const auto& d : nlohmann::json::parse(row[5].c_str())) x.c.dept_ids.push_back(d.get<int64_t>());
          x.c.attempts = row[6].as<int>();
          rows.push_back(std::move(x));
        }
        return rows;
      });
  if (!claimed.ok()) return claimed.status();
  if (claimed->empty()) return 0;

  std::map<std::pair<std::string, std::string>, std::vector<Claimed>> by_source;
  for (Row& r : *claimed) by_source[{r.tenant, r.idp}].push_back(std::move(r.c));
  int finished = 0;
  for (auto& [key, rows] : by_source) {
    std::set<int64_t> recheck;
    absl::Status st = ProcessSource(key.first, key.second, rows, &recheck);
    UpdateBreaker(key.second, st);
    std::vector<int64_t> ids, later;
    for (const Claimed& c : rows) {
      // A departure DingTalk does not show yet is looked at again, a few times.
      bool again = st.ok() && recheck.contains(c.id) && c.attempts <= options_.leave_rechecks;
      (again ? later : ids).push_back(c.id);
    }
    int max_attempts = 0;
    for (const Claimed& c : rows) max_attempts = std::max(max_attempts, c.attempts);
    bool give_up = !st.ok() && max_attempts >= options_.max_attempts;
    std::string reason = st.ok() ? "" : std::string(st.message()).substr(0, 500);
    absl::Status marked = pool_.RunStatus([&](pqxx::connection& conn) -> absl::Status {
      pqxx::work tx(conn);
      std::string id_list = nlohmann::json(ids).dump();
      if (!later.empty()) {
        tx.exec_params(
            "UPDATE event_inbox SET state = 0, last_error = 'leave_not_visible: DingTalk still returns the user', "
            "next_attempt_at = now() + make_interval(secs => least(300, power(2, attempts))) "
            "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)",
            nlohmann::json(later).dump());
      }
      if (ids.empty()) {
        // every row is waiting for a re-check
      } else if (st.ok()) {
        pqxx::result lag = tx.exec_params(
            "UPDATE event_inbox SET state = 1, last_error = '' "
            "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) "
            "RETURNING extract(epoch FROM now() - received_at)",
            id_list);
        if (metrics_ != nullptr) {
          for (const auto& l : lag) metrics_->lag.Observe(l[0].as<double>());
        }
      } else {
        // Exponential back-off: 2^attempts seconds, at most 5 minutes.
        tx.exec_params(
            "UPDATE event_inbox SET state = CASE WHEN $2 THEN 2 ELSE 0 END, last_error = $3, "
            "next_attempt_at = now() + make_interval(secs => least(300, power(2, attempts))) "
            "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)",
            id_list, give_up, reason);
      }
      tx.commit();
      return absl::OkStatus();
    });
    if (!marked.ok()) return marked;
    if (st.ok() || give_up) finished += static_cast<int>(ids.size());
    if (metrics_ != nullptr) {
      (st.ok() ? metrics_->applied : give_up ? metrics_->failed : metrics_->retry)
          .Increment(static_cast<double>(ids.size()));
      metrics_->recheck.Increment(static_cast<double>(later.size()));
    }
    if (!later.empty()) {
      common::LogInfo("departure not visible yet", {{"idp_id", key.second},
                                                    {"events", static_cast<int64_t>(later.size())},
                                                    {"reason", "leave_not_visible"}});
    }
    if (!st.ok()) {
      common::LogWarn("events not applied", {{"idp_id", key.second},
                                             {"events", static_cast<int64_t>(rows.size())},
                                             {"reason", std::string(dingtalk::ReasonName(dingtalk::ReasonOf(st)))},
                                             {"detail", reason},
                                             {"gave_up", give_up}});
    }
  }
  return finished;
}

std::vector<std::string> EventProcessor::PausedSources() {
  std::lock_guard<std::mutex> lock(breaker_mu_);
  absl::Time now = absl::Now();
  std::vector<std::string> out;
  for (const auto& [idp, b] : breakers_) {
    if (b.open_until > now) out.push_back(idp);
  }
  if (metrics_ != nullptr) metrics_->paused.Set(static_cast<double>(out.size()));
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
  b.open_until = absl::Now() + pause;
  b.next_pause = std::min(pause * 2, std::max(options_.breaker_max_pause, options_.breaker_pause));
  if (metrics_ != nullptr) {
    metrics_->breaker_opens.Add({{"reason", std::string(dingtalk::ReasonName(dingtalk::ReasonOf(st)))}}).Increment();
  }
  common::LogWarn("event source paused", {{"idp_id", idp},
                                          {"reason", std::string(dingtalk::ReasonName(dingtalk::ReasonOf(st)))},
                                          {"pause_ms", absl::ToInt64Milliseconds(pause)},
                                          {"detail", std::string(st.message()).substr(0, 200)}});
}

absl::Status EventProcessor::ProcessSource(const std::string& tenant, const std::string& idp,
                                           std::vector<Claimed>& rows, std::set<int64_t>* recheck) {
  SourceConfigLoader loader(pool_, box_);
  absl::StatusOr<SourceConfig> src = loader.Load(tenant, idp);
  if (absl::IsNotFound(src.status())) return absl::OkStatus();  // source deleted: nothing to apply
  if (!src.ok()) return src.status();
  auto cached = clients_.find(idp);
  if (cached == clients_.end() || cached->second.first != src->record.version) {
    absl::StatusOr<std::shared_ptr<dingtalk::Client>> made = factory_(*src);
    if (!made.ok()) return made.status();
    cached = clients_.insert_or_assign(idp, std::make_pair(src->record.version, *made)).first;
  }
  std::shared_ptr<dingtalk::Client>* client = &cached->second.second;
  std::set<std::string> users;
  std::set<int64_t> depts;
  for (const Claimed& c : rows) {
    users.insert(c.user_ids.begin(), c.user_ids.end());
    depts.insert(c.dept_ids.begin(), c.dept_ids.end());
  }
  // Latency matters (a resignation must take effect in seconds): the interactive lane.
  dingtalk::CallOptions opts = dingtalk::CallOptions::Interactive();
  store::DirectoryWriter writer(pool_);
  std::string origin = "event";
  if (rows.size() == 1) origin = absl::StrCat("event:", rows[0].event_type);

  // Re-fetch everything named (events are hints), then keep what lies inside the sync scope:
  // outside it a department is deleted and a user departed, as a full sync would.
  std::vector<dingtalk::Department> fetched_depts;
  std::vector<int64_t> gone_depts;
  for (int64_t d : depts) {
    absl::StatusOr<dingtalk::Department> got = (*client)->GetDepartment(d, opts);
    if (got.ok()) {
      fetched_depts.push_back(*std::move(got));
    } else if (dingtalk::ReasonOf(got.status()) == dingtalk::ApiError::kNotFound) {
      gone_depts.push_back(d);
    } else {
      return got.status();
    }
  }
  std::vector<std::pair<dingtalk::User, Memberships>> fetched_users;
  std::vector<std::string> departed;
  for (const std::string& u : users) {
    absl::StatusOr<dingtalk::User> got = (*client)->GetUser(u, opts);
    if (got.ok()) {
      Memberships m = MembershipsOf(*got);
      fetched_users.emplace_back(*std::move(got), std::move(m));
    } else if (dingtalk::ReasonOf(got.status()) == dingtalk::ApiError::kNotFound) {
      departed.push_back(u);
    } else {
      return got.status();
    }
  }
  ScopeCheck scope(src->record.scope_root_dept_ids, **client, opts);
  std::set<int64_t> known;
  for (const dingtalk::Department& d : fetched_depts) known.insert(d.parent_id);
  for (const auto& [u, m] : fetched_users) known.insert(m.depts.begin(), m.depts.end());
  if (absl::Status s = scope.Preload(pool_, tenant, idp, known); !s.ok()) return s;

  std::vector<v1::Department> upsert_depts;
  for (const dingtalk::Department& d : fetched_depts) {
    absl::StatusOr<bool> inside = scope.ContainsMoved(d.dept_id, d.parent_id);
    if (!inside.ok()) return inside.status();
    if (!*inside) {
      gone_depts.push_back(d.dept_id);
      continue;
    }
    v1::Department pd;
    pd.set_department_id(d.dept_id);
    pd.set_name(d.name);
    pd.set_parent_id(d.parent_id);
    pd.set_order(d.order);
    upsert_depts.push_back(std::move(pd));
  }
  std::vector<MappingRule> rules;
  for (const auto& m : src->record.field_mappings) rules.push_back({m.source_field, m.target_field});
  std::vector<v1::User> upsert_users;
  for (const auto& [u, m] : fetched_users) {
    bool inside = false;
    for (int64_t d : m.depts) {
      absl::StatusOr<bool> in = scope.Contains(d);
      if (!in.ok()) return in.status();
      if ((inside = *in)) break;
    }
    if (!inside) {
      departed.push_back(u.userid);  // a no-op for a user the directory never held
      continue;
    }
    for (const Claimed& c : rows) {
      if (c.event_type == "user_leave_org" && std::find(c.user_ids.begin(), c.user_ids.end(), u.userid) != c.user_ids.end()) {
        recheck->insert(c.id);
      }
    }
    v1::User mapped = MapUser(u, rules);
    // user/get names every department and leadership: the memberships are replaced with them.
    mapped.mutable_department_ids()->Assign(m.depts.begin(), m.depts.end());
    mapped.mutable_leader_department_ids()->Assign(m.leader_of.begin(), m.leader_of.end());
    upsert_users.push_back(std::move(mapped));
  }
  if (!upsert_depts.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.UpsertDepartments(tenant, idp, upsert_depts, origin);
    if (!r.ok()) return r.status();
  }
  if (!upsert_users.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.UpsertUsers(tenant, idp, upsert_users, origin);
    if (!r.ok()) return r.status();
  }
  if (!departed.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.MarkDeparted(tenant, idp, departed, origin);
    if (!r.ok()) return r.status();
  }
  if (!gone_depts.empty()) {
    absl::StatusOr<store::WriteResult> r = writer.DeleteDepartments(tenant, idp, gone_depts, origin);
    // A department that still has children here is left to the next full sync.
    if (!r.ok() && !absl::IsFailedPrecondition(r.status())) return r.status();
  }
  return absl::OkStatus();
}

}  // namespace sase::sync_worker

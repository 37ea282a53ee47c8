#include "sync_worker/event_inbox.h"

#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace sase::sync_worker {

struct EventInbox::Pending {
  std::string tenant_id;
  std::string idp_id;
  const std::vector<InboxEvent>* events;
  bool done = false;
  absl::StatusOr<SubmitResult> result = absl::InternalError("not run");
};

EventInbox::EventInbox(store::PgPool& pool, prometheus::Registry* registry) : EventInbox(pool, registry, Options{}) {}

EventInbox::EventInbox(store::PgPool& pool, prometheus::Registry* registry, Options options)
    : pool_(pool), options_(options) {
  if (registry != nullptr) {
    batch_events_ = &prometheus::BuildHistogram()
                         .Name("sase_event_inbox_batch_events")
                         .Help("Events committed per inbox transaction (group commit)")
                         .Register(*registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000});
    pending_gauge_ = &prometheus::BuildGauge()
                          .Name("sase_event_inbox_pending")
                          .Help("Inbox events waiting to be processed")
                          .Register(*registry)
                          .Add({});
    refresher_ = std::thread([this] { RefreshLoop(); });
  }
}

EventInbox::~EventInbox() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

void EventInbox::RefreshLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    absl::StatusOr<int64_t> n = PendingCount();
    if (n.ok()) pending_gauge_->Set(static_cast<double>(*n));
    lock.lock();
    cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stop_; });
  }
}

absl::StatusOr<int64_t> EventInbox::PendingCount() {
  return pool_.Run<int64_t>([](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::read_transaction tx(c);
    return tx.exec1("SELECT count(*) FROM event_inbox WHERE state = 0")[0].as<int64_t>();
  });
}

absl::StatusOr<SubmitResult> EventInbox::Submit(const std::string& tenant_id, const std::string& idp_id,
                                                const std::vector<InboxEvent>& events) {
  auto me = std::make_shared<Pending>();
  me->tenant_id = tenant_id;
  me->idp_id = idp_id;
  me->events = &events;
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(me);
  while (!me->done) {
    if (batches_in_flight_ < options_.max_concurrent_batches && !queue_.empty()) {
      // Lead a batch: everything queued so far, up to the size cap.
      std::vector<std::shared_ptr<Pending>> batch;
      size_t n_events = 0;
      while (!queue_.empty() && (batch.empty() || n_events + queue_.front()->events->size() <=
                                                      static_cast<size_t>(options_.max_batch_events))) {
        n_events += queue_.front()->events->size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++batches_in_flight_;
      lock.unlock();
      RunBatch(std::move(batch));
      lock.lock();
      --batches_in_flight_;
      cv_.notify_all();
    } else {
      cv_.wait(lock);
    }
  }
  return me->result;
}

void EventInbox::RunBatch(std::vector<std::shared_ptr<Pending>> batch) {
  absl::Status status = pool_.RunStatus([&](pqxx::connection& c) -> absl::Status {
    pqxx::work tx(c);
    // Ownership of every source in the batch, in one statement. FOR KEY SHARE (what a foreign
    // key check takes, once per batch instead of once per row): a concurrent delete of a source
    // waits for this batch, then deletes its events (trigger, migration 005); updates of the
    // source are not blocked.
    nlohmann::json idps = nlohmann::json::array();
    for (const auto& p : batch) idps.push_back(p->idp_id);
    absl::flat_hash_map<std::string, std::string> tenant_of;
    for (const auto& row : tx.exec_params(
             "SELECT idp_id::text, tenant_id FROM identity_sources "
             "WHERE idp_id IN (SELECT json_array_elements_text($1::json)::uuid) FOR KEY SHARE",
             idps.dump())) {
      tenant_of[row[0].c_str()] = row[1].c_str();
    }
    // Rows in (idp_id, dedupe_key) order: concurrent batches that share keys (a push and its
    // retry, two ingress replicas) then take the unique-index locks in the same order and wait
    // for each other instead of deadlocking.
    std::vector<std::pair<const Pending*, const InboxEvent*>> ordered;
    for (const auto& p : batch) {
      auto it = tenant_of.find(p->idp_id);
      if (it == tenant_of.end() || it->second != p->tenant_id) continue;
      for (const InboxEvent& e : *p->events) ordered.emplace_back(p.get(), &e);
    }
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first->idp_id, a.second->dedupe_key) < std::tie(b.first->idp_id, b.second->dedupe_key);
    });
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [p, e] : ordered) {
      rows.push_back({{"i", p->idp_id},
                      {"t", p->tenant_id},
                      {"k", e->dedupe_key},
                      {"y", e->event_type},
                      {"m", e->event_time_ms},
                      {"u", e->user_ids},
                      {"d", e->department_ids},
                      {"p", e->payload_json}});
    }
    // One INSERT for the whole group; json_to_recordset turns the rows (and their id arrays)
    // into columns in one pass.
    absl::flat_hash_set<std::string> inserted;
    bool all_inserted = false;
    if (!rows.empty()) {
      pqxx::result r = tx.exec_params(
          "INSERT INTO event_inbox (idp_id, tenant_id, dedupe_key, event_type, event_time_ms, user_ids, "
          "dept_ids, payload) "
          "SELECT i, t, k, y, m, coalesce(u, '{}'), coalesce(d, '{}'), p "
          "FROM json_to_recordset($1::json) AS x(i uuid, t text, k text, y text, m bigint, u text[], "
          "d bigint[], p text) "
          "ON CONFLICT (idp_id, dedupe_key) DO NOTHING RETURNING idp_id::text, dedupe_key",
          rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      all_inserted = r.size() == rows.size();
      if (!all_inserted) {
        for (const auto& row : r) inserted.insert(absl::StrCat(row[0].c_str(), "|", row[1].c_str()));
      }
    }
    tx.commit();
    for (const auto& p : batch) {
      auto it = tenant_of.find(p->idp_id);
      if (it == tenant_of.end() || it->second != p->tenant_id) {
        p->result = absl::NotFoundError(absl::StrCat("identity source ", p->idp_id, " not found in tenant ",
                                                     p->tenant_id));
        continue;
      }
      SubmitResult r;
      if (all_inserted) {  // the common case: every row new
        r.accepted = static_cast<int>(p->events->size());
        r.duplicate.assign(p->events->size(), false);
        p->result = std::move(r);
        continue;
      }
      r.duplicate.reserve(p->events->size());
      for (const InboxEvent& e : *p->events) {
        // erase(): a key repeated within the batch counts as stored once, then as a duplicate.
        bool stored = inserted.erase(absl::StrCat(p->idp_id, "|", e.dedupe_key)) > 0;
        r.duplicate.push_back(!stored);
        ++(stored ? r.accepted : r.duplicates);
      }
      p->result = r;
    }
    return absl::OkStatus();
  });
  size_t n_events = 0;
  for (const auto& p : batch) n_events += p->events->size();
  if (batch_events_ != nullptr && status.ok()) batch_events_->Observe(static_cast<double>(n_events));
  if (!status.ok()) {
    common::LogWarn("inbox commit failed", {{"reason", std::string(status.message())},
                                            {"events", static_cast<int64_t>(n_events)}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : batch) {
    if (!status.ok()) p->result = status;
    p->done = true;
  }
}

}  // namespace sase::sync_worker

#include "sync_worker/events/event_inbox.h"

#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <utility>

#include "common/log.h"

namespace sase::sync_worker {

struct EventInbox::Pending {
  std::string tenant_id;
  std::string idp_id;
  const std::vector<InboxEvent>* events;
  bool done = false;
  absl::StatusOr<SubmitResult> result = absl::InternalError("not run");
};

EventInbox::EventInbox(store::PgPool& pool, prometheus::Registry& registry) : EventInbox(pool, registry, Options{}) {}

EventInbox::EventInbox(store::PgPool& pool, prometheus::Registry& registry, Options options)
    : repo_(pool), options_(options) {
  batch_events_ = &prometheus::BuildHistogram()
                       .Name("sase_event_inbox_batch_events")
                       .Help("Events committed per inbox transaction (group commit)")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000});
  pending_gauge_ = &prometheus::BuildGauge()
                        .Name("sase_event_inbox_pending")
                        .Help("Inbox events waiting to be processed")
                        .Register(registry)
                        .Add({});
  refresher_ = std::thread([this] { RefreshLoop(); });
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

absl::StatusOr<int64_t> EventInbox::PendingCount() { return repo_.PendingCount(); }

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
  std::vector<store::InboxSubmission> submissions;
  submissions.reserve(batch.size());
  size_t n_events = 0;
  for (const auto& p : batch) {
    submissions.push_back({p->tenant_id, p->idp_id, p->events});
    n_events += p->events->size();
  }
  absl::StatusOr<std::vector<absl::StatusOr<SubmitResult>>> results = repo_.Insert(submissions);
  if (results.ok()) {
    if (batch_events_ != nullptr) batch_events_->Observe(static_cast<double>(n_events));
  } else {
    common::LogWarn("inbox commit failed", {{"reason", std::string(results.status().message())},
                                            {"events", static_cast<int64_t>(n_events)}});
  }
  bool stored_new = false;
  if (results.ok()) {
    for (const auto& r : *results) stored_new = stored_new || (r.ok() && r->accepted > 0);
  }
  if (stored_new && on_commit_) on_commit_();
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result = results.ok() ? std::move((*results)[i]) : absl::StatusOr<SubmitResult>(results.status());
    batch[i]->done = true;
  }
}

}  // namespace sase::sync_worker

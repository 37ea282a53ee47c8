#include "ingress/event_batcher.h"

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sase::ingress {

struct EventBatcher::Waiter {
  Waiter(callback::Event e, SubmitDone d) : event(std::move(e)), bytes(EventBytes(event)), done(std::move(d)) {}
  callback::Event event;
  size_t bytes;
  SubmitDone done;
};

namespace {

// One SubmitEvents call: its pushes, and the event pointers handed to the sink.
template <typename Waiter>
struct Call {
  std::vector<std::unique_ptr<Waiter>> batch;
  std::vector<const callback::Event*> events;
};

}  // namespace

EventBatcher::EventBatcher(AsyncBatchSink sink, Options options, prometheus::Registry* registry)
    : sink_(std::move(sink)), options_(options) {
  if (options_.max_batch_events == 0) options_.max_batch_events = 1;
  if (options_.max_in_flight_per_source < 1) options_.max_in_flight_per_source = 1;
  if (registry != nullptr) {
    batch_events_ = &prometheus::BuildHistogram()
                         .Name("sase_ingress_batch_events")
                         .Help("Events per SubmitEvents call (pushes coalesced per identity source)")
                         .Register(*registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256});
  }
}

EventBatcher::EventBatcher(BatchSink sink, Options options, prometheus::Registry* registry)
    : EventBatcher(
          [sink = std::move(sink)](const std::string& tenant_id, const std::string& idp_id,
                                   const std::vector<const callback::Event*>& events,
                                   BatchDone done) { done(sink(tenant_id, idp_id, events)); },
          options, registry) {}

EventBatcher::~EventBatcher() = default;

size_t EventBatcher::EventBytes(const callback::Event& e) {
  size_t n = 32 + e.dedupe_key.size() + e.event_type.size() + e.raw_json.size() + 10 * e.dept_ids.size();
  for (const std::string& u : e.user_ids) n += u.size() + 2;
  return n;
}

size_t EventBatcher::queued() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, source] : sources_) n += source->queue.size();
  return n;
}

void EventBatcher::SubmitAsync(const std::string& tenant_id, const std::string& idp_id, callback::Event event,
                               SubmitDone done) {
  auto waiter = std::make_unique<Waiter>(std::move(event), std::move(done));
  std::string key = absl::StrCat(tenant_id, "\n", idp_id);
  std::unique_lock<std::mutex> lock(mu_);
  std::unique_ptr<Source>& slot = sources_[key];
  if (slot == nullptr) {
    slot = std::make_unique<Source>();
    slot->tenant_id = tenant_id;
    slot->idp_id = idp_id;
  }
  slot->queue.push_back(std::move(waiter));
  Pump(key, std::move(lock));
}

absl::StatusOr<StoreOutcome> EventBatcher::Submit(const std::string& tenant_id, const std::string& idp_id,
                                                  const callback::Event& event) {
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  absl::StatusOr<StoreOutcome> result = absl::InternalError("not sent");
  SubmitAsync(tenant_id, idp_id, event, [&](absl::StatusOr<StoreOutcome> r) {
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    finished = true;
    cv.notify_one();  // under the lock: Submit cannot return (and free cv) before this is done
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finished; });
  return result;
}

void EventBatcher::Pump(const std::string& key, std::unique_lock<std::mutex> lock) {
  for (;;) {
    // Looked up afresh each round: a sink that finished inline may have retired the source.
    auto it = sources_.find(key);
    if (it == sources_.end()) return;
    Source& source = *it->second;
    if (source.queue.empty() || source.in_flight >= options_.max_in_flight_per_source) return;
    auto call = std::make_shared<Call<Waiter>>();
    size_t bytes = 0;
    while (!source.queue.empty() && call->batch.size() < options_.max_batch_events) {
      Waiter* w = source.queue.front().get();
      if (!call->batch.empty() && bytes + w->bytes > options_.max_batch_bytes) break;
      bytes += w->bytes;
      call->batch.push_back(std::move(source.queue.front()));
      source.queue.pop_front();
    }
    ++source.in_flight;  // keeps `source` alive until Finish
    std::string tenant_id = source.tenant_id;
    std::string idp_id = source.idp_id;
    lock.unlock();
    call->events.reserve(call->batch.size());
    for (const auto& w : call->batch) call->events.push_back(&w->event);
    sink_(tenant_id, idp_id, call->events, [this, key, call](absl::StatusOr<BatchResult> r) {
      Finish(key, std::move(call->batch), std::move(r));
    });
    lock.lock();
  }
}

void EventBatcher::Finish(const std::string& key, std::vector<std::unique_ptr<Waiter>> batch,
                          absl::StatusOr<BatchResult> r) {
  if (batch_events_ != nullptr) batch_events_->Observe(static_cast<double>(batch.size()));
  absl::StatusOr<StoreOutcome> outcome = absl::InternalError("unset");
  if (!r.ok()) {
    outcome = r.status();
  } else if (r->duplicates == 0) {
    outcome = StoreOutcome::kStored;
  } else if (r->accepted == 0) {
    outcome = StoreOutcome::kDuplicate;
  } else {
    outcome = StoreOutcome::kStoredOrDuplicate;
  }
  bool per_event = r.ok() && r->duplicate.size() == batch.size();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (per_event) {
      batch[i]->done(r->duplicate[i] ? StoreOutcome::kDuplicate : StoreOutcome::kStored);
    } else {
      batch[i]->done(outcome);
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  auto it = sources_.find(key);
  if (it == sources_.end()) return;  // cannot happen: our in_flight count pins the source
  Source& source = *it->second;
  --source.in_flight;
  if (source.queue.empty() && source.in_flight == 0) {
    sources_.erase(it);  // nobody references it any more
    return;
  }
  Pump(key, std::move(lock));
}

}  // namespace sase::ingress

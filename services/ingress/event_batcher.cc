#include "services/ingress/event_batcher.h"

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace sase::ingress {

struct EventBatcher::Waiter {
  Waiter(const callback::Event* e, size_t b) : event(e), bytes(b) {}
  const callback::Event* event;
  size_t bytes;
  std::condition_variable cv;
  bool done = false;
  absl::StatusOr<StoreOutcome> result = absl::InternalError("not sent");
};

EventBatcher::EventBatcher(BatchSink sink, Options options, prometheus::Registry* registry)
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

absl::StatusOr<StoreOutcome> EventBatcher::Submit(const std::string& tenant_id, const std::string& idp_id,
                                                  const callback::Event& event) {
  Waiter me{&event, EventBytes(event)};
  std::string key = absl::StrCat(tenant_id, "\n", idp_id);
  std::unique_lock<std::mutex> lock(mu_);
  std::unique_ptr<Source>& slot = sources_[key];
  if (slot == nullptr) slot = std::make_unique<Source>();
  Source* source = slot.get();
  source->queue.push_back(&me);
  // `source` stays valid while `me` is queued or a batch is in flight (see Lead); once `me` is
  // done it is not touched again.
  while (!me.done) {
    if (source->in_flight < options_.max_in_flight_per_source && !source->queue.empty()) {
      Lead(tenant_id, idp_id, *source, lock);
    } else {
      me.cv.wait(lock);
    }
  }
  return std::move(me.result);
}

void EventBatcher::Lead(const std::string& tenant_id, const std::string& idp_id, Source& source,
                        std::unique_lock<std::mutex>& lock) {
  std::vector<Waiter*> batch;
  size_t bytes = 0;
  while (!source.queue.empty() && batch.size() < options_.max_batch_events) {
    Waiter* w = source.queue.front();
    if (!batch.empty() && bytes + w->bytes > options_.max_batch_bytes) break;
    bytes += w->bytes;
    batch.push_back(w);
    source.queue.pop_front();
  }
  ++source.in_flight;
  // The cap left pushes behind and another call may go: let the next in line lead it.
  if (!source.queue.empty() && source.in_flight < options_.max_in_flight_per_source) {
    source.queue.front()->cv.notify_one();
  }
  lock.unlock();
  std::vector<const callback::Event*> events;
  events.reserve(batch.size());
  for (Waiter* w : batch) events.push_back(w->event);
  absl::StatusOr<BatchResult> r = sink_(tenant_id, idp_id, events);
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
  lock.lock();
  --source.in_flight;
  for (Waiter* w : batch) {
    w->result = outcome;
    w->done = true;
    w->cv.notify_one();  // under the lock: the waiter cannot return (and free `w`) before we are done
  }
  if (!source.queue.empty()) {
    source.queue.front()->cv.notify_one();
  } else if (source.in_flight == 0) {
    sources_.erase(absl::StrCat(tenant_id, "\n", idp_id));  // nobody references it any more
  }
}

}  // namespace sase::ingress

#pragma once
// Coalesces concurrent pushes for the same (tenant, identity source) into one SubmitEvents call.
//
// Leader/follower, no timer: a push that finds fewer than `max_in_flight_per_source` calls in
// flight for its source sends at once — everything queued for that source so far, up to
// `max_batch_events` / `max_batch_bytes` — and the pushes that arrive meanwhile wait and go out
// together in the next call. At a low rate every push therefore goes alone and adds no latency;
// under load the batch grows with the round trip. Every push in a call gets that call's status,
// and Submit returns only after the sink returned (i.e. after sync_worker committed).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "callback/event.h"

namespace prometheus {
class Histogram;
class Registry;
}  // namespace prometheus

namespace sase::ingress {

struct BatchResult {
  int accepted = 0;    // newly stored
  int duplicates = 0;  // already in the inbox
};

// Stores a batch of one source's events durably; returns after commit.
using BatchSink = std::function<absl::StatusOr<BatchResult>(
    const std::string& tenant_id, const std::string& idp_id, const std::vector<const callback::Event*>& events)>;

// What became of one push. The sink reports counts per call, so when a call mixed new events and
// duplicates the single push's fate is not known (kStoredOrDuplicate); it is committed either way.
enum class StoreOutcome { kStored, kDuplicate, kStoredOrDuplicate };

class EventBatcher {
 public:
  struct Options {
    size_t max_batch_events = 256;
    size_t max_batch_bytes = 1 << 20;
    int max_in_flight_per_source = 2;
  };
  // With a registry: sase_ingress_batch_events (histogram of events per SubmitEvents call).
  EventBatcher(BatchSink sink, Options options, prometheus::Registry* registry = nullptr);
  ~EventBatcher();

  // Blocks until the batch carrying `event` was stored (or failed).
  absl::StatusOr<StoreOutcome> Submit(const std::string& tenant_id, const std::string& idp_id,
                                      const callback::Event& event);

  // Pushes waiting for a call (not yet sent).
  size_t queued();

  // Approximate size of an event in a SubmitEvents request (for the byte cap).
  static size_t EventBytes(const callback::Event& event);

 private:
  struct Waiter;
  struct Source {
    std::deque<Waiter*> queue;
    int in_flight = 0;
  };
  void Lead(const std::string& tenant_id, const std::string& idp_id, Source& source,
            std::unique_lock<std::mutex>& lock);

  BatchSink sink_;
  Options options_;
  prometheus::Histogram* batch_events_ = nullptr;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Source>> sources_;  // key: tenant '\n' idp
};

}  // namespace sase::ingress

#pragma once
// Coalesces concurrent pushes for the same (tenant, identity source) into one SubmitEvents call.
//
// No timer: a push that finds fewer than `max_in_flight_per_source` calls in flight for its
// source starts a call at once — carrying everything queued for that source so far, up to
// `max_batch_events` / `max_batch_bytes` — and the pushes that arrive meanwhile queue and go out
// together when a call finishes. At a low rate every push therefore goes alone and adds no
// latency; under load the batch grows with the round trip. Every push in a call gets that call's
// status, and only after the sink reported it (i.e. after sync_worker committed).
//
// The core is asynchronous (SubmitAsync + an AsyncBatchSink, e.g. gRPC's callback API), so the
// HTTP event loop never blocks on a commit; Submit is a blocking wrapper for callers that want one.

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
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
  // Per event of the call, in order (empty when the sink reports counts only).
  std::vector<bool> duplicate;
};

// Stores a batch of one source's events durably; returns after commit.
using BatchSink = std::function<absl::StatusOr<BatchResult>(
    const std::string& tenant_id, const std::string& idp_id, const std::vector<const callback::Event*>& events)>;
// The same, asynchronously: `done` is called exactly once, inline or from any thread, after the
// commit (or failure). `events` stay valid until then.
using BatchDone = absl::AnyInvocable<void(absl::StatusOr<BatchResult>)>;
using AsyncBatchSink = std::function<void(const std::string& tenant_id, const std::string& idp_id,
                                          const std::vector<const callback::Event*>& events, BatchDone done)>;

// What became of one push. From a sink that reports counts only, a push in a call that mixed new
// events and duplicates cannot be told apart (kStoredOrDuplicate); it is committed either way.
enum class StoreOutcome { kStored, kDuplicate, kStoredOrDuplicate };
using SubmitDone = absl::AnyInvocable<void(absl::StatusOr<StoreOutcome>)>;

class EventBatcher {
 public:
  struct Options {
    size_t max_batch_events = 256;
    size_t max_batch_bytes = 1 << 20;
    int max_in_flight_per_source = 2;
  };
  // With a registry: sase_ingress_batch_events (histogram of events per SubmitEvents call).
  EventBatcher(AsyncBatchSink sink, Options options, prometheus::Registry* registry = nullptr);
  // A blocking sink runs on the thread that starts the call (a submitter, or the one that
  // finished the previous call).
  EventBatcher(BatchSink sink, Options options, prometheus::Registry* registry = nullptr);
  ~EventBatcher();

  // Queues `event`; `done` gets the outcome of the call that carried it, on the thread that
  // finished that call (possibly this one, before SubmitAsync returns).
  void SubmitAsync(const std::string& tenant_id, const std::string& idp_id, callback::Event event, SubmitDone done);
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
    std::string tenant_id;
    std::string idp_id;
    std::deque<std::unique_ptr<Waiter>> queue;
    int in_flight = 0;
  };
  // Starts calls for `key` while it has queued pushes and room in flight. Called with `lock`
  // held; returns with it released.
  void Pump(const std::string& key, std::unique_lock<std::mutex> lock);
  void Finish(const std::string& key, std::vector<std::unique_ptr<Waiter>> batch, absl::StatusOr<BatchResult> r);

  AsyncBatchSink sink_;
  Options options_;
  prometheus::Histogram* batch_events_ = nullptr;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Source>> sources_;  // key: tenant '\n' idp
};

}  // namespace sase::ingress

#pragma once
// Group commit in front of the event inbox (store/event_inbox_repository.h): verified, decrypted
// DingTalk events handed over by ingress. Submit returns only after commit.
//
// Group commit: concurrent Submit calls are gathered into one transaction (one ownership check,
// one multi-row INSERT, one commit) by whichever caller finds no batch in flight; the others wait
// for it. Durable throughput is therefore far above one fsync per event, while each caller still
// returns only after its own events are committed.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "store/event_inbox_repository.h"
#include "store/pg_pool.h"

namespace prometheus {
class Registry;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace sase::sync_worker {

using InboxEvent = store::InboxEvent;
using SubmitResult = store::InboxInsertResult;

class EventInbox {
 public:
  struct Options {
    int max_batch_events = 2000;
    int max_concurrent_batches = 2;
  };
  // Metrics: sase_event_inbox_batch_events (histogram) and sase_event_inbox_pending
  // (gauge, refreshed every few seconds by a background thread).
  EventInbox(store::PgPool& pool, prometheus::Registry& registry);
  EventInbox(store::PgPool& pool, prometheus::Registry& registry, Options options);
  ~EventInbox();

  // NOT_FOUND unless idp_id is an identity source of tenant_id.
  absl::StatusOr<SubmitResult> Submit(const std::string& tenant_id, const std::string& idp_id,
                                      const std::vector<InboxEvent>& events);

  // Called (on the committing thread, outside the lock) after a batch stored new events; set once
  // before serving. The composition root wakes the event processor with it.
  void OnCommit(std::function<void()> callback) { on_commit_ = std::move(callback); }

  // Events not yet processed (PENDING).
  absl::StatusOr<int64_t> PendingCount();

 private:
  struct Pending;
  void RunBatch(std::vector<std::shared_ptr<Pending>> batch);
  void RefreshLoop();

  store::EventInboxRepository repo_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  int batches_in_flight_ = 0;
  prometheus::Histogram* batch_events_ = nullptr;
  prometheus::Gauge* pending_gauge_ = nullptr;
  bool stop_ = false;
  std::thread refresher_;
  std::function<void()> on_commit_;
};

}  // namespace sase::sync_worker

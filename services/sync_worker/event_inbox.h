#pragma once
// The event inbox (table event_inbox): verified, decrypted DingTalk events handed over by ingress,
// deduplicated on (idp_id, dedupe_key). Submit returns only after commit.
//
// Group commit: concurrent Submit calls are gathered into one transaction (one ownership check,
// one multi-row INSERT, one commit) by whichever caller finds no batch in flight; the others wait
// for it. Durable throughput is therefore far above one fsync per event, while each caller still
// returns only after its own events are committed.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "store/pg_pool.h"

namespace prometheus {
class Registry;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace sase::sync_worker {

struct InboxEvent {
  std::string dedupe_key;
  std::string event_type;
  int64_t event_time_ms = 0;
  std::vector<std::string> user_ids;
  std::vector<int64_t> department_ids;
  std::string payload_json;
};

struct SubmitResult {
  int accepted = 0;    // newly stored
  int duplicates = 0;  // dedupe key already present (or repeated within the batch)
  std::vector<bool> duplicate;  // per submitted event, in order
};

class EventInbox {
 public:
  struct Options {
    int max_batch_events = 2000;
    int max_concurrent_batches = 2;
  };
  // With a registry: sase_event_inbox_batch_events (histogram) and sase_event_inbox_pending
  // (gauge, refreshed every few seconds by a background thread).
  EventInbox(store::PgPool& pool, prometheus::Registry* registry = nullptr);
  EventInbox(store::PgPool& pool, prometheus::Registry* registry, Options options);
  ~EventInbox();

  // NOT_FOUND unless idp_id is an identity source of tenant_id.
  absl::StatusOr<SubmitResult> Submit(const std::string& tenant_id, const std::string& idp_id,
                                      const std::vector<InboxEvent>& events);

  // Events not yet processed (state 0).
  absl::StatusOr<int64_t> PendingCount();

 private:
  struct Pending;
  void RunBatch(std::vector<std::shared_ptr<Pending>> batch);
  void RefreshLoop();

  store::PgPool& pool_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  int batches_in_flight_ = 0;
  prometheus::Histogram* batch_events_ = nullptr;
  prometheus::Gauge* pending_gauge_ = nullptr;
  bool stop_ = false;
  std::thread refresher_;
};

}  // namespace sase::sync_worker

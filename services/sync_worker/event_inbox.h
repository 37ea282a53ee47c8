#pragma once
// The event inbox (table event_inbox): verified, decrypted DingTalk events handed over by ingress,
// deduplicated on (idp_id, dedupe_key). Submit returns only after commit.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/pg_pool.h"

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
};

class EventInbox {
 public:
  explicit EventInbox(store::PgPool& pool) : pool_(pool) {}

  // Stores the events in one transaction. NOT_FOUND unless idp_id is an identity source of tenant_id.
  absl::StatusOr<SubmitResult> Submit(const std::string& tenant_id, const std::string& idp_id,
                                      const std::vector<InboxEvent>& events);

 private:
  store::PgPool& pool_;
};

}  // namespace sase::sync_worker

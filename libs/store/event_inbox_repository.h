#pragma once
// The event inbox (table event_inbox, migrations 001 + 005): verified, decrypted DingTalk events,
// deduplicated on (idp_id, dedupe_key), waiting to be applied. A row is PENDING until the event
// processor has applied it (APPLIED) or given up on it (PARKED). Claiming pushes a row's
// next_attempt_at past a lease, so replicas process disjoint rows and a dead worker's rows come
// back once the lease has passed.
//
//   EventInboxRepository inbox(pool);
//   ASSIGN_OR_RETURN(auto results, inbox.Insert({{tenant, idp, &events}}));
//   ASSIGN_OR_RETURN(std::vector<ClaimedEvent> due, inbox.Claim(200, absl::Seconds(60), paused));
//   ASSIGN_OR_RETURN(std::vector<double> lags, inbox.Settle({.applied = ids}));

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/pg_pool.h"

namespace sase::store {

// event_inbox.state
inline constexpr int kInboxPending = 0;
inline constexpr int kInboxApplied = 1;
inline constexpr int kInboxParked = 2;  // given up after max attempts; the full sync converges it

struct InboxEvent {
  std::string dedupe_key;
  std::string event_type;
  int64_t event_time_ms = 0;
  std::vector<std::string> user_ids;
  std::vector<int64_t> department_ids;
  std::string payload_json;
};

// The events one caller submits for one identity source.
struct InboxSubmission {
  std::string tenant_id;
  std::string idp_id;
  const std::vector<InboxEvent>* events = nullptr;
};

struct InboxInsertResult {
  int accepted = 0;    // newly stored
  int duplicates = 0;  // dedupe key already present (or repeated within the batch)
  std::vector<bool> duplicate;  // per submitted event, in order
};

struct ClaimedEvent {
  int64_t id = 0;
  std::string tenant_id;
  std::string idp_id;
  std::string event_type;
  std::vector<std::string> user_ids;
  std::vector<int64_t> dept_ids;
  int attempts = 0;  // including this claim
};

// What became of claimed rows (each id in at most one list).
struct InboxSettlement {
  std::vector<int64_t> applied;  // -> APPLIED
  std::vector<int64_t> failed;   // -> PENDING with back-off, or PARKED when `park`
  bool park = false;
  std::string reason;                // last_error of the failed rows
  std::vector<int64_t> recheck;      // -> PENDING with back-off, last_error = recheck_reason
  std::string recheck_reason;
};

class EventInboxRepository {
 public:
  explicit EventInboxRepository(PgPool& pool) : pool_(pool) {}

  // Stores every submission in one transaction (one ownership check, one multi-row INSERT). Per
  // submission, in order: its result, or NOT_FOUND unless idp_id is an identity source of
  // tenant_id. The outer status fails only when the transaction does (then nothing is stored).
  absl::StatusOr<std::vector<absl::StatusOr<InboxInsertResult>>> Insert(
      const std::vector<InboxSubmission>& submissions);

  // Claims up to `limit` due PENDING rows (attempts + 1, next_attempt_at = now + lease), per
  // source, skipping the sources in `paused` without reading their rows.
  absl::StatusOr<std::vector<ClaimedEvent>> Claim(int limit, absl::Duration lease,
                                                  const std::vector<std::string>& paused);

  // Records the outcome of claimed rows in one transaction. Failed and re-checked rows back off
  // 2^attempts seconds, at most 5 minutes. Returns, per applied row, the seconds since receipt.
  absl::StatusOr<std::vector<double>> Settle(const InboxSettlement& settlement);

  // PENDING rows.
  absl::StatusOr<int64_t> PendingCount();

 private:
  PgPool& pool_;
};

}  // namespace sase::store

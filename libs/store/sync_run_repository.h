#pragma once
// Sync runs in PostgreSQL (table sync_runs, migrations 001 + 004), and the scheduler's next_sync_at
// and retry back-off (sync_retry_at, sync_failures: migration 007) of identity sources. Runs are claimed through a
// lease (lease_owner, lease_expires_at): the owner renews it with Heartbeat; once it has expired,
// ClaimExpired lets any replica take the run over (it restarts from the beginning, which is safe
// because applying a snapshot is idempotent). At most one unfinished run (PENDING, FETCHING,
// APPLYING) per identity source is enforced by a unique partial index.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sase/dingtalk/v1/sync.pb.h"
#include "store/pg_pool.h"

namespace sase::store {

// sync_runs.state values (sase.dingtalk.v1.SyncRunState) of an unfinished run: PENDING, FETCHING,
// APPLYING. The SQL predicate is also the unique partial index's (migration 001), so it is spelled
// exactly as there.
inline constexpr char kRunUnfinished[] = "state IN (1, 2, 3)";

struct SyncRunRecord {
  ::sase::dingtalk::v1::SyncRun run;
  std::vector<std::string> held_userids;
  std::vector<int64_t> held_dept_ids;
  int attempts = 0;
  std::string lease_owner;
};

// Back-off of the retry of a failed run: base * 2^(failures in a row - 1), at most max.
struct RetryBackoff {
  absl::Duration base = absl::Minutes(1);
  absl::Duration max = absl::Minutes(30);
};

// How a run ended, as Finish stores it.
struct RunOutcome {
  int state = ::sase::dingtalk::v1::FAILED;  // SUCCEEDED, AWAITING_APPROVAL or FAILED
  ::sase::dingtalk::v1::SyncProgress progress;
  ::sase::dingtalk::v1::SyncCounts counts;
  std::string failure_reason;
  std::string failure_detail;
  std::vector<std::string> held_userids;
  std::vector<int64_t> held_dept_ids;
  // A FAILED run worth retrying (a transient reason): the source's next retry is scheduled with
  // this back-off. Unset: no retry (any retry due is cleared, as is the failure count on success).
  std::optional<RetryBackoff> retry;
};

struct SyncRunPage {
  std::vector<::sase::dingtalk::v1::SyncRun> runs;
  std::string next_page_token;
};

class SyncRunRepository {
 public:
  explicit SyncRunRepository(PgPool& pool) : pool_(pool) {}

  // A PENDING manual run leased to `owner`. NOT_FOUND when the source is not the tenant's;
  // FAILED_PRECONDITION when the source already has an unfinished run.
  absl::StatusOr<SyncRunRecord> CreateManual(const std::string& tenant, const std::string& idp_id,
                                             bool departments_only, const std::string& owner, absl::Duration lease);

  // Claims one source that is due (FOR UPDATE SKIP LOCKED): an auto_sync source whose next_sync_at
  // has come (its next_sync_at moves one cycle, with +-5 % jitter, ahead; a SCHEDULED run), or any
  // source whose sync_retry_at has come (cleared; a RETRY run). The run is leased to owner
  // (departments only when sync_user_info is off). nullopt when nothing is due.
  absl::StatusOr<std::optional<SyncRunRecord>> ClaimScheduled(const std::string& owner, absl::Duration lease);

  // Takes over one unfinished run whose lease has expired: leased to owner, state PENDING,
  // attempts + 1. nullopt when there is none.
  absl::StatusOr<std::optional<SyncRunRecord>> ClaimExpired(const std::string& owner, absl::Duration lease);

  // Renews the lease and stores state, progress and counts. FAILED_PRECONDITION when the run is no
  // longer leased to owner (taken over or finished).
  absl::Status Heartbeat(const std::string& run_id, const std::string& owner, absl::Duration lease, int state,
                         const ::sase::dingtalk::v1::SyncProgress& progress,
                         const ::sase::dingtalk::v1::SyncCounts& counts);

  // Gives up the lease of an unfinished run without ending it (clean shutdown): the run stays
  // in its state with its progress, and ClaimExpired hands it to another replica at once.
  // FAILED_PRECONDITION when the run is no longer leased to owner.
  absl::Status Release(const std::string& run_id, const std::string& owner);

  // Ends the run, releases the lease and, in the same transaction, schedules the source's retry
  // (outcome.retry) or clears it. Returns when the retry is due (nullopt: none).
  // FAILED_PRECONDITION when the run is no longer leased to owner.
  absl::StatusOr<std::optional<absl::Time>> Finish(const std::string& run_id, const std::string& owner,
                                                   const RunOutcome& outcome);

  // NOT_FOUND unless the run exists in the tenant.
  absl::StatusOr<SyncRunRecord> Get(const std::string& tenant, const std::string& run_id);
  // Newest first; keyset paging on (started_at, run_id). idp_id "" = every source of the tenant.
  absl::StatusOr<SyncRunPage> List(const std::string& tenant, const std::string& idp_id, int page_size,
                                   const std::string& page_token);

  // Applies the departures held by an AWAITING_APPROVAL run (one transaction: users departed,
  // departments deleted, run SUCCEEDED). FAILED_PRECONDITION when the run is not awaiting approval,
  // a newer run of the source exists, or one is unfinished.
  absl::StatusOr<SyncRunRecord> ApproveDeletions(const std::string& tenant, const std::string& run_id);

 private:
  PgPool& pool_;
};

}  // namespace sase::store

#pragma once
// Sync runs in PostgreSQL (table sync_runs, migrations 001 + 004), and the scheduler's next_sync_at
// of identity sources. Runs are claimed through a
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

  // Claims one auto_sync source whose next_sync_at is due (FOR UPDATE SKIP LOCKED), moves its
  // next_sync_at one cycle (with +-5 % jitter) ahead and creates a SCHEDULED run leased to owner
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

  // Ends the run (SUCCEEDED, AWAITING_APPROVAL or FAILED), releases the lease. FAILED_PRECONDITION
  // when the run is no longer leased to owner.
  absl::Status Finish(const std::string& run_id, const std::string& owner, int state,
                      const ::sase::dingtalk::v1::SyncProgress& progress,
                      const ::sase::dingtalk::v1::SyncCounts& counts, const std::string& failure_reason,
                      const std::string& failure_detail, const std::vector<std::string>& held_userids,
                      const std::vector<int64_t>& held_dept_ids);

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

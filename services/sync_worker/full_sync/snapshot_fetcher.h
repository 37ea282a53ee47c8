#pragma once
// Fetches one identity source's organisation from DingTalk (the snapshot of a full sync). No
// database access.
//
// Departments: breadth-first with department/listsub from the root (department/get for the
// root's own name) or from each scope root. Users: v2/user/list per department, pages of 100.
// Department listing and user listing run concurrently on small worker pools, so each API runs at
// its own rate limit (the client paces per (app, API)). A user listed in several departments is
// kept once; its departments are the union of the listings (each listing names the user's
// dept_id_list), filtered to the departments of the snapshot. Never one call per user.
//
// FetchStreaming hands the snapshot to a sink in batches while it is being fetched, so a caller
// can apply it without holding the whole organisation in memory:
//
//   FetchProgress progress;
//   ASSIGN_OR_RETURN(FetchSummary sum, FetchStreaming(client, opts, progress, cancel, sink));
//
// FetchSnapshot collects everything into memory (tests, small organisations).

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "dingtalk/client.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "sync_worker/full_sync/outage_gate.h"
#include "sync_worker/source/field_mapping.h"

namespace sase::sync_worker {

struct FetchOptions {
  std::vector<int64_t> scope_roots;  // empty: the whole organisation (root department 1)
  bool departments_only = false;
  int department_workers = 8;
  int user_workers = 8;
  int page_size = dingtalk::kMaxUserPageSize;
  std::vector<store::FieldMappingRecord> mappings;
  dingtalk::CallStats* stats = nullptr;  // per-run counters, optional
  // Waits out DingTalk outages (calls the client gave up on with a retryable reason) and repeats
  // the call; null: such a call fails the fetch at once. Not owned.
  OutageGate* outage = nullptr;
  // Users per sink batch; user listing pauses while this many times `max_buffered_batches` users
  // wait for the sink (bounds memory when the sink is slower than DingTalk).
  int batch = 1000;
  int max_buffered_batches = 4;
};

// Live counters, read by the run's heartbeat while fetching.
struct FetchProgress {
  std::atomic<int64_t> departments_done{0};
  std::atomic<int64_t> departments_total{0};
  std::atomic<int64_t> users_done{0};
  std::atomic<int64_t> users_total{0};
};

// Receives the snapshot in pieces, always on the thread that called FetchStreaming, one call at a
// time. Every department arrives before its children and before any user that names it; a user
// arrives once each of its departments has arrived or is known to be outside the snapshot, with
// department_ids and leader_department_ids filtered to the snapshot and sorted. A user arrives
// again only when a later listing names a department the earlier ones did not; the later one wins.
// An error from the sink stops the fetch and is returned.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual absl::Status Departments(const std::vector<::sase::dingtalk::v1::Department>& batch) = 0;
  virtual absl::Status Users(const std::vector<::sase::dingtalk::v1::User>& batch) = 0;
};

// What a complete fetch saw (the departure diff needs only the ids).
struct FetchSummary {
  absl::flat_hash_set<int64_t> department_ids;
  absl::flat_hash_set<std::string> userids;  // empty when departments_only
  bool users_fetched = false;
};

// A failing call (after retries) fails the whole fetch with its DingTalk status; Cancelled when
// `cancel` becomes true. kNotFound on a department (deleted while walking) counts as empty.
// Whatever the sink received before a failure is a prefix of an incomplete snapshot.
absl::StatusOr<FetchSummary> FetchStreaming(dingtalk::Client& client, const FetchOptions& options,
                                            FetchProgress& progress, const std::atomic<bool>& cancel,
                                            SnapshotSink& sink);

struct Snapshot {
  // Breadth-first: every parent in the snapshot precedes its children.
  std::vector<::sase::dingtalk::v1::Department> departments;
  // Deduplicated; department_ids and leader_department_ids sorted. Empty when departments_only.
  std::vector<::sase::dingtalk::v1::User> users;
  bool users_fetched = false;
};

absl::StatusOr<Snapshot> FetchSnapshot(dingtalk::Client& client, const FetchOptions& options,
                                       FetchProgress& progress, const std::atomic<bool>& cancel);

}  // namespace sase::sync_worker

#pragma once
// Fetches one identity source's organisation from DingTalk into memory (the staged snapshot of a
// full sync). No database access.
//
// Departments: breadth-first with department/listsub from the root (department/get for the
// root's own name) or from each scope root. Users: v2/user/list per department, pages of 100.
// Department listing and user listing run concurrently on small worker pools, so each API runs at
// its own rate limit (the client paces per (app, API)). A user listed in several departments is
// kept once; its departments are the union of the listings, filtered to the departments of the
// snapshot. Never one call per user.
//
//   FetchProgress progress;
//   ASSIGN_OR_RETURN(Snapshot snap, FetchSnapshot(client, opts, progress, cancel));

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "dingtalk/client.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "sync_worker/field_mapping.h"

namespace sase::sync_worker {

struct FetchOptions {
  std::vector<int64_t> scope_roots;  // empty: the whole organisation (root department 1)
  bool departments_only = false;
  int department_workers = 4;
  int user_workers = 8;
  int page_size = dingtalk::kMaxUserPageSize;
  std::vector<MappingRule> mappings;
  dingtalk::CallStats* stats = nullptr;  // per-run counters, optional
  // Extra attempts of a call the client gave up on with a retryable reason (throttled, unreachable).
  int extra_attempts = 3;
};

// Live counters, read by the run's heartbeat while fetching.
struct FetchProgress {
  std::atomic<int64_t> departments_done{0};
  std::atomic<int64_t> departments_total{0};
  std::atomic<int64_t> users_done{0};
  std::atomic<int64_t> users_total{0};
};

struct Snapshot {
  // Breadth-first: every parent in the snapshot precedes its children.
  std::vector<::sase::dingtalk::v1::Department> departments;
  // Deduplicated; department_ids and leader_department_ids sorted. Empty when departments_only.
  std::vector<::sase::dingtalk::v1::User> users;
  bool users_fetched = false;
};

// A failing call (after retries) fails the whole fetch with its DingTalk status; Cancelled when
// `cancel` becomes true. kNotFound on a department (deleted while walking) counts as empty.
absl::StatusOr<Snapshot> FetchSnapshot(dingtalk::Client& client, const FetchOptions& options,
                                       FetchProgress& progress, const std::atomic<bool>& cancel);

}  // namespace sase::sync_worker

#pragma once
// What a complete snapshot removes, as a pure function: the users the directory held active that
// DingTalk no longer lists, and the departments it no longer has. Applied (or held by the deletion
// guard) only after the fetch completed, never from a partial snapshot.

#include <cstdint>
#include <string>
#include <vector>

#include "store/directory_reader.h"
#include "sync_worker/full_sync/snapshot_fetcher.h"

namespace sase::sync_worker {

struct Removals {
  std::vector<std::string> departed_userids;  // sorted; none when the run fetched departments only
  std::vector<int64_t> deleted_dept_ids;       // deepest first, so children go before their parents
};

Removals ComputeRemovals(const store::SourceBaseline& before, const FetchSummary& snapshot);

}  // namespace sase::sync_worker

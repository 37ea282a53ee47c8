#include "sync_worker/full_sync/removals.h"

#include <algorithm>
#include <utility>

namespace sase::sync_worker {

Removals ComputeRemovals(const store::SourceBaseline& before, const FetchSummary& snapshot) {
  Removals out;
  if (snapshot.users_fetched) {
    for (const std::string& u : before.active_userids) {
      if (!snapshot.userids.contains(u)) out.departed_userids.push_back(u);
    }
  }
  std::sort(out.departed_userids.begin(), out.departed_userids.end());
  std::vector<std::pair<int64_t, int>> gone;  // dept_id, depth
  for (const auto& d : before.departments) {
    if (!snapshot.department_ids.contains(d.first)) gone.push_back(d);
  }
  std::stable_sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  out.deleted_dept_ids.reserve(gone.size());
  for (const auto& d : gone) out.deleted_dept_ids.push_back(d.first);
  return out;
}

}  // namespace sase::sync_worker

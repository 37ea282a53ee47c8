#include "sync_worker/events/scope_check.h"

#include "dingtalk/error.h"

namespace sase::sync_worker {

ScopeCheck::ScopeCheck(const std::vector<int64_t>& roots, dingtalk::Client& client, const dingtalk::CallOptions& opts)
    : client_(client), opts_(opts), everything_(roots.empty()), roots_(roots.begin(), roots.end()) {
  for (int64_t r : roots) memo_[r] = true;
}

void ScopeCheck::MarkInside(const std::vector<int64_t>& depts) {
  for (int64_t d : depts) memo_.try_emplace(d, true);
}

absl::StatusOr<bool> ScopeCheck::Contains(int64_t dept) {
  if (everything_) return true;
  std::vector<int64_t> chain;
  bool inside = false;
  for (int64_t cur = dept;;) {
    if (auto it = memo_.find(cur); it != memo_.end()) {
      inside = it->second;
      break;
    }
    // The top of the organisation (or a broken or cyclic chain) without meeting a root.
    if (cur == dingtalk::kRootDeptId || cur <= 0 || chain.size() > 64) break;
    absl::StatusOr<dingtalk::Department> d = client_.GetDepartment(cur, opts_);
    if (!d.ok()) {
      if (dingtalk::ReasonOf(d.status()) == dingtalk::ApiError::kNotFound) break;
      return d.status();
    }
    chain.push_back(cur);
    cur = d->parent_id;
  }
  for (int64_t c : chain) memo_[c] = inside;
  return inside;
}

absl::StatusOr<bool> ScopeCheck::ContainsMoved(int64_t dept, int64_t parent) {
  if (everything_ || roots_.contains(dept)) return true;
  absl::StatusOr<bool> inside = Contains(parent);
  if (inside.ok()) memo_[dept] = *inside;  // its members follow it
  return inside;
}

}  // namespace sase::sync_worker

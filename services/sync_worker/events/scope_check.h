#pragma once
// Whether departments lie inside a source's sync scope (the subtrees of its root departments; no
// roots = the whole organisation), so that events apply exactly what a full sync would hold.
// Departments the caller marks as known-inside (those the directory already holds: only in-scope
// ones are ever written) answer at once; others are decided by walking their parents in DingTalk
// (v2/department/get), memoised for the life of the object (one processing pass).

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "dingtalk/client.h"

namespace sase::sync_worker {

class ScopeCheck {
 public:
  ScopeCheck(const std::vector<int64_t>& roots, dingtalk::Client& client, const dingtalk::CallOptions& opts);

  // Whether a scope is set at all (no roots: every department is inside, nothing is fetched).
  bool whole_organisation() const { return everything_; }
  // Departments known to be inside (the directory holds them for this source).
  void MarkInside(const std::vector<int64_t>& depts);

  // Walks up from `dept` until a root (inside), a department already decided, or the top of the
  // organisation / a department DingTalk no longer knows / a broken chain (outside). Errors are
  // DingTalk's, other than not-found.
  absl::StatusOr<bool> Contains(int64_t dept);

  // A department just fetched with its parent: inside when it is a root or its parent is inside
  // (what the directory holds about the department itself may be out of date: it may have moved).
  absl::StatusOr<bool> ContainsMoved(int64_t dept, int64_t parent);

 private:
  dingtalk::Client& client_;
  const dingtalk::CallOptions& opts_;
  const bool everything_;
  const absl::flat_hash_set<int64_t> roots_;
  absl::flat_hash_map<int64_t, bool> memo_;
};

}  // namespace sase::sync_worker

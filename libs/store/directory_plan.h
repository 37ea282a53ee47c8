#pragma once
// The pure half of DirectoryWriter: given what the directory holds and what a batch brings, what
// to write. No SQL here (directory_writer.cc reads the current rows, calls these, and writes the
// result), so the tree and change logic is unit-tested without a database.
//
//   ancestor paths  every department's ancestors, root first, from the parent links
//   user closure    a user's direct departments plus all their ancestors
//   user plan       which users of a batch changed (content hash or closure) and what to store

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "sase/dingtalk/v1/directory.pb.h"

namespace sase::store::dir_plan {

// Department id -> its ancestors, root first (a top-level department has none).
using AncestorMap = absl::flat_hash_map<int64_t, std::vector<int64_t>>;

// Every department's path from `parent_of` (department id -> parent id). A department whose
// parent is 0 or not in the map is top-level. INVALID_ARGUMENT naming parent_id on a cycle.
absl::StatusOr<AncestorMap> AncestorPaths(const absl::flat_hash_map<int64_t, int64_t>& parent_of);

// Direct departments plus every known ancestor, sorted and unique; empty for a departed user.
std::vector<int64_t> UserClosure(const std::vector<int64_t>& direct, bool departed, const AncestorMap& ancestors);

// The synced content of a user with derived and server-side fields cleared, and its SHA-256
// (hex) over deterministic bytes: equal hashes mean nothing DingTalk sent has changed.
::sase::dingtalk::v1::User NormalizedContent(const ::sase::dingtalk::v1::User& in);
std::string ContentHash(const ::sase::dingtalk::v1::User& normalized);

// What the directory holds of one user, keyed by dingtalk_userid.
struct StoredUser {
  std::string user_id;
  std::string hash;
  std::vector<int64_t> closure;
  int status = 0;
  std::string manager_userid;
};

struct UserPlan {
  int unchanged = 0;
  // Changed users, in batch order; normalized[i], hashes[i], closures[i] belong to changed[i].
  std::vector<const ::sase::dingtalk::v1::User*> changed;
  std::vector<::sase::dingtalk::v1::User> normalized;
  std::vector<std::string> hashes;
  std::vector<std::vector<int64_t>> closures;
};

// A user is unchanged when its content hash and its closure equal what is stored.
// `keep_stored_manager`: the batch does not know manager_userid (v2/user/list does not carry it),
// so a stored user's content takes the stored manager_userid before hashing: it is kept and never
// counts as a change. A user not stored yet keeps the batch's value.
UserPlan PlanUsers(const std::vector<const ::sase::dingtalk::v1::User*>& users,
                   const absl::flat_hash_map<std::string, StoredUser>& stored, const AncestorMap& ancestors,
                   bool keep_stored_manager = false);

}  // namespace sase::store::dir_plan

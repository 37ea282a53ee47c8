#pragma once
// In-memory DingTalk organisation for the simulator: a department tree rooted at dept_id 1 and the
// users in it, kept in compact records. Most user attributes (unionid, mobile, job number, email,
// hired date, extension, ...) are derived on demand from (seed, serial) and only stored when an
// admin call overrides them, so 100k users fit in a few tens of MB.
//
// Not thread-safe: SimServer guards an Org with a reader/writer lock.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sase::dingtalk_sim {

struct GeneratorOptions {
  uint64_t seed = 1;
  int64_t users = 200;
  int64_t departments = 20;
  // Number of levels including the root (root = level 1). The generated tree reaches exactly this
  // depth when departments >= max_depth.
  int64_t max_depth = 4;
};

inline constexpr int64_t kRootDeptId = 1;
inline constexpr uint32_t kNoUser = UINT32_MAX;

struct DeptRecord {
  int64_t id = 0;
  int64_t parent_id = 0;  // 0 for the root
  std::string name;
  int64_t order = 0;
  std::vector<int64_t> children;  // creation order
  std::vector<uint32_t> members;  // user slots of direct members, entry order
  std::unique_ptr<nlohmann::json> overrides;  // admin-set extra fields (merge patch)
};

struct UserRecord {
  enum Flag : uint16_t {
    kActive = 1 << 0,
    kAdmin = 1 << 1,
    kBoss = 1 << 2,
    kHasEmail = 1 << 3,
    kHasExtension = 1 << 4,
    kHideMobile = 1 << 5,
    kDeleted = 1 << 6,
    kHasHiredDate = 1 << 7,
    kHasJobNumber = 1 << 8,
  };
  std::string userid;
  std::string name;
  std::vector<int64_t> depts;  // dept_id_list; leader_mask bit i refers to depts[i]
  uint32_t serial = 0;         // drives the derived attributes
  uint32_t manager = kNoUser;  // slot of the direct manager
  uint32_t leader_mask = 0;
  uint16_t flags = 0;
  uint8_t title = 0;  // index into the title table; 0 = none
  std::unique_ptr<nlohmann::json> overrides;  // admin-set attributes (merge patch, null removes)

  bool has(Flag f) const { return (flags & f) != 0; }
  void set(Flag f, bool on) { flags = static_cast<uint16_t>(on ? (flags | f) : (flags & ~f)); }
};

// Which DingTalk response a user object is rendered for.
enum class UserView {
  kList,  // topapi/v2/user/list items: leader (bool), dept_order (int)
  kGet,   // topapi/v2/user/get result: leader_in_dept[], dept_order_list[], manager_userid, role_list
};

// Event types an Org mutation implies, in DingTalk's EventType spelling.
struct MutationEvent {
  std::string type;  // user_add_org, user_modify_org, user_leave_org, user_active_org,
                     // org_admin_add, org_admin_remove, org_dept_create, org_dept_modify,
                     // org_dept_remove
  std::vector<std::string> user_ids;
  std::vector<int64_t> dept_ids;
};

class Org {
 public:
  // Deterministic for a given (options, corp_id).
  static std::unique_ptr<Org> Generate(const GeneratorOptions& options, std::string corp_id);

  const std::string& corp_id() const { return corp_id_; }
  size_t user_count() const { return by_userid_.size(); }
  size_t dept_count() const { return depts_.size(); }

  const DeptRecord* FindDept(int64_t id) const;
  std::optional<uint32_t> SlotOfUserid(std::string_view userid) const;
  std::optional<uint32_t> SlotOfUnionid(std::string_view unionid) const;
  const UserRecord& user(uint32_t slot) const { return users_[slot]; }

  std::string UnionIdOf(uint32_t slot) const;
  // Depth of a department, root = 1.
  int DepthOf(int64_t dept_id) const;
  // Distinct users in the subtree (member_count of department/get).
  int64_t SubtreeMemberCount(int64_t dept_id) const;
  int64_t CountUsers(bool only_active) const;
  // Departments in creation order.
  const std::vector<int64_t>& dept_ids() const { return dept_order_; }
  // Live user slots in creation order.
  std::vector<uint32_t> LiveSlots() const;

  // listing_dept: the department being listed (kList view only).
  nlohmann::json UserJson(uint32_t slot, UserView view, int64_t listing_dept = 0) const;
  // department/get result.
  nlohmann::json DeptJson(int64_t dept_id) const;
  // listsub item: dept_id, name, parent_id, create_dept_group, auto_add_user.
  nlohmann::json DeptBriefJson(int64_t dept_id) const;
  // Everything: {"corp_id", "departments":[department/get objects], "users":[v2/user/get objects]}.
  nlohmann::json Dump() const;

  // Admin mutations. Specs are JSON objects (see README of the admin API in sim_server.h).
  absl::StatusOr<std::vector<MutationEvent>> AddUser(const nlohmann::json& spec, std::string* userid_out);
  absl::StatusOr<std::vector<MutationEvent>> ModifyUser(const nlohmann::json& spec);
  absl::StatusOr<std::vector<MutationEvent>> RemoveUser(std::string_view userid);
  absl::StatusOr<std::vector<MutationEvent>> AddDept(const nlohmann::json& spec, int64_t* dept_id_out);
  absl::StatusOr<std::vector<MutationEvent>> ModifyDept(const nlohmann::json& spec);
  absl::StatusOr<std::vector<MutationEvent>> RemoveDept(int64_t dept_id);

 private:
  Org(uint64_t seed, std::string corp_id) : seed_(seed), corp_id_(std::move(corp_id)) {}
  friend class OrgGenerator;

  DeptRecord* MutableDept(int64_t id);
  uint64_t Derive(uint32_t serial, uint64_t tag) const;
  void IndexUnionId(uint32_t slot);
  void UnindexUnionId(uint32_t slot);
  std::optional<uint32_t> LeaderOf(int64_t dept_id) const;
  // Replaces the user's departments, keeping leader flags of departments it stays in.
  absl::Status SetUserDepts(uint32_t slot, const std::vector<int64_t>& depts);
  absl::Status ApplyUserFields(uint32_t slot, const nlohmann::json& spec, bool* activated, int* admin_change);

  uint64_t seed_;
  std::string corp_id_;
  std::vector<UserRecord> users_;  // slots; removed users keep a kDeleted tombstone
  absl::flat_hash_map<int64_t, DeptRecord> depts_;
  std::vector<int64_t> dept_order_;
  absl::flat_hash_map<std::string, uint32_t> by_userid_;
  absl::flat_hash_map<uint64_t, uint32_t> by_unionid_hash_;  // hash of unionid -> slot (verified on lookup)
  int64_t next_dept_id_ = 0;
  uint32_t next_serial_ = 1;
  uint32_t next_userid_ = 1;
};

}  // namespace sase::dingtalk_sim

#include "dingtalk_sim/org.h"

#include <algorithm>
#include <array>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dingtalk_sim/derive.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

// Keys an admin may set on a user that are stored as render overrides (null removes the field).
constexpr std::array<std::string_view, 15> kUserOverrideKeys = {
    "mobile",   "title",     "job_number", "hired_date", "work_place", "telephone",         "remark",
    "org_email", "avatar",   "state_code", "hide_mobile", "senior",    "exclusive_account", "real_authed",
    "nickname"};

bool IsOverrideKey(std::string_view key) {
  return std::find(kUserOverrideKeys.begin(), kUserOverrideKeys.end(), key) != kUserOverrideKeys.end();
}

json& EnsureOverrides(std::unique_ptr<json>& o) {
  if (!o) o = std::make_unique<json>(json::object());
  return *o;
}

absl::StatusOr<std::vector<int64_t>> ParseDeptList(const json& v) {
  if (!v.is_array() || v.empty()) return absl::InvalidArgumentError("dept_id_list must be a non-empty array");
  std::vector<int64_t> out;
  for (const json& e : v) {
    if (!e.is_number_integer()) return absl::InvalidArgumentError("dept_id_list entries must be integers");
    int64_t id = e.get<int64_t>();
    if (std::find(out.begin(), out.end(), id) != out.end()) {
      return absl::InvalidArgumentError("dept_id_list has duplicates");
    }
    out.push_back(id);
  }
  if (out.size() > 32) return absl::InvalidArgumentError("too many departments");
  return out;
}

void EraseValue(std::vector<uint32_t>& v, uint32_t x) {
  auto it = std::find(v.begin(), v.end(), x);
  if (it != v.end()) v.erase(it);
}

}  // namespace

const DeptRecord* Org::FindDept(int64_t id) const {
  auto it = depts_.find(id);
  return it == depts_.end() ? nullptr : &it->second;
}

DeptRecord* Org::MutableDept(int64_t id) {
  auto it = depts_.find(id);
  return it == depts_.end() ? nullptr : &it->second;
}

std::optional<uint32_t> Org::SlotOfUserid(std::string_view userid) const {
  auto it = by_userid_.find(absl::string_view(userid.data(), userid.size()));
  if (it == by_userid_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> Org::SlotOfUnionid(std::string_view unionid) const {
  auto it = by_unionid_hash_.find(absl::Hash<absl::string_view>{}(absl::string_view(unionid.data(), unionid.size())));
  if (it == by_unionid_hash_.end()) return std::nullopt;
  if (users_[it->second].has(UserRecord::kDeleted) || UnionIdOf(it->second) != unionid) return std::nullopt;
  return it->second;
}

uint64_t Org::Derive(uint32_t serial, uint64_t tag) const { return DeriveBits(seed_, serial, tag); }

std::string Org::UnionIdOf(uint32_t slot) const {
  const UserRecord& u = users_[slot];
  if (u.overrides) {
    auto it = u.overrides->find("unionid");
    if (it != u.overrides->end() && it->is_string()) return it->get<std::string>();
  }
  return DerivedUnionId(seed_, u.serial);
}

void Org::IndexUnionId(uint32_t slot) { by_unionid_hash_[absl::Hash<absl::string_view>{}(UnionIdOf(slot))] = slot; }

void Org::UnindexUnionId(uint32_t slot) {
  auto it = by_unionid_hash_.find(absl::Hash<absl::string_view>{}(UnionIdOf(slot)));
  if (it != by_unionid_hash_.end() && it->second == slot) by_unionid_hash_.erase(it);
}

int Org::DepthOf(int64_t dept_id) const {
  int depth = 0;
  for (const DeptRecord* d = FindDept(dept_id); d != nullptr; d = d->parent_id ? FindDept(d->parent_id) : nullptr) {
    ++depth;
  }
  return depth;
}

int64_t Org::SubtreeMemberCount(int64_t dept_id) const {
  std::vector<uint32_t> slots;
  std::vector<int64_t> stack = {dept_id};
  while (!stack.empty()) {
    const DeptRecord* d = FindDept(stack.back());
    stack.pop_back();
    if (d == nullptr) continue;
    slots.insert(slots.end(), d->members.begin(), d->members.end());
    stack.insert(stack.end(), d->children.begin(), d->children.end());
  }
  std::sort(slots.begin(), slots.end());
  return std::unique(slots.begin(), slots.end()) - slots.begin();
}

int64_t Org::CountUsers(bool only_active) const {
  int64_t n = 0;
  for (const UserRecord& u : users_) {
    if (u.has(UserRecord::kDeleted)) continue;
    if (only_active && !u.has(UserRecord::kActive)) continue;
    ++n;
  }
  return n;
}

std::vector<uint32_t> Org::LiveSlots() const {
  std::vector<uint32_t> out;
  out.reserve(by_userid_.size());
  for (uint32_t i = 0; i < users_.size(); ++i) {
    if (!users_[i].has(UserRecord::kDeleted)) out.push_back(i);
  }
  return out;
}

std::optional<uint32_t> Org::LeaderOf(int64_t dept_id) const {
  const DeptRecord* d = FindDept(dept_id);
  if (d == nullptr) return std::nullopt;
  for (uint32_t slot : d->members) {
    const UserRecord& u = users_[slot];
    for (size_t i = 0; i < u.depts.size(); ++i) {
      if (u.depts[i] == dept_id && (u.leader_mask >> i) & 1u) return slot;
    }
  }
  return std::nullopt;
}

json Org::UserJson(uint32_t slot, UserView view, int64_t listing_dept) const {
  const UserRecord& u = users_[slot];
  const uint32_t s = u.serial;
  json j = json::object();
  j["userid"] = u.userid;
  j["unionid"] = UnionIdOf(slot);
  j["name"] = u.name;
  j["state_code"] = "86";
  j["mobile"] = DerivedMobile(seed_, s);
  j["hide_mobile"] = u.has(UserRecord::kHideMobile);
  if (u.has(UserRecord::kHasJobNumber)) j["job_number"] = DerivedJobNumber(seed_, s);
  if (u.title != 0) j["title"] = std::string(TitleName(u.title));
  if (u.has(UserRecord::kHasEmail)) j["email"] = DerivedEmail(u.userid);
  std::string_view place = DerivedWorkPlace(seed_, s);
  if (!place.empty()) j["work_place"] = std::string(place);
  j["dept_id_list"] = u.depts;
  if (u.has(UserRecord::kHasExtension)) j["extension"] = DerivedExtension(seed_, s);
  if (u.has(UserRecord::kHasHiredDate)) j["hired_date"] = DerivedHiredDate(seed_, s);
  j["active"] = u.has(UserRecord::kActive);
  j["admin"] = u.has(UserRecord::kAdmin);
  j["boss"] = u.has(UserRecord::kBoss);
  j["exclusive_account"] = false;
  const int64_t order = static_cast<int64_t>(Derive(s, 77) % 1000000);
  if (view == UserView::kList) {
    bool leader = false;
    for (size_t i = 0; i < u.depts.size(); ++i) {
      if (u.depts[i] == listing_dept) leader = ((u.leader_mask >> i) & 1u) != 0;
    }
    j["leader"] = leader;
    j["dept_order"] = order;
  } else {
    json orders = json::array();
    json leaders = json::array();
    for (size_t i = 0; i < u.depts.size(); ++i) {
      orders.push_back({{"dept_id", u.depts[i]}, {"order", order}});
      leaders.push_back({{"dept_id", u.depts[i]}, {"leader", ((u.leader_mask >> i) & 1u) != 0}});
    }
    j["dept_order_list"] = std::move(orders);
    j["leader_in_dept"] = std::move(leaders);
    if (u.manager != kNoUser && !users_[u.manager].has(UserRecord::kDeleted)) {
      j["manager_userid"] = users_[u.manager].userid;
    }
    j["role_list"] = json::array();
    j["real_authed"] = u.has(UserRecord::kActive);
    j["senior"] = false;
  }
  if (u.overrides) {
    json patch = *u.overrides;
    patch.erase("unionid");  // already applied
    j.merge_patch(patch);
  }
  return j;
}

json Org::DeptBriefJson(int64_t dept_id) const {
  const DeptRecord* d = FindDept(dept_id);
  if (d == nullptr) return json();
  json j = {{"dept_id", d->id}, {"name", d->name}, {"create_dept_group", true}, {"auto_add_user", true}};
  if (d->parent_id != 0) j["parent_id"] = d->parent_id;
  return j;
}

json Org::DeptJson(int64_t dept_id) const {
  const DeptRecord* d = FindDept(dept_id);
  if (d == nullptr) return json();
  json j = DeptBriefJson(dept_id);
  j["order"] = d->order;
  j["hide_dept"] = false;
  j["outer_dept"] = false;
  j["group_contain_sub_dept"] = false;
  j["dept_group_chat_id"] = absl::StrFormat("chat%016x", DeriveBits(seed_, static_cast<uint32_t>(d->id), 91));
  json managers = json::array();
  for (uint32_t slot : d->members) {
    const UserRecord& u = users_[slot];
    for (size_t i = 0; i < u.depts.size(); ++i) {
      if (u.depts[i] == dept_id && ((u.leader_mask >> i) & 1u)) managers.push_back(u.userid);
    }
  }
  if (!managers.empty()) j["org_dept_owner"] = managers[0];
  j["dept_manager_userid_list"] = std::move(managers);
  j["member_count"] = SubtreeMemberCount(dept_id);
  j["owning_member_count"] = static_cast<int64_t>(d->members.size());
  if (d->overrides) j.merge_patch(*d->overrides);
  return j;
}

json Org::Dump() const {
  json depts = json::array();
  for (int64_t id : dept_order_) depts.push_back(DeptJson(id));
  json users = json::array();
  for (uint32_t slot : LiveSlots()) users.push_back(UserJson(slot, UserView::kGet));
  return {{"corp_id", corp_id_}, {"departments", std::move(depts)}, {"users", std::move(users)}};
}

absl::Status Org::SetUserDepts(uint32_t slot, const std::vector<int64_t>& depts) {
  for (int64_t id : depts) {
    if (FindDept(id) == nullptr) return absl::NotFoundError(absl::StrCat("department ", id, " not found"));
  }
  UserRecord& u = users_[slot];
  uint32_t mask = 0;
  for (size_t i = 0; i < depts.size(); ++i) {
    auto it = std::find(u.depts.begin(), u.depts.end(), depts[i]);
    if (it != u.depts.end()) {
      size_t old = static_cast<size_t>(it - u.depts.begin());
      if ((u.leader_mask >> old) & 1u) mask |= 1u << i;
    } else {
      MutableDept(depts[i])->members.push_back(slot);
    }
  }
  for (int64_t old : u.depts) {
    if (std::find(depts.begin(), depts.end(), old) == depts.end()) {
      if (DeptRecord* d = MutableDept(old)) EraseValue(d->members, slot);
    }
  }
  u.depts = depts;
  u.leader_mask = mask;
  return absl::OkStatus();
}

absl::Status Org::ApplyUserFields(uint32_t slot, const json& spec, bool* activated, int* admin_change) {
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    UserRecord& u = users_[slot];
    if (key == "userid" || key == "dept_id_list") continue;  // handled by the caller
    if (key == "name") {
      if (!v.is_string() || v.get<std::string>().empty()) return absl::InvalidArgumentError("name must be a string");
      u.name = v.get<std::string>();
    } else if (key == "active" || key == "admin" || key == "boss") {
      if (!v.is_boolean()) return absl::InvalidArgumentError(absl::StrCat(key, " must be a boolean"));
      const bool on = v.get<bool>();
      UserRecord::Flag f = key == "active" ? UserRecord::kActive : key == "admin" ? UserRecord::kAdmin : UserRecord::kBoss;
      if (f == UserRecord::kActive && on && !u.has(f)) *activated = true;
      if (f == UserRecord::kAdmin && on != u.has(f)) *admin_change = on ? 1 : -1;
      u.set(f, on);
    } else if (key == "unionid") {
      if (!v.is_string() || v.get<std::string>().empty()) return absl::InvalidArgumentError("unionid must be a string");
      std::optional<uint32_t> other = SlotOfUnionid(v.get<std::string>());
      if (other && *other != slot) return absl::AlreadyExistsError("unionid already used");
      UnindexUnionId(slot);
      EnsureOverrides(u.overrides)["unionid"] = v;
      IndexUnionId(slot);
    } else if (key == "leader_in_dept") {
      if (!v.is_array()) return absl::InvalidArgumentError("leader_in_dept must be an array");
      for (const json& e : v) {
        if (!e.is_object() || !e.contains("dept_id") || !e["dept_id"].is_number_integer() ||
            !e.contains("leader") || !e["leader"].is_boolean()) {
          return absl::InvalidArgumentError("leader_in_dept entries are {dept_id, leader}");
        }
        auto pos = std::find(u.depts.begin(), u.depts.end(), e["dept_id"].get<int64_t>());
        if (pos == u.depts.end()) return absl::InvalidArgumentError("leader_in_dept names a department the user is not in");
        const uint32_t bit = 1u << (pos - u.depts.begin());
        u.leader_mask = e["leader"].get<bool>() ? (u.leader_mask | bit) : (u.leader_mask & ~bit);
      }
    } else if (key == "manager_userid") {
      if (v.is_null() || (v.is_string() && v.get<std::string>().empty())) {
        u.manager = kNoUser;
      } else if (!v.is_string()) {
        return absl::InvalidArgumentError("manager_userid must be a string");
      } else {
        std::optional<uint32_t> m = SlotOfUserid(v.get<std::string>());
        if (!m) return absl::NotFoundError("manager_userid not found");
        users_[slot].manager = *m;
      }
    } else if (key == "email") {
      if (v.is_null()) {
        u.set(UserRecord::kHasEmail, false);
        if (u.overrides) u.overrides->erase("email");
      } else if (v.is_string()) {
        u.set(UserRecord::kHasEmail, true);
        EnsureOverrides(u.overrides)["email"] = v;
      } else {
        return absl::InvalidArgumentError("email must be a string or null");
      }
    } else if (key == "extension") {
      if (v.is_null()) {
        u.set(UserRecord::kHasExtension, false);
        if (u.overrides) u.overrides->erase("extension");
      } else if (v.is_string() || v.is_object()) {
        u.set(UserRecord::kHasExtension, true);
        EnsureOverrides(u.overrides)["extension"] = v.is_string() ? v.get<std::string>() : v.dump();
      } else {
        return absl::InvalidArgumentError("extension must be JSON text, an object or null");
      }
    } else if (IsOverrideKey(key)) {
      EnsureOverrides(u.overrides)[key] = v;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown user field ", key));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MutationEvent>> Org::AddUser(const json& spec, std::string* userid_out) {
  if (!spec.is_object()) return absl::InvalidArgumentError("body must be a JSON object");
  std::string userid;
  if (spec.contains("userid")) {
    if (!spec["userid"].is_string() || spec["userid"].get<std::string>().empty()) {
      return absl::InvalidArgumentError("userid must be a non-empty string");
    }
    userid = spec["userid"].get<std::string>();
    if (by_userid_.contains(userid)) return absl::AlreadyExistsError(absl::StrCat("userid ", userid, " exists"));
  } else {
    do {
      userid = absl::StrCat("simadd", next_userid_++);
    } while (by_userid_.contains(userid));
  }
  if (!spec.contains("name") || !spec["name"].is_string()) return absl::InvalidArgumentError("name is required");
  if (!spec.contains("dept_id_list")) return absl::InvalidArgumentError("dept_id_list is required");
  absl::StatusOr<std::vector<int64_t>> depts = ParseDeptList(spec["dept_id_list"]);
  if (!depts.ok()) return depts.status();
  for (int64_t id : *depts) {
    if (FindDept(id) == nullptr) return absl::NotFoundError(absl::StrCat("department ", id, " not found"));
  }
  if (spec.contains("unionid") && spec["unionid"].is_string() && SlotOfUnionid(spec["unionid"].get<std::string>())) {
    return absl::AlreadyExistsError("unionid already used");
  }
  const uint32_t slot = static_cast<uint32_t>(users_.size());
  UserRecord& u = users_.emplace_back();
  u.userid = userid;
  u.serial = next_serial_++;
  u.flags = UserRecord::kActive | UserRecord::kHasEmail | UserRecord::kHasJobNumber | UserRecord::kHasHiredDate;
  by_userid_[userid] = slot;
  IndexUnionId(slot);
  absl::Status s = SetUserDepts(slot, *depts);
  bool activated = false;
  int admin_change = 0;
  if (s.ok()) s = ApplyUserFields(slot, spec, &activated, &admin_change);
  if (!s.ok()) {  // roll back
    for (int64_t id : users_[slot].depts) EraseValue(MutableDept(id)->members, slot);
    UnindexUnionId(slot);
    by_userid_.erase(userid);
    users_.pop_back();
    --next_serial_;
    return s;
  }
  if (userid_out) *userid_out = userid;
  std::vector<MutationEvent> events = {{"user_add_org", {userid}, {}}};
  if (admin_change > 0) events.push_back({"org_admin_add", {userid}, {}});
  return events;
}

absl::StatusOr<std::vector<MutationEvent>> Org::ModifyUser(const json& spec) {
  if (!spec.is_object() || !spec.contains("userid") || !spec["userid"].is_string()) {
    return absl::InvalidArgumentError("userid is required");
  }
  const std::string userid = spec["userid"].get<std::string>();
  std::optional<uint32_t> slot = SlotOfUserid(userid);
  if (!slot) return absl::NotFoundError(absl::StrCat("user ", userid, " not found"));
  bool other_change = false;
  if (spec.contains("dept_id_list")) {
    absl::StatusOr<std::vector<int64_t>> depts = ParseDeptList(spec["dept_id_list"]);
    if (!depts.ok()) return depts.status();
    if (absl::Status s = SetUserDepts(*slot, *depts); !s.ok()) return s;
    other_change = true;
  }
  bool activated = false;
  int admin_change = 0;
  if (absl::Status s = ApplyUserFields(*slot, spec, &activated, &admin_change); !s.ok()) return s;
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (it.key() != "userid" && it.key() != "active" && it.key() != "admin") other_change = true;
  }
  std::vector<MutationEvent> events;
  if (other_change || (!activated && admin_change == 0)) events.push_back({"user_modify_org", {userid}, {}});
  if (activated) events.push_back({"user_active_org", {userid}, {}});
  if (admin_change > 0) events.push_back({"org_admin_add", {userid}, {}});
  if (admin_change < 0) events.push_back({"org_admin_remove", {userid}, {}});
  return events;
}

absl::StatusOr<std::vector<MutationEvent>> Org::RemoveUser(std::string_view userid) {
  std::optional<uint32_t> slot = SlotOfUserid(userid);
  if (!slot) return absl::NotFoundError(absl::StrCat("user ", std::string(userid), " not found"));
  UserRecord& u = users_[*slot];
  for (int64_t id : u.depts) {
    if (DeptRecord* d = MutableDept(id)) EraseValue(d->members, *slot);
  }
  UnindexUnionId(*slot);
  by_userid_.erase(u.userid);
  u.set(UserRecord::kDeleted, true);
  return std::vector<MutationEvent>{{"user_leave_org", {std::string(userid)}, {}}};
}

absl::StatusOr<std::vector<MutationEvent>> Org::AddDept(const json& spec, int64_t* dept_id_out) {
  if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string() ||
      spec["name"].get<std::string>().empty()) {
    return absl::InvalidArgumentError("name is required");
  }
  int64_t parent = kRootDeptId;
  if (spec.contains("parent_id")) {
    if (!spec["parent_id"].is_number_integer()) return absl::InvalidArgumentError("parent_id must be an integer");
    parent = spec["parent_id"].get<int64_t>();
  }
  DeptRecord* p = MutableDept(parent);
  if (p == nullptr) return absl::NotFoundError(absl::StrCat("parent department ", parent, " not found"));
  int64_t id = 0;
  if (spec.contains("dept_id")) {
    if (!spec["dept_id"].is_number_integer() || spec["dept_id"].get<int64_t>() <= kRootDeptId) {
      return absl::InvalidArgumentError("dept_id must be an integer > 1");
    }
    id = spec["dept_id"].get<int64_t>();
    if (depts_.contains(id)) return absl::AlreadyExistsError(absl::StrCat("department ", id, " exists"));
  } else {
    do {
      id = next_dept_id_++;
    } while (depts_.contains(id));
  }
  int64_t order = static_cast<int64_t>(p->children.size());
  if (spec.contains("order") && spec["order"].is_number_integer()) order = spec["order"].get<int64_t>();
  p->children.push_back(id);
  DeptRecord& d = depts_[id];
  d.id = id;
  d.parent_id = parent;
  d.name = spec["name"].get<std::string>();
  d.order = order;
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (it.key() == "name" || it.key() == "parent_id" || it.key() == "dept_id" || it.key() == "order") continue;
    EnsureOverrides(d.overrides)[it.key()] = it.value();
  }
  dept_order_.push_back(id);
  if (dept_id_out) *dept_id_out = id;
  return std::vector<MutationEvent>{{"org_dept_create", {}, {id}}};
}

absl::StatusOr<std::vector<MutationEvent>> Org::ModifyDept(const json& spec) {
  if (!spec.is_object() || !spec.contains("dept_id") || !spec["dept_id"].is_number_integer()) {
    return absl::InvalidArgumentError("dept_id is required");
  }
  const int64_t id = spec["dept_id"].get<int64_t>();
  DeptRecord* d = MutableDept(id);
  if (d == nullptr) return absl::NotFoundError(absl::StrCat("department ", id, " not found"));
  if (spec.contains("name") && (!spec["name"].is_string() || spec["name"].get<std::string>().empty())) {
    return absl::InvalidArgumentError("name must be a non-empty string");
  }
  if (spec.contains("parent_id")) {
    if (!spec["parent_id"].is_number_integer()) return absl::InvalidArgumentError("parent_id must be an integer");
    const int64_t parent = spec["parent_id"].get<int64_t>();
    if (id == kRootDeptId) return absl::InvalidArgumentError("the root department cannot move");
    if (FindDept(parent) == nullptr) return absl::NotFoundError(absl::StrCat("department ", parent, " not found"));
    for (int64_t a = parent; a != 0; a = FindDept(a)->parent_id) {
      if (a == id) return absl::InvalidArgumentError("cannot move a department under itself");
    }
    if (parent != d->parent_id) {
      std::vector<int64_t>& old_siblings = MutableDept(d->parent_id)->children;
      old_siblings.erase(std::find(old_siblings.begin(), old_siblings.end(), id));
      MutableDept(parent)->children.push_back(id);
      d->parent_id = parent;
    }
  }
  if (spec.contains("name")) d->name = spec["name"].get<std::string>();
  if (spec.contains("order") && spec["order"].is_number_integer()) d->order = spec["order"].get<int64_t>();
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (it.key() == "name" || it.key() == "parent_id" || it.key() == "dept_id" || it.key() == "order") continue;
    EnsureOverrides(d->overrides)[it.key()] = it.value();
  }
  return std::vector<MutationEvent>{{"org_dept_modify", {}, {id}}};
}

absl::StatusOr<std::vector<MutationEvent>> Org::RemoveDept(int64_t dept_id) {
  if (dept_id == kRootDeptId) return absl::InvalidArgumentError("the root department cannot be removed");
  DeptRecord* d = MutableDept(dept_id);
  if (d == nullptr) return absl::NotFoundError(absl::StrCat("department ", dept_id, " not found"));
  if (!d->children.empty()) return absl::FailedPreconditionError("department has sub-departments");
  if (!d->members.empty()) return absl::FailedPreconditionError("department has members");
  std::vector<int64_t>& siblings = MutableDept(d->parent_id)->children;
  siblings.erase(std::find(siblings.begin(), siblings.end(), dept_id));
  depts_.erase(dept_id);
  dept_order_.erase(std::find(dept_order_.begin(), dept_order_.end(), dept_id));
  return std::vector<MutationEvent>{{"org_dept_remove", {}, {dept_id}}};
}

}  // namespace sase::dingtalk_sim

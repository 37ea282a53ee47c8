// Deterministic organisation generator (Org::Generate).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dingtalk_sim/derive.h"
#include "dingtalk_sim/org.h"

namespace sase::dingtalk_sim {
namespace {

// Small deterministic generator; std distributions are implementation-defined, this is not.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return SplitMix64(state_);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_;
};

constexpr int64_t kDeptIdBase = 400000000;

}  // namespace

class OrgGenerator {
 public:
  static std::unique_ptr<Org> Run(const GeneratorOptions& opt, std::string corp_id) {
    std::unique_ptr<Org> org(new Org(opt.seed, std::move(corp_id)));
    Rng rng(SplitMix64(opt.seed ^ 0x5151));
    const int64_t ndepts = std::max<int64_t>(1, opt.departments);
    const int64_t max_depth = std::max<int64_t>(1, opt.max_depth);

    // Departments: a chain reaching max_depth first, then random parents among shallower ones.
    std::vector<int64_t> ids;
    std::vector<int64_t> depth;
    std::vector<size_t> eligible;  // indexes of departments that may still get children
    ids.reserve(static_cast<size_t>(ndepts));
    org->depts_.reserve(static_cast<size_t>(ndepts));
    for (int64_t i = 0; i < ndepts; ++i) {
      int64_t id = kRootDeptId;
      int64_t parent = 0;
      int64_t d = 1;
      if (i > 0) {
        id = kDeptIdBase + i * 16 + static_cast<int64_t>(rng.Below(16));
        const size_t parent_idx = i < max_depth ? static_cast<size_t>(i - 1) : eligible[rng.Below(eligible.size())];
        parent = ids[parent_idx];
        d = depth[parent_idx] + 1;
      }
      DeptRecord& rec = org->depts_[id];
      rec.id = id;
      rec.parent_id = parent;
      rec.name = i == 0 ? "模拟科技有限公司" : GeneratedDeptName(rng.Next(), i);
      if (parent != 0) {
        DeptRecord& p = org->depts_[parent];
        rec.order = static_cast<int64_t>(p.children.size());
        p.children.push_back(id);
      }
      ids.push_back(id);
      depth.push_back(d);
      if (d < max_depth) eligible.push_back(static_cast<size_t>(i));
      org->dept_order_.push_back(id);
    }
    org->next_dept_id_ = kDeptIdBase + ndepts * 16 + 16;

    // Users.
    const int64_t nusers = std::max<int64_t>(0, opt.users);
    org->users_.reserve(static_cast<size_t>(nusers));
    org->by_userid_.reserve(static_cast<size_t>(nusers));
    org->by_unionid_hash_.reserve(static_cast<size_t>(nusers));
    for (int64_t i = 0; i < nusers; ++i) {
      const uint32_t serial = static_cast<uint32_t>(i + 1);
      const uint32_t slot = static_cast<uint32_t>(i);
      UserRecord& u = org->users_.emplace_back();
      u.serial = serial;
      if (serial % 10 == 0) {
        u.userid = absl::StrCat("manager", serial);
      } else if (serial % 10 == 1) {
        u.userid = absl::StrCat("user", serial);
      } else {
        u.userid = absl::StrFormat("01%012d", static_cast<int64_t>((static_cast<uint64_t>(serial) * 7919) % 1000000000000ULL));
      }
      u.name = GeneratedUserName(rng.Next());
      const uint64_t r = rng.Below(100);
      const size_t k = std::min<size_t>(r < 75 ? 1 : r < 93 ? 2 : 3, ids.size());
      while (u.depts.size() < k) {
        const int64_t id = ids[rng.Below(ids.size())];
        if (std::find(u.depts.begin(), u.depts.end(), id) == u.depts.end()) u.depts.push_back(id);
      }
      u.set(UserRecord::kActive, rng.Below(100) >= 7 || serial == 1);
      u.set(UserRecord::kHasEmail, rng.Below(100) >= 15);
      u.set(UserRecord::kHasExtension, rng.Below(100) < 60);
      u.set(UserRecord::kHideMobile, rng.Below(100) < 5);
      u.set(UserRecord::kHasHiredDate, rng.Below(100) < 90);
      u.set(UserRecord::kHasJobNumber, rng.Below(100) < 95);
      u.set(UserRecord::kAdmin, serial == 1 || rng.Below(200) == 0);
      u.set(UserRecord::kBoss, serial == 1);
      u.title = static_cast<uint8_t>(rng.Below(TitleCount() + 1u));
      for (int64_t id : u.depts) org->depts_[id].members.push_back(slot);
      org->by_userid_.emplace(u.userid, slot);
      org->IndexUnionId(slot);
    }
    org->next_serial_ = static_cast<uint32_t>(nusers + 1);

    // Leaders: most departments with members get one; managers point at the first dept's leader.
    absl::flat_hash_map<int64_t, uint32_t> leader_of;
    for (int64_t id : ids) {
      const DeptRecord& d = org->depts_[id];
      if (d.members.empty() || rng.Below(100) >= 85) continue;
      const uint32_t slot = d.members[rng.Below(d.members.size())];
      UserRecord& u = org->users_[slot];
      const size_t pos = static_cast<size_t>(std::find(u.depts.begin(), u.depts.end(), id) - u.depts.begin());
      u.leader_mask |= 1u << pos;
      leader_of[id] = slot;
    }
    for (uint32_t slot = 0; slot < org->users_.size(); ++slot) {
      UserRecord& u = org->users_[slot];
      auto it = leader_of.find(u.depts.front());
      if (it != leader_of.end() && it->second != slot) u.manager = it->second;
    }
    return org;
  }
};

std::unique_ptr<Org> Org::Generate(const GeneratorOptions& options, std::string corp_id) {
  return OrgGenerator::Run(options, std::move(corp_id));
}

}  // namespace sase::dingtalk_sim

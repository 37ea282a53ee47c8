#include "store/testing/demo_org.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sase::store::testing {
namespace {

namespace v1 = ::sase::dingtalk::v1;

// std::mt19937_64's sequence is fixed by the standard; distributions are not, so we reduce by hand.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }

 private:
  std::mt19937_64 engine_;
};

const char* const kDeptNames[] = {"研发部", "Engineering", "产品部", "Sales", "市场部", "Support", "财务部", "HR",
                                  "法务部", "Operations", "设计部", "QA"};
const char* const kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"};
const char* const kGiven[] = {"伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛"};
const char* const kEnglish[] = {"Alice", "Bob", "Carol", "David", "Eve", "Frank", "Grace", "Heidi"};
const char* const kTitles[] = {"工程师", "Engineer", "经理", "Manager", "专员", "Analyst"};

}  // namespace

DemoOrg GenerateDemoOrg(const DemoOrgOptions& options) {
  DemoOrg org;
  Rng rng(options.seed);
  const int n_depts = std::max(1, options.departments);
  const int max_depth = std::max(1, options.max_depth);

  // Root, then a chain reaching max_depth, then the rest under random parents above max_depth.
  std::vector<int> depth;  // by index
  std::vector<int64_t> ids;
  v1::Department root;
  root.set_department_id(1);
  root.set_name("演示科技");
  root.set_parent_id(0);
  org.departments.push_back(root);
  depth.push_back(1);
  ids.push_back(1);
  std::vector<size_t> can_parent = {0};  // indexes with depth < max_depth
  for (int i = 1; i < n_depts; ++i) {
    size_t parent_index;
    if (i < max_depth) {
      parent_index = static_cast<size_t>(i - 1);  // the chain
    } else {
      parent_index = can_parent[rng.Below(can_parent.size())];
    }
    v1::Department d;
    int64_t id = 100 + i;
    d.set_department_id(id);
    const char* base = kDeptNames[static_cast<size_t>(i - 1) % std::size(kDeptNames)];
    d.set_name(i <= static_cast<int>(std::size(kDeptNames)) ? std::string(base) : absl::StrCat(base, "-", i));
    d.set_parent_id(ids[parent_index]);
    d.set_order(i);
    org.departments.push_back(d);
    depth.push_back(depth[parent_index] + 1);
    ids.push_back(id);
    if (depth.back() < max_depth) can_parent.push_back(static_cast<size_t>(i));
  }

  const int n_users = std::max(0, options.users);
  for (int i = 0; i < n_users; ++i) {
    v1::User u;
    std::string userid = n_users <= 9999 ? absl::StrFormat("u%04d", i) : absl::StrFormat("u%07d", i);
    u.set_dingtalk_userid(userid);
    u.set_unionid(absl::StrCat("union-", userid));
    bool english = i % 4 == 1;
    std::string name = english ? absl::StrCat(kEnglish[static_cast<size_t>(i) % std::size(kEnglish)], " ", i)
                               : absl::StrCat(kSurnames[static_cast<size_t>(i) % std::size(kSurnames)],
                                              kGiven[static_cast<size_t>(i / 10) % std::size(kGiven)],
                                              i >= 120 ? absl::StrCat(i) : "");
    u.set_name(name);
    u.set_email(absl::StrCat(english ? "User." : "user.", userid, "@demo.example.com"));
    u.set_org_email(absl::StrCat(userid, "@corp.demo.example.com"));
    u.set_mobile(absl::StrFormat("138%08d", i));
    u.set_job_number(absl::StrFormat("E%06d", i));
    u.set_title(kTitles[static_cast<size_t>(i) % std::size(kTitles)]);
    u.set_active(true);
    u.set_status(v1::USER_ACTIVE);
    // 1–3 distinct departments; with few departments the root also holds users.
    int count = 1 + static_cast<int>(rng.Below(3));
    std::vector<int64_t> mine;
    for (int k = 0; k < count && static_cast<int>(mine.size()) < n_depts; ++k) {
      int64_t d = ids[n_depts == 1 ? 0 : 1 + rng.Below(static_cast<uint64_t>(n_depts - 1))];
      if (std::find(mine.begin(), mine.end(), d) == mine.end()) mine.push_back(d);
    }
    for (int64_t d : mine) u.add_department_ids(d);
    (*u.mutable_attributes())["employee_type"] = i % 5 == 0 ? "contractor" : "full_time";
    org.users.push_back(std::move(u));
  }
  // One leader per department: the first user in it; the root is led by user 0.
  if (!org.users.empty()) {
    std::vector<bool> led(static_cast<size_t>(n_depts), false);
    org.users[0].add_leader_department_ids(1);
    led[0] = true;
    for (auto& u : org.users) {
      for (int64_t d : u.department_ids()) {
        size_t di = d == 1 ? 0 : static_cast<size_t>(d - 100);
        if (!led[di]) {
          led[di] = true;
          u.add_leader_department_ids(d);
        }
      }
    }
  }
  if (n_users >= 2) {
    org.departed.push_back(org.users[static_cast<size_t>(n_users - 1)].dingtalk_userid());
    auto& disabled = org.users[static_cast<size_t>(n_users - 2)];
    disabled.set_status(v1::USER_DISABLED);
    org.disabled.push_back(disabled.dingtalk_userid());
  }
  return org;
}

}  // namespace sase::store::testing

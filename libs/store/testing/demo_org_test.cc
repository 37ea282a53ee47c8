#include "store/testing/demo_org.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace sase::store::testing {
namespace {

namespace v1 = ::sase::dingtalk::v1;

int MaxDepth(const DemoOrg& org) {
  absl::flat_hash_map<int64_t, int> depth;
  int max = 0;
  for (const auto& d : org.departments) {  // parents come first
    int dd = d.parent_id() == 0 ? 1 : depth.at(d.parent_id()) + 1;
    depth[d.department_id()] = dd;
    max = std::max(max, dd);
  }
  return max;
}

TEST(DemoOrgTest, DefaultShape) {
  DemoOrg org = GenerateDemoOrg();
  EXPECT_EQ(org.departments.size(), 8u);
  EXPECT_EQ(org.users.size(), 30u);
  EXPECT_EQ(org.departments[0].department_id(), 1);
  EXPECT_EQ(MaxDepth(org), 4);
  bool chinese = false, ascii = false;
  for (const auto& d : org.departments) {
    if (static_cast<unsigned char>(d.name()[0]) >= 0x80) chinese = true; else ascii = true;
  }
  EXPECT_TRUE(chinese);
  EXPECT_TRUE(ascii);
  std::set<std::string> ids;
  int leaders = 0;
  for (const auto& u : org.users) {
    EXPECT_TRUE(ids.insert(u.dingtalk_userid()).second);
    EXPECT_GE(u.department_ids_size(), 1);
    EXPECT_LE(u.department_ids_size(), 3);
    leaders += u.leader_department_ids_size();
  }
  EXPECT_GE(leaders, 1);
  ASSERT_EQ(org.departed.size(), 1u);
  ASSERT_EQ(org.disabled.size(), 1u);
  EXPECT_NE(org.departed[0], org.disabled[0]);
}

TEST(DemoOrgTest, Deterministic) {
  DemoOrg a = GenerateDemoOrg();
  DemoOrg b = GenerateDemoOrg();
  ASSERT_EQ(a.users.size(), b.users.size());
  for (size_t i = 0; i < a.users.size(); ++i) {
    EXPECT_EQ(a.users[i].SerializeAsString(), b.users[i].SerializeAsString());
  }
  DemoOrg c = GenerateDemoOrg({.seed = 7});
  bool differs = false;
  for (size_t i = 0; i < a.users.size(); ++i) {
    differs |= a.users[i].SerializeAsString() != c.users[i].SerializeAsString();
  }
  EXPECT_TRUE(differs);
}

TEST(DemoOrgTest, BenchmarkShapeReachesDepth) {
  DemoOrg org = GenerateDemoOrg({.departments = 5000, .users = 20000, .max_depth = 9});
  EXPECT_EQ(org.departments.size(), 5000u);
  EXPECT_EQ(MaxDepth(org), 9);
  std::set<std::string> ids;
  for (const auto& u : org.users) ids.insert(u.dingtalk_userid());
  EXPECT_EQ(ids.size(), 20000u);
}

}  // namespace
}  // namespace sase::store::testing

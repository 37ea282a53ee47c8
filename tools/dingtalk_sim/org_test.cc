#include "dingtalk_sim/org.h"

#include <chrono>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

TEST(OrgGeneratorTest, SameSeedSameOrganisation) {
  GeneratorOptions opt{.seed = 7, .users = 300, .departments = 40, .max_depth = 5};
  auto a = Org::Generate(opt, "dingcorp");
  auto b = Org::Generate(opt, "dingcorp");
  EXPECT_EQ(a->Dump(), b->Dump());
  opt.seed = 8;
  auto c = Org::Generate(opt, "dingcorp");
  EXPECT_NE(a->Dump(), c->Dump());
}

TEST(OrgGeneratorTest, ShapeMatchesOptions) {
  GeneratorOptions opt{.seed = 3, .users = 2000, .departments = 120, .max_depth = 6};
  auto org = Org::Generate(opt, "dingcorp");
  EXPECT_EQ(org->user_count(), 2000u);
  EXPECT_EQ(org->dept_count(), 120u);
  ASSERT_NE(org->FindDept(kRootDeptId), nullptr);
  EXPECT_EQ(org->FindDept(kRootDeptId)->parent_id, 0);

  int max_depth = 0;
  for (int64_t id : org->dept_ids()) max_depth = std::max(max_depth, org->DepthOf(id));
  EXPECT_EQ(max_depth, 6);

  // Every user is in 1..3 existing departments and is a direct member of exactly those.
  std::set<std::string> unionids;
  int inactive = 0, no_email = 0, leaders = 0, non_ascii_other = 0, with_ext = 0;
  std::set<size_t> dept_counts;
  for (uint32_t slot : org->LiveSlots()) {
    const UserRecord& u = org->user(slot);
    ASSERT_GE(u.depts.size(), 1u);
    ASSERT_LE(u.depts.size(), 3u);
    dept_counts.insert(u.depts.size());
    for (int64_t d : u.depts) {
      const DeptRecord* rec = org->FindDept(d);
      ASSERT_NE(rec, nullptr);
      EXPECT_NE(std::find(rec->members.begin(), rec->members.end(), slot), rec->members.end());
    }
    json j = org->UserJson(slot, UserView::kGet);
    unionids.insert(j["unionid"].get<std::string>());
    if (!j["active"].get<bool>()) ++inactive;
    if (!j.contains("email")) ++no_email;
    if (u.leader_mask != 0) ++leaders;
    if (j.contains("extension")) {
      ++with_ext;
      json ext = json::parse(j["extension"].get<std::string>());  // valid JSON text
      EXPECT_TRUE(ext.contains("爱好"));
    }
    const std::string name = j["name"];
    bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii) ++non_ascii_other;
    EXPECT_EQ(j["mobile"].get<std::string>().size(), 11u);
    EXPECT_EQ(org->SlotOfUnionid(j["unionid"].get<std::string>()), slot);
  }
  EXPECT_EQ(unionids.size(), 2000u);
  EXPECT_EQ(dept_counts, (std::set<size_t>{1, 2, 3}));
  EXPECT_GT(inactive, 0);
  EXPECT_GT(no_email, 0);
  EXPECT_GT(leaders, 0);
  EXPECT_GT(with_ext, 0);
  EXPECT_GT(non_ascii_other, 1500);
  // Membership count per dept equals users listing it.
  size_t memberships = 0;
  for (int64_t id : org->dept_ids()) memberships += org->FindDept(id)->members.size();
  size_t listed = 0;
  for (uint32_t slot : org->LiveSlots()) listed += org->user(slot).depts.size();
  EXPECT_EQ(memberships, listed);
  EXPECT_EQ(org->SubtreeMemberCount(kRootDeptId), 2000);
}

TEST(OrgGeneratorTest, LargeOrganisationIsFast) {
  const auto start = std::chrono::steady_clock::now();
  auto org = Org::Generate({.seed = 1, .users = 100000, .departments = 5000, .max_depth = 8}, "dingcorp");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(org->user_count(), 100000u);
  EXPECT_EQ(org->dept_count(), 5000u);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 5000);
}

TEST(OrgMutationTest, AddModifyMoveRemove) {
  auto org = Org::Generate({.seed = 2, .users = 50, .departments = 10, .max_depth = 3}, "dingcorp");
  int64_t dept = 0;
  ASSERT_TRUE(org->AddDept({{"name", "新部门"}, {"parent_id", 1}}, &dept).ok());
  std::string userid;
  auto ev = org->AddUser({{"userid", "zhangsan"}, {"name", "张三"}, {"dept_id_list", {dept}}, {"email", nullptr}}, &userid);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(userid, "zhangsan");
  EXPECT_EQ((*ev)[0].type, "user_add_org");
  json j = org->UserJson(*org->SlotOfUserid("zhangsan"), UserView::kGet);
  EXPECT_FALSE(j.contains("email"));
  EXPECT_EQ(j["dept_id_list"], json({dept}));

  ASSERT_TRUE(org->ModifyUser({{"userid", "zhangsan"}, {"title", "架构师"}, {"email", "z@x.cn"}}).ok());
  j = org->UserJson(*org->SlotOfUserid("zhangsan"), UserView::kGet);
  EXPECT_EQ(j["title"], "架构师");
  EXPECT_EQ(j["email"], "z@x.cn");

  // Cannot remove a department with members; move the user out first.
  EXPECT_EQ(org->RemoveDept(dept).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(org->ModifyUser({{"userid", "zhangsan"}, {"dept_id_list", {1}}}).ok());
  EXPECT_TRUE(org->FindDept(dept)->members.empty());
  ASSERT_TRUE(org->RemoveDept(dept).ok());
  EXPECT_EQ(org->FindDept(dept), nullptr);

  // Moving a department under its own child is rejected.
  int64_t a = 0, b = 0;
  ASSERT_TRUE(org->AddDept({{"name", "A"}}, &a).ok());
  ASSERT_TRUE(org->AddDept({{"name", "B"}, {"parent_id", a}}, &b).ok());
  EXPECT_FALSE(org->ModifyDept({{"dept_id", a}, {"parent_id", b}}).ok());

  const std::string unionid = org->UnionIdOf(*org->SlotOfUserid("zhangsan"));
  ASSERT_TRUE(org->RemoveUser("zhangsan").ok());
  EXPECT_FALSE(org->SlotOfUserid("zhangsan"));
  EXPECT_FALSE(org->SlotOfUnionid(unionid));
  EXPECT_EQ(org->user_count(), 50u);
}

}  // namespace
}  // namespace sase::dingtalk_sim

#include "store/directory_plan.h"

#include <gtest/gtest.h>

namespace sase::store::dir_plan {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using Paths = std::vector<int64_t>;

TEST(AncestorPathsTest, RootFirstPathsForEveryDepartmentInAnyOrder) {
  // 1 -> 2 -> 3 -> 4, and 1 -> 5; 9's parent 8 is unknown (top-level, as a scope root would be).
  absl::StatusOr<AncestorMap> p = AncestorPaths({{4, 3}, {2, 1}, {5, 1}, {3, 2}, {1, 0}, {9, 8}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at(1), Paths{});
  EXPECT_EQ(p->at(2), (Paths{1}));
  EXPECT_EQ(p->at(3), (Paths{1, 2}));
  EXPECT_EQ(p->at(4), (Paths{1, 2, 3}));
  EXPECT_EQ(p->at(5), (Paths{1}));
  EXPECT_EQ(p->at(9), Paths{});
  EXPECT_EQ(p->size(), 6u);
}

TEST(AncestorPathsTest, DeepChainResolvesEveryLevel) {
  absl::flat_hash_map<int64_t, int64_t> parent_of;
  constexpr int64_t kDepth = 3000;  // far deeper than any real organisation
  for (int64_t d = 1; d <= kDepth; ++d) parent_of[d] = d - 1;
  absl::StatusOr<AncestorMap> p = AncestorPaths(parent_of);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->at(1).size(), 0u);
  ASSERT_EQ(p->at(300).size(), 299u);
  EXPECT_EQ(p->at(300).front(), 1);
  EXPECT_EQ(p->at(300).back(), 299);
}

TEST(AncestorPathsTest, CycleIsInvalidArgumentNamingParentId) {
  absl::StatusOr<AncestorMap> p = AncestorPaths({{1, 0}, {2, 3}, {3, 4}, {4, 2}});
  ASSERT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("parent_id"), std::string::npos) << p.status();
}

TEST(UserClosureTest, DirectPlusAncestorsSortedUniqueAndEmptyWhenDeparted) {
  const AncestorMap anc{{3, {1, 2}}, {5, {1}}};
  EXPECT_EQ(UserClosure({5, 3}, false, anc), (Paths{1, 2, 3, 5}));
  EXPECT_EQ(UserClosure({7}, false, anc), (Paths{7}));  // unknown department: itself only
  EXPECT_EQ(UserClosure({5, 3}, true, anc), Paths{});
}

v1::User User(const std::string& userid, std::vector<int64_t> depts) {
  v1::User u;
  u.set_dingtalk_userid(userid);
  u.set_name("N " + userid);
  for (int64_t d : depts) u.add_department_ids(d);
  return u;
}

TEST(PlanUsersTest, UnchangedOnlyWhenHashAndClosureMatch) {
  const AncestorMap anc{{3, {1, 2}}};
  v1::User same = User("same", {3}), renamed = User("renamed", {3}), moved = User("moved", {3}), fresh = User("new", {3});
  absl::flat_hash_map<std::string, StoredUser> stored;
  stored["same"] = {"id-1", ContentHash(NormalizedContent(same)), {1, 2, 3}, v1::USER_ACTIVE, ""};
  stored["renamed"] = {"id-2", ContentHash(NormalizedContent(User("renamed-old", {3}))), {1, 2, 3}, v1::USER_ACTIVE, ""};
  stored["moved"] = {"id-3", ContentHash(NormalizedContent(moved)), {1, 3}, v1::USER_ACTIVE, ""};  // 3 moved under 2
  UserPlan plan = PlanUsers({&same, &renamed, &moved, &fresh}, stored, anc);
  EXPECT_EQ(plan.unchanged, 1);
  ASSERT_EQ(plan.changed.size(), 3u);
  EXPECT_EQ(plan.changed[0], &renamed);
  EXPECT_EQ(plan.changed[1], &moved);
  EXPECT_EQ(plan.changed[2], &fresh);
  EXPECT_EQ(plan.closures[1], (Paths{1, 2, 3}));
  EXPECT_EQ(plan.normalized[2].status(), v1::USER_ACTIVE) << "unspecified status is stored as active";
}

// v2/user/list carries no manager_userid: a stored user's manager is taken into the content
// before hashing, so it is kept and does not count as a change; a new user keeps the batch's.
TEST(PlanUsersTest, KeepStoredManagerKeepsItAndDoesNotCountItAsAChange) {
  const AncestorMap anc;
  v1::User with_manager = User("u", {3});
  with_manager.set_manager_userid("boss");
  v1::User listed = User("u", {3});  // the list view of the same user
  v1::User fresh = User("new", {3});
  absl::flat_hash_map<std::string, StoredUser> stored;
  stored["u"] = {"id-1", ContentHash(NormalizedContent(with_manager)), {3}, v1::USER_ACTIVE, "boss"};

  UserPlan kept = PlanUsers({&listed, &fresh}, stored, anc, /*keep_stored_manager=*/true);
  EXPECT_EQ(kept.unchanged, 1);
  ASSERT_EQ(kept.changed.size(), 1u);
  EXPECT_EQ(kept.changed[0], &fresh);
  EXPECT_EQ(kept.normalized[0].manager_userid(), "");

  v1::User retitled = listed;
  retitled.set_title("CTO");
  UserPlan changed = PlanUsers({&retitled}, stored, anc, /*keep_stored_manager=*/true);
  ASSERT_EQ(changed.changed.size(), 1u);
  EXPECT_EQ(changed.normalized[0].manager_userid(), "boss") << "written with the stored manager";
  EXPECT_EQ(changed.normalized[0].title(), "CTO");

  // Without the option (an event: user/get knows the field) an empty manager is a change.
  UserPlan cleared = PlanUsers({&listed}, stored, anc);
  ASSERT_EQ(cleared.changed.size(), 1u);
  EXPECT_EQ(cleared.normalized[0].manager_userid(), "");
}

TEST(PlanUsersTest, ServerSideFieldsDoNotChangeTheHash) {
  v1::User a = User("u", {3});
  v1::User b = a;
  b.set_user_id("00000000-0000-4000-8000-000000000001");
  b.set_version(42);
  b.mutable_update_time()->set_seconds(99);
  EXPECT_EQ(ContentHash(NormalizedContent(a)), ContentHash(NormalizedContent(b)));
  b.set_title("CTO");
  EXPECT_NE(ContentHash(NormalizedContent(a)), ContentHash(NormalizedContent(b)));
}

}  // namespace
}  // namespace sase::store::dir_plan

#include "dingtalk/testing/fake_client.h"

#include <gtest/gtest.h>

#include <set>

namespace sase::dingtalk::testing {
namespace {

TEST(FakeClient, TreePagingAndLookups) {
  FakeClient dt;
  dt.AddDepartment(MakeDepartment(2, "研发部", 1));
  dt.AddDepartment(MakeDepartment(3, "后端", 2));
  for (int i = 0; i < 150; ++i) dt.AddUser(UserBuilder("u" + std::to_string(i)).InDept(2).InDept(3, i == 0).Build());

  absl::StatusOr<std::vector<Department>> subs = dt.ListSubDepartments(1, CallOptions::Bulk());
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].dept_id, 2);

  std::set<std::string> seen;
  int64_t cursor = 0;
  int pages = 0;
  for (;;) {
    absl::StatusOr<UserPage> page = dt.ListUsersPage(3, cursor, 100, CallOptions::Bulk());
    ASSERT_TRUE(page.ok());
    ++pages;
    for (const User& u : page->users) seen.insert(u.userid);
    if (!page->has_more) break;
    cursor = page->next_cursor;
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen.size(), 150u);
  EXPECT_EQ(dt.Calls(api::kUserList), 2);
  EXPECT_TRUE(dt.GetUser("u0", CallOptions::Bulk())->IsLeaderOf(3));
  EXPECT_EQ(ReasonOf(dt.GetUser("nobody", CallOptions::Bulk()).status()), ApiError::kNotFound);
  EXPECT_EQ(dt.GetUserIdByUnionId("union-u5", CallOptions::Interactive())->userid, "u5");
  EXPECT_EQ(ReasonOf(dt.ListUsersPage(3, 0, 101, CallOptions::Bulk()).status()), ApiError::kInvalidArgument);
}

TEST(FakeClient, FailureInjectionAndStats) {
  FakeClient dt;
  CallStats run;
  dt.FailNext(api::kListSub, MakeError(ApiError::kThrottled, "slow down"), 2);
  EXPECT_EQ(ReasonOf(dt.ListSubDepartments(1, CallOptions::Bulk(&run)).status()), ApiError::kThrottled);
  EXPECT_EQ(ReasonOf(dt.ListSubDepartments(1, CallOptions::Bulk(&run)).status()), ApiError::kThrottled);
  EXPECT_TRUE(dt.ListSubDepartments(1, CallOptions::Bulk(&run)).ok());
  EXPECT_EQ(run.Snapshot().api_calls, 3);
  EXPECT_EQ(run.Snapshot().throttled, 2);
  dt.FailAlways(api::kUserCount, MakeError(ApiError::kPermissionDenied, "no", "60011", "qyapi_get_member"));
  EXPECT_EQ(PermissionOf(dt.CountUsers(true, CallOptions::Bulk()).status()), "qyapi_get_member");
  dt.ClearFailures();
  EXPECT_TRUE(dt.CountUsers(true, CallOptions::Bulk()).ok());
}

TEST(FakeClient, LoginCodesAreSingleUse) {
  FakeClient dt;
  dt.AddUser(UserBuilder("zhangsan").InDept(1).Build());
  dt.AddAuthCode("code1", "union-zhangsan");
  absl::StatusOr<UserAccessToken> t = dt.ExchangeUserAuthCode("code1", CallOptions::Interactive());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(dt.GetMe(t->access_token, CallOptions::Interactive())->union_id, "union-zhangsan");
  EXPECT_EQ(ReasonOf(dt.ExchangeUserAuthCode("code1", CallOptions::Interactive()).status()),
            ApiError::kInvalidAuthCode);
  dt.AddFreeLoginCode("free", "zhangsan");
  EXPECT_EQ(dt.GetUserInfoByCode("free", CallOptions::Interactive())->userid, "zhangsan");
  EXPECT_EQ(ReasonOf(dt.GetUserInfoByCode("free", CallOptions::Interactive()).status()), ApiError::kInvalidAuthCode);
}

}  // namespace
}  // namespace sase::dingtalk::testing

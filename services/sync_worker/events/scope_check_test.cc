#include "sync_worker/events/scope_check.h"

#include <gtest/gtest.h>

#include "dingtalk/testing/fake_client.h"

namespace sase::sync_worker {
namespace {

using dingtalk::kRootDeptId;
using dingtalk::testing::FakeClient;
using dingtalk::testing::MakeDepartment;

// root(1) -> 2 -> 3 -> 4;  root -> 5 -> 6
class ScopeCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dt_.AddDepartment(MakeDepartment(2, "two", kRootDeptId));
    dt_.AddDepartment(MakeDepartment(3, "three", 2));
    dt_.AddDepartment(MakeDepartment(4, "four", 3));
    dt_.AddDepartment(MakeDepartment(5, "five", kRootDeptId));
    dt_.AddDepartment(MakeDepartment(6, "six", 5));
  }
  FakeClient dt_;
  dingtalk::CallOptions opts_ = dingtalk::CallOptions::Interactive();
};

TEST_F(ScopeCheckTest, NoRootsMeansEverythingWithoutAnyCall) {
  ScopeCheck scope({}, dt_, opts_);
  EXPECT_TRUE(scope.whole_organisation());
  EXPECT_TRUE(scope.Contains(4).value());
  EXPECT_TRUE(scope.Contains(999).value());
  EXPECT_TRUE(scope.ContainsMoved(6, 5).value());
  EXPECT_EQ(dt_.TotalCalls(), 0);
}

TEST_F(ScopeCheckTest, WalksParentsOnceAndMemoisesTheChain) {
  ScopeCheck scope({2}, dt_, opts_);
  EXPECT_TRUE(scope.Contains(4).value());  // 4 -> 3 -> 2 (root of the scope)
  EXPECT_EQ(dt_.Calls(dingtalk::api::kDepartmentGet), 2);
  EXPECT_TRUE(scope.Contains(3).value());  // memoised on the way up
  EXPECT_FALSE(scope.Contains(6).value());  // 6 -> 5 -> 1: the top, no root met
  EXPECT_EQ(dt_.Calls(dingtalk::api::kDepartmentGet), 4);
  EXPECT_FALSE(scope.Contains(5).value());
  EXPECT_FALSE(scope.Contains(kRootDeptId).value());
  EXPECT_EQ(dt_.Calls(dingtalk::api::kDepartmentGet), 4);
}

TEST_F(ScopeCheckTest, DepartmentsMarkedInsideNeedNoCall) {
  ScopeCheck scope({2}, dt_, opts_);
  scope.MarkInside({6});
  EXPECT_TRUE(scope.Contains(6).value());
  EXPECT_EQ(dt_.TotalCalls(), 0);
}

TEST_F(ScopeCheckTest, UnknownDepartmentIsOutsideButOtherErrorsPropagate) {
  ScopeCheck scope({2}, dt_, opts_);
  EXPECT_FALSE(scope.Contains(777).value());
  dt_.FailNext(dingtalk::api::kDepartmentGet, dingtalk::MakeError(dingtalk::ApiError::kThrottled, "slow down"));
  absl::StatusOr<bool> r = scope.Contains(4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(dingtalk::ReasonOf(r.status()), dingtalk::ApiError::kThrottled);
  EXPECT_TRUE(scope.Contains(4).value());  // the failed walk memoised nothing
}

TEST_F(ScopeCheckTest, MovedDepartmentFollowsItsNewParentAndCarriesItsMembers) {
  ScopeCheck scope({2}, dt_, opts_);
  scope.MarkInside({6});                         // the directory still holds 6 (it was inside)
  EXPECT_FALSE(scope.ContainsMoved(6, 5).value());  // but it now hangs under 5: outside
  EXPECT_FALSE(scope.Contains(6).value());       // and its members follow it
  EXPECT_TRUE(scope.ContainsMoved(2, kRootDeptId).value());  // a root is inside wherever it hangs
}

}  // namespace
}  // namespace sase::sync_worker

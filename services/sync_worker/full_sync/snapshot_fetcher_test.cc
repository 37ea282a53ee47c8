#include "sync_worker/full_sync/snapshot_fetcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/testing/fake_clock.h"
#include "dingtalk/error.h"
#include "dingtalk/testing/fake_client.h"

namespace sase::sync_worker {
namespace {

using dingtalk::ApiError;
using dingtalk::MakeError;
using dingtalk::testing::FakeClient;
using dingtalk::testing::MakeDepartment;
using dingtalk::testing::UserBuilder;
namespace api = dingtalk::api;

// root(1) -> 2 -> 4, root -> 3. 250 users in 2 (3 pages), some also in 3 and 4.
void Populate(FakeClient& dt) {
  dt.AddDepartment(MakeDepartment(2, "研发部", 1));
  dt.AddDepartment(MakeDepartment(3, "销售部", 1));
  dt.AddDepartment(MakeDepartment(4, "平台组", 2));
  for (int i = 0; i < 250; ++i) {
    UserBuilder b("u" + std::to_string(1000 + i));
    b.InDept(2, i == 0);
    if (i % 10 == 0) b.InDept(3, i == 10);
    if (i % 25 == 0) b.InDept(4);
    dt.AddUser(b.Build());
  }
}

std::map<std::string, ::sase::dingtalk::v1::User> ByUserid(const Snapshot& s) {
  std::map<std::string, ::sase::dingtalk::v1::User> out;
  for (const auto& u : s.users) out[u.dingtalk_userid()] = u;
  return out;
}

TEST(SnapshotFetcherTest, WholeOrganisationDedupedWithPagedLists) {
  FakeClient dt;
  Populate(dt);
  FetchProgress progress;
  std::atomic<bool> cancel{false};
  FetchOptions opts;
  auto snap = FetchSnapshot(dt, opts, progress, cancel);
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_EQ(snap->departments.size(), 4u);
  EXPECT_EQ(snap->departments[0].department_id(), 1);
  EXPECT_EQ(snap->departments[0].parent_id(), 0);
  ASSERT_EQ(snap->users.size(), 250u);
  auto users = ByUserid(*snap);
  const auto& u0 = users.at("u1000");
  EXPECT_EQ(std::vector<int64_t>(u0.department_ids().begin(), u0.department_ids().end()),
            (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(std::vector<int64_t>(u0.leader_department_ids().begin(), u0.leader_department_ids().end()),
            (std::vector<int64_t>{2}));
  const auto& u10 = users.at("u1010");
  EXPECT_EQ(std::vector<int64_t>(u10.leader_department_ids().begin(), u10.leader_department_ids().end()),
            (std::vector<int64_t>{3}));
  // One listsub per department, one department/get (root), pages: dept 2 = 3, dept 3 = 1, dept 4 = 1, root = 1.
  EXPECT_EQ(dt.Calls(api::kListSub), 4);
  EXPECT_EQ(dt.Calls(api::kDepartmentGet), 1);
  EXPECT_EQ(dt.Calls(api::kUserList), 6);
  EXPECT_EQ(dt.Calls(api::kUserGet), 0);
  EXPECT_EQ(progress.departments_done.load(), 4);
  EXPECT_EQ(progress.users_done.load(), 250);
}

TEST(SnapshotFetcherTest, PartialScopeKeepsOnlyScopedDepartments) {
  FakeClient dt;
  Populate(dt);
  FetchProgress progress;
  std::atomic<bool> cancel{false};
  FetchOptions opts;
  opts.scope_roots = {3};
  auto snap = FetchSnapshot(dt, opts, progress, cancel);
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_EQ(snap->departments.size(), 1u);
  EXPECT_EQ(snap->departments[0].parent_id(), 1);
  ASSERT_EQ(snap->users.size(), 25u);
  for (const auto& u : snap->users) {
    EXPECT_EQ(std::vector<int64_t>(u.department_ids().begin(), u.department_ids().end()),
              (std::vector<int64_t>{3}));
  }
}

TEST(SnapshotFetcherTest, DepartmentsOnlySkipsUserPages) {
  FakeClient dt;
  Populate(dt);
  FetchProgress progress;
  std::atomic<bool> cancel{false};
  FetchOptions opts;
  opts.departments_only = true;
  auto snap = FetchSnapshot(dt, opts, progress, cancel);
  ASSERT_TRUE(snap.ok());
  EXPECT_FALSE(snap->users_fetched);
  EXPECT_EQ(snap->users.size(), 0u);
  EXPECT_EQ(dt.Calls(api::kUserList), 0);
}

TEST(SnapshotFetcherTest, RetriesTransientErrorsAndFailsOnPermanentOnes) {
  FakeClient dt;
  Populate(dt);
  dt.FailNext(api::kUserList, MakeError(ApiError::kUnreachable, "502"), 2);
  FetchProgress p1;
  std::atomic<bool> cancel{false};
  FetchOptions opts;
  auto once = FetchSnapshot(dt, opts, p1, cancel);
  ASSERT_FALSE(once.ok()) << "without an outage gate a transient error fails the fetch";
  EXPECT_EQ(dingtalk::ReasonOf(once.status()), ApiError::kUnreachable);

  common::testing::FakeClock clock;
  OutageGate gate(clock, OutagePolicy{});
  opts.outage = &gate;
  dt.FailNext(api::kUserList, MakeError(ApiError::kUnreachable, "502"), 2);
  FetchProgress p3;
  auto snap = FetchSnapshot(dt, opts, p3, cancel);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->users.size(), 250u);
  EXPECT_GE(gate.paused(), absl::Seconds(5)) << "the gate waited before repeating the call";

  dt.FailAlways(api::kListSub, MakeError(ApiError::kPermissionDenied, "no", "60011", "qyapi_get_department_list"));
  FetchProgress p2;
  auto failed = FetchSnapshot(dt, opts, p2, cancel);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(dingtalk::ReasonOf(failed.status()), ApiError::kPermissionDenied);
}

TEST(SnapshotFetcherTest, DeletedDepartmentCountsAsEmpty) {
  FakeClient dt;
  Populate(dt);
  dt.FailAlways(api::kUserList, MakeError(ApiError::kNotFound, "60003"));
  FetchProgress p;
  std::atomic<bool> cancel{false};
  auto snap = FetchSnapshot(dt, FetchOptions{}, p, cancel);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->users.size(), 0u);
}

}  // namespace
}  // namespace sase::sync_worker

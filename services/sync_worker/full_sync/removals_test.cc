#include "sync_worker/full_sync/removals.h"

#include <gtest/gtest.h>

namespace sase::sync_worker {
namespace {

store::SourceBaseline Before() {
  store::SourceBaseline b;
  b.active_userids = {"zoe", "amy", "bob", "kim"};
  b.departments = {{2, 1}, {3, 2}, {4, 3}, {5, 1}};  // (id, depth): 2 > 3 > 4, and 5
  return b;
}

TEST(RemovalsTest, UsersMissingFromTheSnapshotDepartSorted) {
  FetchSummary snap;
  snap.users_fetched = true;
  snap.userids = {"amy", "kim"};
  snap.department_ids = {2, 3, 4, 5};
  Removals r = ComputeRemovals(Before(), snap);
  EXPECT_EQ(r.departed_userids, (std::vector<std::string>{"bob", "zoe"}));
  EXPECT_TRUE(r.deleted_dept_ids.empty());
}

TEST(RemovalsTest, ADepartmentsOnlyRunDepartsNobody) {
  FetchSummary snap;  // users_fetched false, userids empty
  snap.department_ids = {2, 3, 4, 5};
  EXPECT_TRUE(ComputeRemovals(Before(), snap).departed_userids.empty());
}

TEST(RemovalsTest, MissingDepartmentsAreDeletedDeepestFirst) {
  FetchSummary snap;
  snap.users_fetched = true;
  snap.userids = {"zoe", "amy", "bob", "kim"};
  snap.department_ids = {5};
  EXPECT_EQ(ComputeRemovals(Before(), snap).deleted_dept_ids, (std::vector<int64_t>{4, 3, 2}));
}

}  // namespace
}  // namespace sase::sync_worker

// The user cache behind GetUser/CheckMembership never keeps serving data the database no longer
// holds: every write through DirectoryWriter shows within a bounded time (polled), and a tenant
// never reads another tenant's cached entry.
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "directory/testing/harness.h"
#include "directory/user_cache.h"
#include "store/testing/test_db.h"

namespace sase::directory {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using testing::DirectoryHarness;
using testing::LoadedOrg;

constexpr auto kDeadline = std::chrono::seconds(10);

// Polls `cond` until it holds or the deadline passes.
bool Eventually(const std::function<bool()>& cond) {
  auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

class UserCachePgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    auto h = DirectoryHarness::Create(db_->dsn());
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    ASSERT_NE(h_->cache(), nullptr);
    auto org = h_->LoadDemo("acme", "dingtalk", {.departments = 12, .users = 40, .max_depth = 5});
    ASSERT_TRUE(org.ok()) << org.status();
    org_ = std::move(*org);
    WaitApplied();
  }

  // Until the cache has applied every change so far (a miss racing an unapplied change is not
  // cached, by design, so Prime() would see no hit).
  void WaitApplied() {
    auto latest = h_->reader().LatestSeq();
    ASSERT_TRUE(latest.ok()) << latest.status();
    ASSERT_TRUE(Eventually([&] { return h_->cache()->applied_seq() >= *latest; }));
  }

  grpc::Status GetUser(const std::string& tenant, const std::string& user_id, v1::User* out) {
    grpc::ClientContext ctx;
    v1::GetUserRequest req;
    req.set_tenant_id(tenant);
    req.set_user_id(user_id);
    return h_->stub().GetUser(&ctx, req, out);
  }

  grpc::Status Check(const std::string& tenant, const std::string& user_id, int64_t dept,
                     v1::CheckMembershipResponse* out) {
    grpc::ClientContext ctx;
    v1::CheckMembershipRequest req;
    req.set_tenant_id(tenant);
    req.set_user_id(user_id);
    req.set_department_id(dept);
    return h_->stub().CheckMembership(&ctx, req, out);
  }

  // The answer straight from the database (no cache).
  store::MembershipResult Truth(const std::string& user_id, int64_t dept) {
    auto r = h_->reader().CheckMembership("acme", user_id, dept);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : store::MembershipResult{};
  }

  // Calls GetUser twice and checks the second call was answered from the cache.
  void Prime(const std::string& user_id) {
    v1::User u;
    ASSERT_TRUE(GetUser("acme", user_id, &u).ok());
    uint64_t hits = h_->cache()->hits();
    ASSERT_TRUE(GetUser("acme", user_id, &u).ok());
    ASSERT_GT(h_->cache()->hits(), hits) << "second read not served by the cache";
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<DirectoryHarness> h_;
  LoadedOrg org_;
};

TEST_F(UserCachePgTest, UserUpdateIsServedAfterCommit) {
  v1::User src = org_.org.users[3];
  const std::string id = org_.UserId(src.dingtalk_userid());
  Prime(id);
  src.set_name("Renamed Person");
  src.set_title("Chief Cache Officer");
  ASSERT_TRUE(h_->writer().UpsertUsers("acme", org_.idp_id, {src}, "test").ok());
  EXPECT_TRUE(Eventually([&] {
    v1::User u;
    return GetUser("acme", id, &u).ok() && u.name() == "Renamed Person" && u.title() == "Chief Cache Officer";
  }));
}

TEST_F(UserCachePgTest, ConcurrentReadsDuringUpdatesConvergeToTheLastCommit) {
  v1::User src = org_.org.users[5];
  const std::string id = org_.UserId(src.dingtalk_userid());
  Prime(id);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    auto stub = h_->NewStub();
    while (!done.load()) {
      grpc::ClientContext ctx;
      v1::GetUserRequest req;
      req.set_tenant_id("acme");
      req.set_user_id(id);
      v1::User u;
      (void)stub->GetUser(&ctx, req, &u);
    }
  });
  for (int i = 0; i < 15; ++i) {
    src.set_name("Name " + std::to_string(i));
    ASSERT_TRUE(h_->writer().UpsertUsers("acme", org_.idp_id, {src}, "test").ok());
  }
  done = true;
  reader.join();
  EXPECT_TRUE(Eventually([&] {
    v1::User u;
    return GetUser("acme", id, &u).ok() && u.name() == "Name 14";
  }));
  // And it stays there (no stale entry re-inserted by a racing miss).
  v1::User u;
  ASSERT_TRUE(GetUser("acme", id, &u).ok());
  EXPECT_EQ(u.name(), "Name 14");
}

TEST_F(UserCachePgTest, DepartmentMoveChangesCachedMembership) {
  // A user whose direct department D has a parent P that is not the root; move D under the root.
  int64_t root = 0;
  for (const auto& d : org_.org.departments) {
    if (d.parent_id() == 0) root = d.department_id();
  }
  ASSERT_NE(root, 0);
  std::string user_id;
  v1::Department moved;
  int64_t old_parent = 0;
  for (const auto& u : org_.org.users) {
    if (u.department_ids_size() != 1) continue;
    for (const auto& d : org_.org.departments) {
      if (d.department_id() == u.department_ids(0) && d.parent_id() != 0 && d.parent_id() != root) {
        user_id = org_.UserId(u.dingtalk_userid());
        moved = d;
        old_parent = d.parent_id();
      }
    }
    if (!user_id.empty() && Truth(user_id, old_parent).member) break;
    user_id.clear();
  }
  ASSERT_FALSE(user_id.empty()) << "demo org has no user two levels below the root";
  Prime(user_id);
  v1::CheckMembershipResponse r;
  ASSERT_TRUE(Check("acme", user_id, old_parent, &r).ok());
  ASSERT_TRUE(r.member());

  moved.set_parent_id(root);
  ASSERT_TRUE(h_->writer().UpsertDepartments("acme", org_.idp_id, {moved}, "test").ok());
  ASSERT_FALSE(Truth(user_id, old_parent).member) << "the move did not change the database";
  EXPECT_TRUE(Eventually([&] {
    v1::CheckMembershipResponse now;
    return Check("acme", user_id, old_parent, &now).ok() && !now.member();
  }));
  // Still a member of the moved department (directly) and of the root.
  ASSERT_TRUE(Check("acme", user_id, moved.department_id(), &r).ok());
  EXPECT_TRUE(r.member());
  EXPECT_TRUE(r.direct());
  ASSERT_TRUE(Check("acme", user_id, root, &r).ok());
  EXPECT_TRUE(r.member());
  EXPECT_FALSE(r.direct());
}

TEST_F(UserCachePgTest, NewAndDeletedDepartmentsAreSeen) {
  const std::string id = org_.UserId(org_.org.users[2].dingtalk_userid());
  Prime(id);
  v1::CheckMembershipResponse r;
  EXPECT_EQ(Check("acme", id, 987654, &r).error_code(), grpc::StatusCode::NOT_FOUND);  // caches "absent"
  v1::Department fresh;
  fresh.set_department_id(987654);
  fresh.set_name("Fresh");
  fresh.set_parent_id(0);
  ASSERT_TRUE(h_->writer().UpsertDepartments("acme", org_.idp_id, {fresh}, "test").ok());
  EXPECT_TRUE(Eventually([&] {
    v1::CheckMembershipResponse now;
    return Check("acme", id, 987654, &now).ok() && !now.member();
  }));
  ASSERT_TRUE(h_->writer().DeleteDepartments("acme", org_.idp_id, {987654}, "test").ok());
  EXPECT_TRUE(Eventually([&] {
    v1::CheckMembershipResponse now;
    return Check("acme", id, 987654, &now).error_code() == grpc::StatusCode::NOT_FOUND;
  }));
}

TEST_F(UserCachePgTest, DepartureDropsCachedMemberships) {
  const v1::User& src = org_.org.users[4];
  const std::string id = org_.UserId(src.dingtalk_userid());
  ASSERT_GT(src.department_ids_size(), 0);
  const int64_t dept = src.department_ids(0);
  Prime(id);
  v1::CheckMembershipResponse r;
  ASSERT_TRUE(Check("acme", id, dept, &r).ok());
  ASSERT_TRUE(r.member());
  ASSERT_TRUE(h_->writer().MarkDeparted("acme", org_.idp_id, {src.dingtalk_userid()}, "test").ok());
  EXPECT_TRUE(Eventually([&] {
    v1::User u;
    return GetUser("acme", id, &u).ok() && u.status() == v1::USER_DEPARTED;
  }));
  EXPECT_TRUE(Eventually([&] {
    v1::CheckMembershipResponse now;
    return Check("acme", id, dept, &now).ok() && !now.member();
  }));
}

TEST_F(UserCachePgTest, TenantCannotReadAnotherTenantsCachedUser) {
  auto other = h_->LoadDemo("globex", "dingtalk");
  ASSERT_TRUE(other.ok()) << other.status();
  WaitApplied();
  const v1::User& src = org_.org.users[1];
  const std::string id = org_.UserId(src.dingtalk_userid());
  Prime(id);  // acme's user is cached now
  v1::User u;
  EXPECT_EQ(GetUser("globex", id, &u).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::CheckMembershipResponse r;
  EXPECT_EQ(Check("globex", id, src.department_ids(0), &r).error_code(), grpc::StatusCode::NOT_FOUND);
  // And the other way round: globex's user cached, acme cannot read it.
  const std::string gid = other->UserId(other->org.users[1].dingtalk_userid());
  ASSERT_TRUE(GetUser("globex", gid, &u).ok());
  ASSERT_TRUE(GetUser("globex", gid, &u).ok());
  EXPECT_EQ(u.tenant_id(), "globex");
  EXPECT_EQ(GetUser("acme", gid, &u).error_code(), grpc::StatusCode::NOT_FOUND);
  // The owning tenant still reads its own.
  ASSERT_TRUE(GetUser("acme", id, &u).ok());
  EXPECT_EQ(u.tenant_id(), "acme");
}

TEST_F(UserCachePgTest, WarmUpFillsTheCacheAndFollowsTheLog) {
  ASSERT_TRUE(Eventually([&] { return h_->cache()->warm_done(); }));
  // Every write so far has been applied (the log position reaches the newest seq).
  auto latest = h_->reader().LatestSeq();
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(Eventually([&] { return h_->cache()->applied_seq() >= *latest; }));
  EXPECT_TRUE(h_->cache()->enabled());
}

}  // namespace
}  // namespace sase::directory

// Tenant A cannot get, list, search, look up, watch or check membership of tenant B's rows,
// even when it knows B's ids: both tenants hold the same demo organisation (same names, emails,
// DingTalk userids, department ids), so any missing tenant filter would show up as a hit.
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/validation.h"
#include "directory/testing/harness.h"
#include "store/testing/test_db.h"

namespace sase::directory {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using Stub = v1::DirectoryService::Stub;
using testing::DirectoryHarness;
using testing::LoadedOrg;

template <typename Req, typename Resp>
grpc::Status Call(grpc::Status (Stub::*m)(grpc::ClientContext*, const Req&, Resp*), Stub& stub, const Req& req,
                  Resp* resp) {
  grpc::ClientContext ctx;
  return (stub.*m)(&ctx, req, resp);
}

class TenantIsolationPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    auto h = DirectoryHarness::Create(db_->dsn());
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    auto a = h_->LoadDemo("tenant-a", "dingtalk");
    ASSERT_TRUE(a.ok()) << a.status();
    a_ = std::move(*a);
    auto b = h_->LoadDemo("tenant-b", "dingtalk");
    ASSERT_TRUE(b.ok()) << b.status();
    b_ = std::move(*b);
    for (const auto& [userid, id] : a_.user_ids) a_ids_.insert(id);
    for (const auto& [userid, id] : b_.user_ids) b_ids_.insert(id);
  }
  Stub& stub() { return h_->stub(); }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<DirectoryHarness> h_;
  LoadedOrg a_, b_;
  std::set<std::string> a_ids_, b_ids_;
};

TEST_F(TenantIsolationPgTest, GetAndBatchGet) {
  const std::string b_user = b_.UserId("u0001");
  v1::GetUserRequest g;
  g.set_tenant_id("tenant-a");
  g.set_user_id(b_user);
  v1::User u;
  EXPECT_EQ(Call(&Stub::GetUser, stub(), g, &u).error_code(), grpc::StatusCode::NOT_FOUND);
  g.set_tenant_id("tenant-b");  // control: the row exists
  EXPECT_TRUE(Call(&Stub::GetUser, stub(), g, &u).ok());

  v1::BatchGetUsersRequest bg;
  bg.set_tenant_id("tenant-a");
  bg.add_user_ids(b_user);
  bg.add_user_ids(a_.UserId("u0001"));
  v1::BatchGetUsersResponse br;
  ASSERT_TRUE(Call(&Stub::BatchGetUsers, stub(), bg, &br).ok());
  ASSERT_EQ(br.users_size(), 1);
  EXPECT_EQ(br.users(0).tenant_id(), "tenant-a");
  EXPECT_THAT(br.not_found(), ::testing::ElementsAre(b_user));
}

TEST_F(TenantIsolationPgTest, LookupSearchAndList) {
  const auto& src = a_.org.users[2];  // same keys exist in both tenants
  auto lookup = [&](auto set) {
    v1::LookupUserRequest r;
    r.set_tenant_id("tenant-a");
    set(r);
    v1::LookupUserResponse resp;
    EXPECT_TRUE(Call(&Stub::LookupUser, stub(), r, &resp).ok());
    for (const auto& u : resp.users()) {
      EXPECT_EQ(u.tenant_id(), "tenant-a");
      EXPECT_TRUE(a_ids_.count(u.user_id()));
    }
    return resp.users_size();
  };
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_dingtalk_userid(src.dingtalk_userid()); }), 1);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_unionid(src.unionid()); }), 1);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_email(src.email()); }), 1);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_mobile(src.mobile()); }), 1);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_job_number(src.job_number()); }), 1);
  // B's idp named explicitly: nothing.
  v1::LookupUserRequest r;
  r.set_tenant_id("tenant-a");
  r.set_idp_id(b_.idp_id);
  r.set_dingtalk_userid(src.dingtalk_userid());
  v1::LookupUserResponse lr;
  EXPECT_EQ(Call(&Stub::LookupUser, stub(), r, &lr).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::SearchUsersRequest s;
  s.set_tenant_id("tenant-a");
  s.set_query("user.");
  s.set_page_size(200);
  v1::SearchUsersResponse sr;
  ASSERT_TRUE(Call(&Stub::SearchUsers, stub(), s, &sr).ok());
  EXPECT_EQ(sr.users_size(), 30);
  for (const auto& u : sr.users()) EXPECT_TRUE(a_ids_.count(u.user_id())) << u.user_id();
  s.set_idp_id(b_.idp_id);
  ASSERT_TRUE(Call(&Stub::SearchUsers, stub(), s, &sr).ok());
  EXPECT_EQ(sr.users_size(), 0);

  v1::ListUsersRequest l;
  l.set_tenant_id("tenant-a");
  l.set_page_size(1000);
  v1::ListUsersResponse lu;
  ASSERT_TRUE(Call(&Stub::ListUsers, stub(), l, &lu).ok());
  EXPECT_EQ(lu.users_size(), 30);
  for (const auto& u : lu.users()) EXPECT_TRUE(a_ids_.count(u.user_id()));
  l.set_idp_id(b_.idp_id);
  EXPECT_EQ(Call(&Stub::ListUsers, stub(), l, &lu).error_code(), grpc::StatusCode::NOT_FOUND);
  l.set_department_id(1);
  l.set_include_descendants(true);
  EXPECT_EQ(Call(&Stub::ListUsers, stub(), l, &lu).error_code(), grpc::StatusCode::NOT_FOUND);
  // A page token carrying a B user id only moves the cursor: still A's rows only.
  l.clear_idp_id();
  l.set_department_id(0);
  l.set_page_token(common::EncodePageToken("users", *b_ids_.begin()));
  ASSERT_TRUE(Call(&Stub::ListUsers, stub(), l, &lu).ok());
  for (const auto& u : lu.users()) EXPECT_TRUE(a_ids_.count(u.user_id()));
}

TEST_F(TenantIsolationPgTest, DepartmentsAndMembership) {
  v1::GetDepartmentRequest gd;
  gd.set_tenant_id("tenant-a");
  gd.set_idp_id(b_.idp_id);
  gd.set_department_id(1);
  v1::Department d;
  EXPECT_EQ(Call(&Stub::GetDepartment, stub(), gd, &d).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListDepartmentsRequest ld;
  ld.set_tenant_id("tenant-a");
  ld.set_idp_id(b_.idp_id);
  ld.set_subtree(true);
  v1::ListDepartmentsResponse ldr;
  EXPECT_EQ(Call(&Stub::ListDepartments, stub(), ld, &ldr).error_code(), grpc::StatusCode::NOT_FOUND);

  const std::string b_user = b_.UserId("u0003");
  v1::ListUserDepartmentsRequest lud;
  lud.set_tenant_id("tenant-a");
  lud.set_user_id(b_user);
  v1::ListUserDepartmentsResponse ludr;
  EXPECT_EQ(Call(&Stub::ListUserDepartments, stub(), lud, &ludr).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::CheckMembershipRequest cm;
  cm.set_tenant_id("tenant-a");
  cm.set_user_id(b_user);
  cm.set_department_id(1);
  v1::CheckMembershipResponse cmr;
  EXPECT_EQ(Call(&Stub::CheckMembership, stub(), cm, &cmr).error_code(), grpc::StatusCode::NOT_FOUND);
  cm.set_tenant_id("tenant-b");  // control
  ASSERT_TRUE(Call(&Stub::CheckMembership, stub(), cm, &cmr).ok());
  EXPECT_TRUE(cmr.member());
}

TEST_F(TenantIsolationPgTest, WatchSeesOnlyItsOwnChanges) {
  int64_t a_count = 0;
  {
    pqxx::connection c(db_->dsn());
    a_count = pqxx::nontransaction(c)
                  .exec1("SELECT count(*) FROM change_log WHERE tenant_id = 'tenant-a'")[0]
                  .as<int64_t>();
  }
  grpc::ClientContext ctx;
  v1::WatchChangesRequest w;
  w.set_tenant_id("tenant-a");
  auto reader = stub().WatchChanges(&ctx, w);
  std::vector<v1::Change> got;
  v1::Change ch;
  while (static_cast<int64_t>(got.size()) < a_count && reader->Read(&ch)) got.push_back(ch);
  ASSERT_EQ(static_cast<int64_t>(got.size()), a_count);
  // A B change then an A change: the next thing A sees is its own.
  v1::User u;
  u.set_dingtalk_userid("b-only");
  ASSERT_TRUE(h_->writer().UpsertUsers("tenant-b", b_.idp_id, {u}, "t").ok());
  u.set_dingtalk_userid("a-only");
  ASSERT_TRUE(h_->writer().UpsertUsers("tenant-a", a_.idp_id, {u}, "t").ok());
  ASSERT_TRUE(reader->Read(&ch));
  got.push_back(ch);
  EXPECT_EQ(ch.user().dingtalk_userid(), "a-only");
  for (const auto& c : got) {
    EXPECT_EQ(c.tenant_id(), "tenant-a");
    EXPECT_EQ(c.idp_id(), a_.idp_id);
    if (c.has_user()) {
      EXPECT_EQ(c.user().tenant_id(), "tenant-a");
      EXPECT_FALSE(b_ids_.count(c.user().user_id()));
    }
    if (c.has_department()) {
      EXPECT_EQ(c.department().tenant_id(), "tenant-a");
    }
  }
  // Filtering A's stream by B's idp yields nothing, even after B writes.
  grpc::ClientContext ctx2;
  w.set_idp_id(b_.idp_id);
  auto filtered = stub().WatchChanges(&ctx2, w);
  filtered->WaitForInitialMetadata();
  u.set_dingtalk_userid("b-two");
  ASSERT_TRUE(h_->writer().UpsertUsers("tenant-b", b_.idp_id, {u}, "t").ok());
  u.set_dingtalk_userid("a-two");
  ASSERT_TRUE(h_->writer().UpsertUsers("tenant-a", a_.idp_id, {u}, "t").ok());
  // Give the stream two wake-ups (notify + poll) to misbehave, then cancel: nothing must arrive.
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ctx2.TryCancel();
  });
  EXPECT_FALSE(filtered->Read(&ch)) << ch.DebugString();
  canceller.join();
  ctx.TryCancel();
}

}  // namespace
}  // namespace sase::directory

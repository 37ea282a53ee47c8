#include "directory/directory_service.h"

#include <chrono>
#include <functional>
#include <thread>
#include <set>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/validation.h"
#include "directory/testing/harness.h"
#include "store/testing/test_db.h"

namespace sase::directory {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::DirectoryHarness;
using testing::LoadedOrg;

class DirectoryServicePgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    auto h = DirectoryHarness::Create(db_->dsn());
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    auto org = h_->LoadDemo("acme", "dingtalk");
    ASSERT_TRUE(org.ok()) << org.status();
    org_ = std::move(*org);
  }

  v1::DirectoryService::Stub& stub() { return h_->stub(); }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<DirectoryHarness> h_;
  LoadedOrg org_;
};

// The demo org's departed and disabled users.
constexpr char kDeparted[] = "u0029";
constexpr char kDisabled[] = "u0028";

TEST_F(DirectoryServicePgTest, GetUser) {
  const auto& src = org_.org.users[1];
  grpc::ClientContext ctx;
  v1::GetUserRequest req;
  req.set_tenant_id("acme");
  req.set_user_id(org_.UserId(src.dingtalk_userid()));
  v1::User u;
  ASSERT_TRUE(stub().GetUser(&ctx, req, &u).ok());
  EXPECT_EQ(u.dingtalk_userid(), src.dingtalk_userid());
  EXPECT_EQ(u.name(), src.name());
  EXPECT_EQ(u.email(), src.email());
  EXPECT_EQ(u.tenant_id(), "acme");
  EXPECT_EQ(u.idp_id(), org_.idp_id);
  EXPECT_EQ(u.attributes().at("employee_type"), src.attributes().at("employee_type"));
  EXPECT_GT(u.version(), 0);
  EXPECT_GT(u.create_time().seconds(), 0);

  grpc::ClientContext ctx2;
  req.set_user_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(stub().GetUser(&ctx2, req, &u).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryServicePgTest, BatchGetUsersInRequestOrder) {
  v1::BatchGetUsersRequest req;
  req.set_tenant_id("acme");
  std::string a = org_.UserId("u0003"), b = org_.UserId("u0001");
  std::string missing = "00000000-0000-4000-8000-000000000001";
  req.add_user_ids(a);
  req.add_user_ids(missing);
  req.add_user_ids(b);
  grpc::ClientContext ctx;
  v1::BatchGetUsersResponse resp;
  ASSERT_TRUE(stub().BatchGetUsers(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.users_size(), 2);
  EXPECT_EQ(resp.users(0).user_id(), a);
  EXPECT_EQ(resp.users(1).user_id(), b);
  EXPECT_THAT(resp.not_found(), ElementsAre(missing));
}

TEST_F(DirectoryServicePgTest, LookupUserByEveryKey) {
  const auto& src = org_.org.users[5];
  const std::string want = org_.UserId(src.dingtalk_userid());
  auto lookup = [&](auto set) {
    v1::LookupUserRequest req;
    req.set_tenant_id("acme");
    set(req);
    grpc::ClientContext ctx;
    v1::LookupUserResponse resp;
    grpc::Status s = stub().LookupUser(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.users_size() == 1 ? resp.users(0).user_id() : std::string("count=") + std::to_string(resp.users_size());
  };
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_dingtalk_userid(src.dingtalk_userid()); }), want);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) {
              r.set_dingtalk_userid(src.dingtalk_userid());
              r.set_idp_id(org_.idp_id);
            }),
            want);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_unionid(src.unionid()); }), want);
  std::string upper = src.email();
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_email(upper); }), want);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_mobile(src.mobile()); }), want);
  EXPECT_EQ(lookup([&](v1::LookupUserRequest& r) { r.set_job_number(src.job_number()); }), want);

  v1::LookupUserRequest req;
  req.set_tenant_id("acme");
  req.set_email("nobody@example.com");
  grpc::ClientContext ctx;
  v1::LookupUserResponse resp;
  EXPECT_EQ(stub().LookupUser(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Pages through ListUsers and returns the user ids, asserting no id is seen twice.
std::vector<std::string> ListAll(v1::DirectoryService::Stub& stub, v1::ListUsersRequest req, int* pages) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  *pages = 0;
  while (true) {
    grpc::ClientContext ctx;
    v1::ListUsersResponse resp;
    grpc::Status s = stub.ListUsers(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;
    ++*pages;
    for (const auto& u : resp.users()) {
      EXPECT_TRUE(seen.insert(u.user_id()).second) << "seen twice: " << u.user_id();
      ids.push_back(u.user_id());
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  return ids;
}

// Ids arrive in any spelling; the directory answers with the canonical (lowercase) ones.
TEST_F(DirectoryServicePgTest, UpperCaseIdsAreTheSameUserAndSource) {
  const std::string id = org_.UserId("u0003");
  v1::GetUserRequest get;
  get.set_tenant_id("acme");
  get.set_user_id(absl::AsciiStrToUpper(id));
  v1::User u;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub().GetUser(&ctx, get, &u).ok());
  EXPECT_EQ(u.user_id(), id);
  v1::ListUsersRequest list;
  list.set_tenant_id("acme");
  list.set_idp_id(absl::AsciiStrToUpper(org_.idp_id));
  list.set_page_size(1000);
  int pages = 0;
  EXPECT_EQ(ListAll(stub(), list, &pages).size(), 30u);
}

TEST_F(DirectoryServicePgTest, ListUsersVisitsEveryRowOnce) {
  v1::ListUsersRequest req;
  req.set_tenant_id("acme");
  req.set_idp_id(org_.idp_id);
  req.set_page_size(7);
  int pages = 0;
  std::vector<std::string> all = ListAll(stub(), req, &pages);
  EXPECT_EQ(all.size(), 30u);
  EXPECT_EQ(pages, 5);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));

  // Whole tree under the root: everyone but the departed user.
  req.set_department_id(1);
  req.set_include_descendants(true);
  std::vector<std::string> tree = ListAll(stub(), req, &pages);
  EXPECT_EQ(tree.size(), 29u);
  EXPECT_EQ(std::count(tree.begin(), tree.end(), org_.UserId(kDeparted)), 0);

  // Direct members of one department vs. its subtree.
  int64_t dept = 101;  // top of the demo chain 1 > 101 > 102 > 103
  size_t direct = 0, subtree = 0;
  std::set<int64_t> under = {dept};
  for (const auto& d : org_.org.departments) {  // parents come first
    if (under.count(d.parent_id())) under.insert(d.department_id());
  }
  ASSERT_GE(under.size(), 3u);
  for (const auto& u : org_.org.users) {
    if (u.dingtalk_userid() == kDeparted) continue;
    bool d = false, s = false;
    for (int64_t x : u.department_ids()) {
      d |= x == dept;
      s |= under.count(x) > 0;
    }
    direct += d;
    subtree += s;
  }
  ASSERT_LT(direct, subtree) << "demo org shape changed";
  req.set_department_id(dept);
  req.set_include_descendants(false);
  EXPECT_EQ(ListAll(stub(), req, &pages).size(), direct);
  req.set_include_descendants(true);
  req.set_page_size(2);
  EXPECT_EQ(ListAll(stub(), req, &pages).size(), subtree);

  // Status filter.
  req.set_department_id(0);
  req.set_status(v1::USER_DISABLED);
  std::vector<std::string> disabled = ListAll(stub(), req, &pages);
  EXPECT_THAT(disabled, ElementsAre(org_.UserId(kDisabled)));
  req.set_status(v1::USER_DEPARTED);
  EXPECT_THAT(ListAll(stub(), req, &pages), ElementsAre(org_.UserId(kDeparted)));

  // Tenant-wide listing without idp.
  v1::ListUsersRequest tenant_wide;
  tenant_wide.set_tenant_id("acme");
  EXPECT_EQ(ListAll(stub(), tenant_wide, &pages).size(), 30u);

  // Unknown department.
  v1::ListUsersRequest unknown;
  unknown.set_tenant_id("acme");
  unknown.set_idp_id(org_.idp_id);
  unknown.set_department_id(999999);
  grpc::ClientContext ctx;
  v1::ListUsersResponse resp;
  EXPECT_EQ(stub().ListUsers(&ctx, unknown, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryServicePgTest, SearchUsersByNameOrEmailPrefix) {
  auto search = [&](const std::string& q, int page_size) {
    std::vector<std::string> names;
    v1::SearchUsersRequest req;
    req.set_tenant_id("acme");
    req.set_query(q);
    req.set_page_size(page_size);
    std::set<std::string> seen;
    while (true) {
      grpc::ClientContext ctx;
      v1::SearchUsersResponse resp;
      grpc::Status s = stub().SearchUsers(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& u : resp.users()) {
        EXPECT_TRUE(seen.insert(u.user_id()).second);
        names.push_back(u.dingtalk_userid());
      }
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  // Chinese name prefix.
  std::vector<std::string> wang;
  for (const auto& u : org_.org.users) {
    if (u.name().rfind("王", 0) == 0) wang.push_back(u.dingtalk_userid());
  }
  ASSERT_FALSE(wang.empty());
  EXPECT_EQ(search("王", 2), wang);
  // Case-insensitive email prefix (the demo has "User." and "user." emails).
  EXPECT_THAT(search("USER.U000", 3), ElementsAre("u0000", "u0001", "u0002", "u0003", "u0004", "u0005", "u0006",
                                                  "u0007", "u0008", "u0009"));
  // English names, case-insensitive.
  std::vector<std::string> alice;
  for (const auto& u : org_.org.users) {
    if (u.name().rfind("Alice", 0) == 0) alice.push_back(u.dingtalk_userid());
  }
  EXPECT_EQ(search("aLiCe", 20), alice);
  // LIKE metacharacters are literal.
  EXPECT_TRUE(search("%", 20).empty());
  EXPECT_TRUE(search("_", 20).empty());
}

TEST_F(DirectoryServicePgTest, Departments) {
  v1::GetDepartmentRequest get;
  get.set_tenant_id("acme");
  get.set_idp_id(org_.idp_id);
  get.set_department_id(103);
  grpc::ClientContext ctx;
  v1::Department d;
  ASSERT_TRUE(stub().GetDepartment(&ctx, get, &d).ok());
  EXPECT_EQ(d.name(), org_.org.departments[3].name());
  EXPECT_EQ(d.parent_id(), 102);
  EXPECT_THAT(d.ancestor_ids(), ElementsAre(1, 101, 102));
  int64_t members = 0;
  for (const auto& u : org_.org.users) {
    if (u.dingtalk_userid() == kDeparted) continue;
    members += std::count(u.department_ids().begin(), u.department_ids().end(), 103);
  }
  EXPECT_EQ(d.member_count(), members);

  get.set_department_id(424242);
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub().GetDepartment(&ctx2, get, &d).error_code(), grpc::StatusCode::NOT_FOUND);

  auto list = [&](int64_t parent, bool subtree, int page_size) {
    v1::ListDepartmentsRequest req;
    req.set_tenant_id("acme");
    req.set_idp_id(org_.idp_id);
    req.set_parent_id(parent);
    req.set_subtree(subtree);
    req.set_page_size(page_size);
    std::vector<int64_t> ids;
    while (true) {
      grpc::ClientContext c;
      v1::ListDepartmentsResponse resp;
      grpc::Status s = stub().ListDepartments(&c, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& x : resp.departments()) ids.push_back(x.department_id());
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return ids;
  };
  EXPECT_THAT(list(0, false, 10), ElementsAre(1));
  EXPECT_EQ(list(0, true, 3).size(), 8u);
  EXPECT_EQ(list(1, true, 3).size(), 7u);
  std::vector<int64_t> children;
  for (const auto& x : org_.org.departments) {
    if (x.parent_id() == 101) children.push_back(x.department_id());
  }
  EXPECT_EQ(list(101, false, 1), children);
  std::vector<int64_t> sub = list(102, true, 100);
  EXPECT_NE(std::find(sub.begin(), sub.end(), 103), sub.end());
  EXPECT_EQ(std::find(sub.begin(), sub.end(), 101), sub.end());
}

TEST_F(DirectoryServicePgTest, ListUserDepartmentsAndMembershipAtDepth) {
  // A dedicated source with a 10-deep chain and one user at the bottom.
  auto idp = h_->CreateIdentitySource("acme", "deep");
  ASSERT_TRUE(idp.ok());
  std::vector<v1::Department> chain;
  for (int i = 1; i <= 10; ++i) {
    v1::Department d;
    d.set_department_id(i);
    d.set_parent_id(i - 1);
    d.set_name("level " + std::to_string(i));
    chain.push_back(d);
  }
  v1::Department side;
  side.set_department_id(50);
  side.set_parent_id(1);
  side.set_name("side");
  chain.push_back(side);
  ASSERT_TRUE(h_->writer().UpsertDepartments("acme", *idp, chain, "t").ok());
  v1::User u;
  u.set_dingtalk_userid("deep-user");
  u.add_department_ids(10);
  u.add_department_ids(50);
  ASSERT_TRUE(h_->writer().UpsertUsers("acme", *idp, {u}, "t").ok());
  auto found = h_->reader().LookupUser("acme", *idp, store::LookupKey::kDingTalkUserId, "deep-user");
  ASSERT_TRUE(found.ok() && found->size() == 1u);
  std::string user_id = (*found)[0].user_id();

  v1::ListUserDepartmentsRequest lreq;
  lreq.set_tenant_id("acme");
  lreq.set_user_id(user_id);
  grpc::ClientContext lctx;
  v1::ListUserDepartmentsResponse lresp;
  ASSERT_TRUE(stub().ListUserDepartments(&lctx, lreq, &lresp).ok());
  std::vector<int64_t> direct, ancestors;
  for (const auto& d : lresp.direct()) direct.push_back(d.department_id());
  for (const auto& d : lresp.ancestors()) ancestors.push_back(d.department_id());
  EXPECT_THAT(direct, ElementsAre(10, 50));
  EXPECT_THAT(ancestors, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9));

  auto check = [&](int64_t dept) {
    v1::CheckMembershipRequest req;
    req.set_tenant_id("acme");
    req.set_user_id(user_id);
    req.set_department_id(dept);
    grpc::ClientContext ctx;
    v1::CheckMembershipResponse resp;
    grpc::Status s = stub().CheckMembership(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return std::make_pair(resp.member(), resp.direct());
  };
  EXPECT_EQ(check(1), std::make_pair(true, false));
  EXPECT_EQ(check(5), std::make_pair(true, false));
  EXPECT_EQ(check(10), std::make_pair(true, true));
  EXPECT_EQ(check(50), std::make_pair(true, true));

  // Not a member of a department outside the user's paths; unknown department is NOT_FOUND.
  v1::Department other;
  other.set_department_id(60);
  other.set_parent_id(50);
  other.set_name("other");
  ASSERT_TRUE(h_->writer().UpsertDepartments("acme", *idp, {other}, "t").ok());
  EXPECT_EQ(check(60), std::make_pair(false, false));
  v1::CheckMembershipRequest req;
  req.set_tenant_id("acme");
  req.set_user_id(user_id);
  req.set_department_id(777);
  grpc::ClientContext ctx;
  v1::CheckMembershipResponse resp;
  grpc::Status s = stub().CheckMembership(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("department_id"));

  // Departed: no longer a member anywhere. Reads follow the change log (user cache), so the
  // departure shows within a bounded time rather than on the very next call.
  ASSERT_TRUE(h_->writer().MarkDeparted("acme", *idp, {"deep-user"}, "t").ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (check(1) != std::make_pair(false, false) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(check(1), std::make_pair(false, false));
  EXPECT_EQ(check(10), std::make_pair(false, false));
}

// ---- Bad input: INVALID_ARGUMENT naming the field. ----

struct BadCase {
  std::string name;
  std::function<grpc::Status(v1::DirectoryService::Stub&, const std::string& idp)> call;
  std::string field;
};

template <typename Req, typename Resp>
grpc::Status Call(grpc::Status (v1::DirectoryService::Stub::*m)(grpc::ClientContext*, const Req&, Resp*),
                  v1::DirectoryService::Stub& stub, const Req& req) {
  grpc::ClientContext ctx;
  Resp resp;
  return (stub.*m)(&ctx, req, &resp);
}

TEST_F(DirectoryServicePgTest, BadInputIsInvalidArgumentNamingTheField) {
  using S = v1::DirectoryService::Stub;
  const std::string uid = org_.UserId("u0001");
  std::vector<BadCase> cases = {
      {"GetUser no tenant", [&](S& s, const std::string&) {
         v1::GetUserRequest r; r.set_user_id(uid); return Call(&S::GetUser, s, r); }, "tenant_id"},
      {"GetUser bad tenant", [&](S& s, const std::string&) {
         v1::GetUserRequest r; r.set_tenant_id("a b"); r.set_user_id(uid); return Call(&S::GetUser, s, r); },
       "tenant_id"},
      {"GetUser bad id", [&](S& s, const std::string&) {
         v1::GetUserRequest r; r.set_tenant_id("acme"); r.set_user_id("u0001"); return Call(&S::GetUser, s, r); },
       "user_id"},
      {"BatchGet too many", [&](S& s, const std::string&) {
         v1::BatchGetUsersRequest r; r.set_tenant_id("acme");
         for (int i = 0; i < 501; ++i) r.add_user_ids(uid);
         return Call(&S::BatchGetUsers, s, r); }, "user_ids"},
      {"BatchGet bad id", [&](S& s, const std::string&) {
         v1::BatchGetUsersRequest r; r.set_tenant_id("acme"); r.add_user_ids("nope");
         return Call(&S::BatchGetUsers, s, r); }, "user_ids"},
      {"Lookup no key", [&](S& s, const std::string&) {
         v1::LookupUserRequest r; r.set_tenant_id("acme"); return Call(&S::LookupUser, s, r); }, "key"},
      {"Lookup empty email", [&](S& s, const std::string&) {
         v1::LookupUserRequest r; r.set_tenant_id("acme"); r.set_email(""); return Call(&S::LookupUser, s, r); },
       "email"},
      {"Lookup long mobile", [&](S& s, const std::string&) {
         v1::LookupUserRequest r; r.set_tenant_id("acme"); r.set_mobile(std::string(300, '1'));
         return Call(&S::LookupUser, s, r); }, "mobile"},
      {"Lookup bad idp", [&](S& s, const std::string&) {
         v1::LookupUserRequest r; r.set_tenant_id("acme"); r.set_idp_id("x"); r.set_dingtalk_userid("u0001");
         return Call(&S::LookupUser, s, r); }, "idp_id"},
      {"ListUsers page_size", [&](S& s, const std::string& idp) {
         v1::ListUsersRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp); r.set_page_size(1001);
         return Call(&S::ListUsers, s, r); }, "page_size"},
      {"ListUsers bad token", [&](S& s, const std::string& idp) {
         v1::ListUsersRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp); r.set_page_token("!!garbage");
         return Call(&S::ListUsers, s, r); }, "page_token"},
      {"ListUsers dept token", [&](S& s, const std::string& idp) {
         v1::ListUsersRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp);
         r.set_page_token(common::EncodePageToken("depts", "5")); return Call(&S::ListUsers, s, r); },
       "page_token"},
      {"ListUsers dept without idp", [&](S& s, const std::string&) {
         v1::ListUsersRequest r; r.set_tenant_id("acme"); r.set_department_id(1);
         return Call(&S::ListUsers, s, r); }, "idp_id"},
      {"ListUsers negative dept", [&](S& s, const std::string& idp) {
         v1::ListUsersRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp); r.set_department_id(-1);
         return Call(&S::ListUsers, s, r); }, "department_id"},
      {"Search empty", [&](S& s, const std::string&) {
         v1::SearchUsersRequest r; r.set_tenant_id("acme"); return Call(&S::SearchUsers, s, r); }, "query"},
      {"Search long", [&](S& s, const std::string&) {
         v1::SearchUsersRequest r; r.set_tenant_id("acme"); r.set_query(std::string(101, 'a'));
         return Call(&S::SearchUsers, s, r); }, "query"},
      {"Search page_size", [&](S& s, const std::string&) {
         v1::SearchUsersRequest r; r.set_tenant_id("acme"); r.set_query("a"); r.set_page_size(201);
         return Call(&S::SearchUsers, s, r); }, "page_size"},
      {"GetDepartment zero", [&](S& s, const std::string& idp) {
         v1::GetDepartmentRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp);
         return Call(&S::GetDepartment, s, r); }, "department_id"},
      {"GetDepartment no idp", [&](S& s, const std::string&) {
         v1::GetDepartmentRequest r; r.set_tenant_id("acme"); r.set_department_id(1);
         return Call(&S::GetDepartment, s, r); }, "idp_id"},
      {"ListDepartments page_size", [&](S& s, const std::string& idp) {
         v1::ListDepartmentsRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp); r.set_page_size(5000);
         return Call(&S::ListDepartments, s, r); }, "page_size"},
      {"ListDepartments bad token", [&](S& s, const std::string& idp) {
         v1::ListDepartmentsRequest r; r.set_tenant_id("acme"); r.set_idp_id(idp);
         r.set_page_token(common::EncodePageToken("depts", "abc")); return Call(&S::ListDepartments, s, r); },
       "page_token"},
      {"ListUserDepartments bad id", [&](S& s, const std::string&) {
         v1::ListUserDepartmentsRequest r; r.set_tenant_id("acme"); r.set_user_id("123");
         return Call(&S::ListUserDepartments, s, r); }, "user_id"},
      {"CheckMembership zero dept", [&](S& s, const std::string&) {
         v1::CheckMembershipRequest r; r.set_tenant_id("acme"); r.set_user_id(uid);
         return Call(&S::CheckMembership, s, r); }, "department_id"},
      {"CheckMembership no tenant", [&](S& s, const std::string&) {
         v1::CheckMembershipRequest r; r.set_user_id(uid); r.set_department_id(1);
         return Call(&S::CheckMembership, s, r); }, "tenant_id"},
  };
  for (const auto& c : cases) {
    grpc::Status s = c.call(stub(), org_.idp_id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.field)) << c.name;
  }
  // WatchChanges validates before streaming.
  v1::WatchChangesRequest w;
  w.set_tenant_id("acme");
  w.set_after_seq(-1);
  grpc::ClientContext ctx;
  auto reader = stub().WatchChanges(&ctx, w);
  v1::Change ch;
  EXPECT_FALSE(reader->Read(&ch));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("after_seq"));
}

TEST_F(DirectoryServicePgTest, UnknownIdsAreNotFound) {
  using S = v1::DirectoryService::Stub;
  const std::string ghost = "00000000-0000-4000-8000-00000000abcd";
  v1::ListUserDepartmentsRequest l;
  l.set_tenant_id("acme");
  l.set_user_id(ghost);
  EXPECT_EQ(Call(&S::ListUserDepartments, stub(), l).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::CheckMembershipRequest c;
  c.set_tenant_id("acme");
  c.set_user_id(ghost);
  c.set_department_id(1);
  EXPECT_EQ(Call(&S::CheckMembership, stub(), c).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListDepartmentsRequest d;
  d.set_tenant_id("acme");
  d.set_idp_id(ghost);
  EXPECT_EQ(Call(&S::ListDepartments, stub(), d).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListUsersRequest u;
  u.set_tenant_id("acme");
  u.set_idp_id(ghost);
  EXPECT_EQ(Call(&S::ListUsers, stub(), u).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace sase::directory

#include "store/directory_writer.h"

#include <algorithm>

#include <google/protobuf/util/message_differencer.h>
#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/directory_reader.h"
#include "store/testing/demo_org.h"
#include "store/testing/test_db.h"

namespace sase::store {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

v1::Department Dept(int64_t id, int64_t parent, const std::string& name = "") {
  v1::Department d;
  d.set_department_id(id);
  d.set_parent_id(parent);
  d.set_name(name.empty() ? "d" + std::to_string(id) : name);
  return d;
}

v1::User User(const std::string& userid, std::vector<int64_t> depts) {
  v1::User u;
  u.set_dingtalk_userid(userid);
  u.set_name("name " + userid);
  u.set_email(userid + "@example.com");
  for (int64_t d : depts) u.add_department_ids(d);
  return u;
}

class DirectoryWriterPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    PgPool::Options o;
    o.dsn = db_->dsn();
    o.size = 2;
    o.statements = DirectoryReader::Statements();
    auto pool = PgPool::Create(o);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    writer_ = std::make_unique<DirectoryWriter>(*pool_);
    reader_ = std::make_unique<DirectoryReader>(*pool_);
    idp_ = CreateIdp("t1", "src");
  }

  std::string CreateIdp(const std::string& tenant, const std::string& name) {
    return testing::InsertBareSource(db_->dsn(), tenant, name);
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection c(db_->dsn());
    pqxx::nontransaction tx(c);
    return tx.exec1(sql)[0].as<int64_t>();
  }

  std::vector<int64_t> Closure(const std::string& userid) {
    pqxx::connection c(db_->dsn());
    pqxx::nontransaction tx(c);
    auto r = tx.exec_params1("SELECT dept_closure::text FROM users WHERE dingtalk_userid = $1", userid);
    return dir_internal::ParseInt64Array(r[0].c_str());
  }

  std::vector<int64_t> ClosureRows(const std::string& userid) {
    pqxx::connection c(db_->dsn());
    pqxx::nontransaction tx(c);
    auto r = tx.exec_params(
        "SELECT c.dept_id FROM user_dept_closure c JOIN users u USING (user_id) WHERE u.dingtalk_userid = $1"
        " ORDER BY 1",
        userid);
    std::vector<int64_t> out;
    for (const auto& row : r) out.push_back(row[0].as<int64_t>());
    return out;
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<DirectoryWriter> writer_;
  std::unique_ptr<DirectoryReader> reader_;
  std::string idp_;
};

TEST_F(DirectoryWriterPgTest, CreatesWithPathsClosuresAndChangeLog) {
  // Children before parents in the batch: paths are computed from the whole batch.
  auto d = writer_->UpsertDepartments("t1", idp_, {Dept(12, 11), Dept(11, 10), Dept(10, 1), Dept(1, 0)}, "test");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->created, 4);
  auto dept = reader_->GetDepartment("t1", idp_, 12);
  ASSERT_TRUE(dept.ok()) << dept.status();
  EXPECT_THAT(dept->ancestor_ids(), ElementsAre(1, 10, 11));

  auto u = writer_->UpsertUsers("t1", idp_, {User("alice", {12}), User("bob", {10, 1})}, "test");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->created, 2);
  EXPECT_THAT(Closure("alice"), ElementsAre(1, 10, 11, 12));
  EXPECT_THAT(ClosureRows("alice"), ElementsAre(1, 10, 11, 12));
  EXPECT_THAT(Closure("bob"), ElementsAre(1, 10));
  EXPECT_EQ(Count("SELECT count(*) FROM user_dept_closure WHERE direct"), 3);

  // Every change has a row; version = seq; payload = the object after the change.
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), 6);
  auto changes = reader_->ReadChanges("t1", "", 0, 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 6u);
  for (size_t i = 1; i < changes->size(); ++i) EXPECT_GT((*changes)[i].seq(), (*changes)[i - 1].seq());
  const v1::Change& last = changes->back();
  ASSERT_TRUE(last.has_user());
  EXPECT_EQ(last.kind(), v1::CHANGE_USER_CREATED);
  EXPECT_EQ(last.user().version(), last.seq());
  EXPECT_EQ(last.origin(), "test");
  auto stored = reader_->GetUser("t1", last.user().user_id());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->version(), last.seq());
  EXPECT_EQ(stored->name(), last.user().name());
  EXPECT_EQ(u->last_seq, last.seq());
}

// The change payloads are built from the written content, not read back: they must be exactly what
// the directory then serves, for created and updated users alike (every field, sub-microsecond hire
// times truncated as stored, attributes, leader departments, departed status).
TEST_F(DirectoryWriterPgTest, ChangePayloadsEqualTheStoredUsers) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(2, 1)}, "test").ok());
  v1::User full = User("carol", {2, 1});
  full.set_unionid("union-carol");
  full.set_org_email("carol@corp.example");
  full.set_mobile("+86-13800000000");
  full.set_job_number("J-7");
  full.set_title("engineer");
  full.set_avatar("https://example.com/a.png");
  full.set_manager_userid("alice");
  full.set_active(true);
  full.add_leader_department_ids(2);
  (*full.mutable_attributes())["cost_center"] = "CC-9";
  (*full.mutable_attributes())["quote"] = "say \"hi\"";
  full.mutable_hired_time()->set_seconds(1700000000);
  full.mutable_hired_time()->set_nanos(123456789);
  v1::User plain = User("dave", {1});
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {full, plain}, "test").ok());
  plain.set_status(v1::USER_DEPARTED);
  plain.set_active(false);
  full.set_title("staff engineer");
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {full, plain}, "test").ok());

  auto changes = reader_->ReadChanges("t1", "", 0, 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  int users = 0;
  for (const v1::Change& c : *changes) {
    if (!c.has_user()) continue;
    ++users;
    auto stored = reader_->GetUser("t1", c.user().user_id());
    ASSERT_TRUE(stored.ok()) << stored.status();
    if (stored->version() != c.seq()) continue;  // superseded by the second upsert
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*stored, c.user()))
        << "stored: " << stored->ShortDebugString() << "\nchange: " << c.user().ShortDebugString();
  }
  EXPECT_EQ(users, 4);
  auto carol = reader_->LookupUser("t1", "", LookupKey::kDingTalkUserId, "carol");
  ASSERT_TRUE(carol.ok()) << carol.status();
  ASSERT_EQ(carol->size(), 1u);
  EXPECT_EQ((*carol)[0].hired_time().nanos(), 123456000);
  EXPECT_EQ((*carol)[0].title(), "staff engineer");
}

// New users get UUID version 7 ids (time-ordered, so bulk loads append to the user_id indexes).
TEST_F(DirectoryWriterPgTest, NewUserIdsAreTimeOrderedUuidV7) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0)}, "test").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("u1", {1})}, "test").ok());
  pqxx::connection c(db_->dsn());
  pqxx::nontransaction tx(c);
  tx.exec("SELECT pg_sleep(0.002)");
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("u2", {1})}, "test").ok());
  auto r = tx.exec("SELECT user_id::text FROM users ORDER BY dingtalk_userid");
  ASSERT_EQ(r.size(), 2u);
  const std::string first = r[0][0].c_str();
  const std::string second = r[1][0].c_str();
  EXPECT_EQ(first[14], '7') << first;
  EXPECT_EQ(second[14], '7') << second;
  EXPECT_NE(std::string("89ab").find(first[19]), std::string::npos) << first;  // RFC 4122 variant
  EXPECT_LT(first, second);
  // The embedded time is now (milliseconds since the epoch, first 48 bits).
  const int64_t ms = std::stoll(first.substr(0, 8) + first.substr(9, 4), nullptr, 16);
  const int64_t now_ms = tx.exec1("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")[0].as<int64_t>();
  EXPECT_LE(ms, now_ms);
  EXPECT_GT(ms, now_ms - 60000);
}

TEST_F(DirectoryWriterPgTest, UnchangedReupsertWritesNothing) {
  testing::DemoOrg org = testing::GenerateDemoOrg();
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, org.departments, "test").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, org.users, "test").ok());
  int64_t changes = Count("SELECT count(*) FROM change_log");
  int64_t versions = Count("SELECT sum(version) FROM users");
  std::string max_updated;
  {
    pqxx::connection c(db_->dsn());
    max_updated = pqxx::nontransaction(c).exec1("SELECT max(updated_at)::text FROM users")[0].c_str();
  }
  auto d = writer_->UpsertDepartments("t1", idp_, org.departments, "again");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->unchanged, static_cast<int>(org.departments.size()));
  EXPECT_EQ(d->created + d->updated, 0);
  auto u = writer_->UpsertUsers("t1", idp_, org.users, "again");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->unchanged, static_cast<int>(org.users.size()));
  EXPECT_EQ(u->created + u->updated, 0);
  EXPECT_EQ(u->last_seq, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes);
  EXPECT_EQ(Count("SELECT sum(version) FROM users"), versions);
  pqxx::connection c(db_->dsn());
  EXPECT_EQ(std::string(pqxx::nontransaction(c).exec1("SELECT max(updated_at)::text FROM users")[0].c_str()),
            max_updated);

  // One changed field → exactly one row and one change.
  std::vector<v1::User> one = {org.users[3]};
  one[0].set_title("Chief");
  auto changed = writer_->UpsertUsers("t1", idp_, one, "edit");
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->updated, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes + 1);
  EXPECT_EQ(Count("SELECT kind FROM change_log ORDER BY seq DESC LIMIT 1"), v1::CHANGE_USER_UPDATED);
}

// What a full sync cannot know (v2/user/list has no manager_userid; department/listsub neither
// order nor managers) is kept from the last event and is never counted as a change; events
// (the default options) write every field, clearing too.
TEST_F(DirectoryWriterPgTest, FieldsTheBatchDoesNotCarryAreKeptAndNeverAChange) {
  v1::Department root = Dept(1, 0), sales = Dept(2, 1, "Sales");
  sales.set_order(7);
  sales.add_manager_userids("mgr-b");
  sales.add_manager_userids("mgr-a");  // DingTalk's order, not sorted
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {root, sales}, "event").ok());
  v1::User alice = User("alice", {2});
  alice.set_manager_userid("mgr-b");
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {alice}, "event").ok());
  auto stored = reader_->GetDepartment("t1", idp_, 2);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->order(), 7);
  EXPECT_THAT(stored->manager_userids(), ElementsAre("mgr-b", "mgr-a"));
  const int64_t changes = Count("SELECT count(*) FROM change_log");

  // The list-call view: no order, no managers, no manager_userid. Nothing is written.
  v1::Department listed = Dept(2, 1, "Sales");
  v1::User alice_listed = User("alice", {2});
  const DepartmentUpsertOptions keep_dept{.keep_stored_order_and_managers = true};
  const UserUpsertOptions keep_user{.keep_stored_manager = true};
  auto d = writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), listed}, "sync", keep_dept);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->created + d->updated, 0);
  EXPECT_EQ(d->unchanged, 2);
  auto u = writer_->UpsertUsers("t1", idp_, {alice_listed}, "sync", keep_user);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->created + u->updated, 0);
  EXPECT_EQ(u->unchanged, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes);
  EXPECT_EQ(Count("SELECT sort_order FROM departments WHERE dept_id = 2"), 7);

  // A change the list call does carry is written, keeping the rest; the payloads carry it.
  listed.set_name("Sales & Marketing");
  alice_listed.set_title("lead");
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {listed}, "sync", keep_dept).ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {alice_listed}, "sync", keep_user).ok());
  auto log = reader_->ReadChanges("t1", "", 0, 100);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(static_cast<int64_t>(log->size()), changes + 2);
  const v1::Change& dept_change = (*log)[log->size() - 2];
  ASSERT_TRUE(dept_change.has_department());
  EXPECT_EQ(dept_change.department().name(), "Sales & Marketing");
  EXPECT_EQ(dept_change.department().order(), 7);
  EXPECT_THAT(dept_change.department().manager_userids(), ElementsAre("mgr-b", "mgr-a"));
  const v1::Change& user_change = log->back();
  ASSERT_TRUE(user_change.has_user());
  EXPECT_EQ(user_change.user().title(), "lead");
  EXPECT_EQ(user_change.user().manager_userid(), "mgr-b");
  auto served = reader_->GetUser("t1", user_change.user().user_id());
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->manager_userid(), "mgr-b");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*served, user_change.user()));

  // A new row takes the batch's value; another re-sync is still a no-op.
  v1::Department fresh = Dept(3, 1);
  v1::User bob = User("bob", {3});
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {fresh}, "sync", keep_dept).ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {bob}, "sync", keep_user).ok());
  const int64_t after_new = Count("SELECT count(*) FROM change_log");
  auto again_d = writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), listed, fresh}, "sync", keep_dept);
  auto again_u = writer_->UpsertUsers("t1", idp_, {alice_listed, bob}, "sync", keep_user);
  ASSERT_TRUE(again_d.ok() && again_u.ok());
  EXPECT_EQ(again_d->created + again_d->updated + again_u->created + again_u->updated, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), after_new);

  // An event (default options) knows every field: it replaces, and clears, them.
  v1::Department modified = Dept(2, 1, "Sales & Marketing");
  modified.set_order(3);
  modified.add_manager_userids("mgr-c");
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {modified}, "event").ok());
  auto replaced = reader_->GetDepartment("t1", idp_, 2);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->order(), 3);
  EXPECT_THAT(replaced->manager_userids(), ElementsAre("mgr-c"));
  auto cleared = writer_->UpsertUsers("t1", idp_, {alice_listed}, "event");
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->updated, 1);
  auto no_manager = reader_->GetUser("t1", user_change.user().user_id());
  ASSERT_TRUE(no_manager.ok());
  EXPECT_EQ(no_manager->manager_userid(), "");
}

TEST_F(DirectoryWriterPgTest, MoveRecomputesDescendantPathsAndUserClosures) {
  ASSERT_TRUE(
      writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(10, 1), Dept(11, 10), Dept(12, 11), Dept(20, 1)}, "t")
          .ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("alice", {12}), User("carol", {20}), User("dave", {10})}, "t")
                  .ok());
  int64_t before = Count("SELECT max(seq) FROM change_log");
  // Move 11 (with its child 12) from under 10 to under 20.
  auto moved = writer_->UpsertDepartments("t1", idp_, {Dept(11, 20)}, "move");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->updated, 2);  // 11 (parent) and 12 (path)
  EXPECT_EQ(moved->closures_recomputed, 1);
  auto d12 = reader_->GetDepartment("t1", idp_, 12);
  ASSERT_TRUE(d12.ok());
  EXPECT_THAT(d12->ancestor_ids(), ElementsAre(1, 20, 11));
  EXPECT_THAT(Closure("alice"), ElementsAre(1, 11, 12, 20));
  EXPECT_THAT(ClosureRows("alice"), ElementsAre(1, 11, 12, 20));
  EXPECT_THAT(Closure("dave"), ElementsAre(1, 10));
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE seq > " + std::to_string(before) + " AND kind = 6"), 2);

  auto alice = reader_->LookupUser("t1", "", LookupKey::kDingTalkUserId, "alice");
  ASSERT_TRUE(alice.ok() && alice->size() == 1u);
  auto in20 = reader_->CheckMembership("t1", (*alice)[0].user_id(), 20);
  ASSERT_TRUE(in20.ok()) << in20.status();
  EXPECT_TRUE(in20->member);
  EXPECT_FALSE(in20->direct);
  auto in10 = reader_->CheckMembership("t1", (*alice)[0].user_id(), 10);
  ASSERT_TRUE(in10.ok());
  EXPECT_FALSE(in10->member);

  // A re-upsert of alice with the same content is still a no-op after the move.
  auto again = writer_->UpsertUsers("t1", idp_, {User("alice", {12})}, "t");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged, 1);
}

TEST_F(DirectoryWriterPgTest, DepartmentArrivingAfterItsUsersFixesTheirClosures) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("alice", {30})}, "t").ok());
  EXPECT_THAT(Closure("alice"), ElementsAre(30));
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(30, 1)}, "t").ok());
  EXPECT_THAT(Closure("alice"), ElementsAre(1, 30));
  EXPECT_THAT(ClosureRows("alice"), ElementsAre(1, 30));
}

TEST_F(DirectoryWriterPgTest, CycleIsRejected) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(10, 1), Dept(11, 10)}, "t").ok());
  auto r = writer_->UpsertDepartments("t1", idp_, {Dept(10, 11)}, "t");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  auto d10 = reader_->GetDepartment("t1", idp_, 10);
  ASSERT_TRUE(d10.ok());
  EXPECT_EQ(d10->parent_id(), 1);  // nothing written
}

TEST_F(DirectoryWriterPgTest, SourceBaselineHoldsActiveUsersAndEveryDepartmentOfThatSourceOnly) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(10, 1), Dept(11, 10)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("alice", {10}), User("bob", {11}), User("carol", {1})}, "t").ok());
  ASSERT_TRUE(writer_->MarkDeparted("t1", idp_, {"bob"}, "t").ok());
  const std::string other = CreateIdp("t1", "other");
  ASSERT_TRUE(writer_->UpsertDepartments("t1", other, {Dept(1, 0), Dept(20, 1)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", other, {User("dave", {20})}, "t").ok());

  auto b = reader_->ReadSourceBaseline("t1", idp_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(b->active_userids, UnorderedElementsAre("alice", "carol"));  // bob departed; dave elsewhere
  EXPECT_THAT(b->departments, UnorderedElementsAre(std::pair<int64_t, int>{1, 0}, std::pair<int64_t, int>{10, 1},
                                                   std::pair<int64_t, int>{11, 2}));
  auto wrong_tenant = reader_->ReadSourceBaseline("t2", idp_);
  ASSERT_TRUE(wrong_tenant.ok()) << wrong_tenant.status();
  EXPECT_TRUE(wrong_tenant->active_userids.empty());
  EXPECT_TRUE(wrong_tenant->departments.empty());
}

TEST_F(DirectoryWriterPgTest, MarkDepartedDropsMembershipsOnce) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(10, 1)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("alice", {10}), User("bob", {10})}, "t").ok());
  auto r = writer_->MarkDeparted("t1", idp_, {"alice", "nobody"}, "event:user_leave_org");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->updated, 1);
  EXPECT_EQ(r->unchanged, 1);
  EXPECT_TRUE(ClosureRows("alice").empty());
  auto alice = reader_->LookupUser("t1", idp_, LookupKey::kDingTalkUserId, "alice");
  ASSERT_TRUE(alice.ok() && alice->size() == 1u);
  EXPECT_EQ((*alice)[0].status(), v1::USER_DEPARTED);
  EXPECT_THAT((*alice)[0].department_ids(), ElementsAre(10));  // kept for the record
  auto m = reader_->CheckMembership("t1", (*alice)[0].user_id(), 10);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->member);
  EXPECT_EQ(Count("SELECT kind FROM change_log ORDER BY seq DESC LIMIT 1"), v1::CHANGE_USER_DEPARTED);
  int64_t n = Count("SELECT count(*) FROM change_log");
  auto again = writer_->MarkDeparted("t1", idp_, {"alice"}, "t");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->updated, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), n);
}

TEST_F(DirectoryWriterPgTest, DeleteDepartments) {
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(10, 1), Dept(11, 10)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("alice", {11, 1})}, "t").ok());
  auto refused = writer_->DeleteDepartments("t1", idp_, {10}, "t");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  auto r = writer_->DeleteDepartments("t1", idp_, {10, 11}, "t");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->deleted, 2);
  EXPECT_EQ(r->updated, 1);
  EXPECT_THAT(Closure("alice"), ElementsAre(1));
  EXPECT_THAT(ClosureRows("alice"), ElementsAre(1));
  EXPECT_EQ(reader_->GetDepartment("t1", idp_, 11).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE kind = 7"), 2);
}

TEST_F(DirectoryWriterPgTest, DeletingUsersOrTheSourceRemovesTheirClosureRows) {
  std::string other = CreateIdp("t1", "other");
  ASSERT_TRUE(writer_->UpsertDepartments("t1", idp_, {Dept(1, 0), Dept(10, 1)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertDepartments("t1", other, {Dept(1, 0), Dept(10, 1)}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", idp_, {User("alice", {10}), User("bob", {1})}, "t").ok());
  ASSERT_TRUE(writer_->UpsertUsers("t1", other, {User("carol", {10})}, "t").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM user_dept_closure"), 5);
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec0("DELETE FROM users WHERE dingtalk_userid = 'bob'");
    tx.commit();
  }
  EXPECT_EQ(Count("SELECT count(*) FROM user_dept_closure"), 4);
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec_params0("DELETE FROM identity_sources WHERE idp_id = $1::uuid", idp_);
    tx.commit();
  }
  EXPECT_EQ(Count("SELECT count(*) FROM user_dept_closure"), 2);  // carol's rows only
  EXPECT_THAT(ClosureRows("carol"), ElementsAre(1, 10));
}

TEST_F(DirectoryWriterPgTest, ForeignIdentitySourceIsNotFound) {
  std::string other = CreateIdp("t2", "other");
  auto r = writer_->UpsertUsers("t1", other, {User("alice", {})}, "t");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Count("SELECT count(*) FROM users"), 0);
}

}  // namespace
}  // namespace sase::store

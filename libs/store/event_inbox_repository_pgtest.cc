#include "store/event_inbox_repository.h"

#include <map>
#include <memory>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "store/testing/test_db.h"

namespace sase::store {
namespace {

class EventInboxRepositoryPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    PgPool::Options o;
    o.dsn = db_->dsn();
    o.size = 2;
    pool_ = *PgPool::Create(o);
    repo_ = std::make_unique<EventInboxRepository>(*pool_);
    for (const char* t : {"acme", "other"}) idp_[t] = testing::InsertBareSource(db_->dsn(), t);
  }

  // Stores one event per key for the source of `tenant`.
  void Put(const std::string& tenant, std::vector<std::string> keys) {
    std::vector<InboxEvent> events;
    for (const std::string& k : keys) events.push_back({k, "user_modify_org", 1, {"u-" + k}, {2}, "{}"});
    auto r = repo_->Insert({{tenant, idp_[tenant], &events}});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*r)[0].ok()) << (*r)[0].status();
  }
  // state, attempts and whether next_attempt_at lies in the future, of the row with `key`.
  std::tuple<int, int, bool, std::string> Row(const std::string& key) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    pqxx::row r = tx.exec_params1(
        "SELECT state, attempts, next_attempt_at > now(), last_error FROM event_inbox WHERE dedupe_key = $1", key);
    return {r[0].as<int>(), r[1].as<int>(), r[2].as<bool>(), r[3].c_str()};
  }
  void MakeDue() {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec0("UPDATE event_inbox SET next_attempt_at = now() - interval '1 second'");
    tx.commit();
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<EventInboxRepository> repo_;
  std::map<std::string, std::string> idp_;
};

TEST_F(EventInboxRepositoryPgTest, InsertReportsPerSubmissionOwnershipAndDuplicates) {
  std::vector<InboxEvent> mine{{"a", "user_add_org", 1, {"u1"}, {}, "{}"}, {"a", "user_add_org", 1, {"u1"}, {}, "{}"},
                               {"b", "user_add_org", 1, {"u2"}, {}, "{}"}};
  std::vector<InboxEvent> theirs{{"c", "user_add_org", 1, {"u3"}, {}, "{}"}};
  // The second submission names acme's source under another tenant: refused, the rest stored.
  auto r = repo_->Insert({{"acme", idp_["acme"], &mine}, {"other", idp_["acme"], &theirs}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  ASSERT_TRUE((*r)[0].ok());
  EXPECT_EQ((*r)[0]->accepted, 2);
  EXPECT_EQ((*r)[0]->duplicates, 1);
  EXPECT_EQ((*r)[0]->duplicate, (std::vector<bool>{false, true, false}));
  EXPECT_TRUE(absl::IsNotFound((*r)[1].status())) << (*r)[1].status();
  EXPECT_EQ(repo_->PendingCount().value(), 2);
  auto again = repo_->Insert({{"acme", idp_["acme"], &mine}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0]->accepted, 0);
  EXPECT_EQ((*again)[0]->duplicates, 3);
}

// An upper-case spelling of a source id is the same source (before: NOT_FOUND, the ownership
// check compared it with PostgreSQL's lowercase text), and shares its dedupe keys.
TEST_F(EventInboxRepositoryPgTest, UpperCaseSourceIdIsTheSameSource) {
  std::vector<InboxEvent> events{{"k1", "user_add_org", 1, {"u1"}, {}, "{}"}};
  auto r = repo_->Insert({{"acme", absl::AsciiStrToUpper(idp_["acme"]), &events}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*r)[0].ok()) << (*r)[0].status();
  EXPECT_EQ((*r)[0]->accepted, 1);
  auto again = repo_->Insert({{"acme", idp_["acme"], &events}, {"acme", absl::AsciiStrToUpper(idp_["acme"]), &events}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0]->duplicates, 1);
  EXPECT_EQ((*again)[1]->duplicates, 1);
  EXPECT_EQ(repo_->PendingCount().value(), 1);
}

TEST_F(EventInboxRepositoryPgTest, ClaimLeasesDueRowsOnceAndSkipsPausedSources) {
  Put("acme", {"a1", "a2"});
  Put("other", {"o1"});
  auto first = repo_->Claim(10, absl::Seconds(60), {idp_["other"]});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  for (const ClaimedEvent& e : *first) {
    EXPECT_EQ(e.tenant_id, "acme");
    EXPECT_EQ(e.idp_id, idp_["acme"]);
    EXPECT_EQ(e.attempts, 1);
    EXPECT_EQ(e.dept_ids, std::vector<int64_t>{2});
    ASSERT_EQ(e.user_ids.size(), 1u);
  }
  EXPECT_EQ(std::get<2>(Row("a1")), true) << "the lease pushes next_attempt_at ahead";
  // Leased rows are not claimed again; the unpaused source's row is.
  auto second = repo_->Claim(10, absl::Seconds(60), {});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].tenant_id, "other");
  EXPECT_TRUE(repo_->Claim(10, absl::Seconds(60), {}).value().empty());
  // Once the lease has passed, the rows come back (a dead worker's rows).
  MakeDue();
  auto third = repo_->Claim(1, absl::Seconds(60), {});
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(third->size(), 1u) << "the limit holds";
  EXPECT_EQ((*third)[0].attempts, 2);
}

TEST_F(EventInboxRepositoryPgTest, SettleAppliesRetriesParksAndRechecks) {
  Put("acme", {"ok", "retry", "park", "again"});
  auto claimed = repo_->Claim(10, absl::Seconds(60), {});
  ASSERT_TRUE(claimed.ok());
  std::map<std::string, int64_t> id;
  {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    for (const auto& row : tx.exec("SELECT dedupe_key, id FROM event_inbox")) id[row[0].c_str()] = row[1].as<int64_t>();
  }
  InboxSettlement s;
  s.applied = {id["ok"]};
  s.failed = {id["retry"]};
  s.reason = "unreachable";
  s.recheck = {id["again"]};
  s.recheck_reason = "leave_not_visible";
  auto lags = repo_->Settle(s);
  ASSERT_TRUE(lags.ok()) << lags.status();
  ASSERT_EQ(lags->size(), 1u);
  EXPECT_GE((*lags)[0], 0.0);
  EXPECT_EQ(Row("ok"), std::make_tuple(kInboxApplied, 1, true, std::string()));
  EXPECT_EQ(Row("retry"), std::make_tuple(kInboxPending, 1, true, std::string("unreachable")));
  EXPECT_EQ(Row("again"), std::make_tuple(kInboxPending, 1, true, std::string("leave_not_visible")));
  InboxSettlement park;
  park.failed = {id["park"]};
  park.park = true;
  park.reason = "gave up";
  ASSERT_TRUE(repo_->Settle(park).ok());
  EXPECT_EQ(std::get<0>(Row("park")), kInboxParked);
  EXPECT_EQ(repo_->PendingCount().value(), 2);  // retry and again
  // Nothing at all to settle is a no-op.
  EXPECT_TRUE(repo_->Settle({}).value().empty());
}

}  // namespace
}  // namespace sase::store

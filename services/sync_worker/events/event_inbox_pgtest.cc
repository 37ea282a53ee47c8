#include "sync_worker/events/event_inbox.h"

#include <prometheus/registry.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/testing/test_db.h"

namespace sase::sync_worker {
namespace {

class EventInboxPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    store::PgPool::Options o;
    o.dsn = db_->dsn();
    o.size = 4;
    pool_ = *store::PgPool::Create(o);
    for (const char* t : {"acme", "other"}) idp_[t] = store::testing::InsertBareSource(db_->dsn(), t);
  }
  int Rows() {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    return tx.exec1("SELECT count(*) FROM event_inbox")[0].as<int>();
  }
  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<store::PgPool> pool_;
  prometheus::Registry registry_;
  std::map<std::string, std::string> idp_;
};

InboxEvent Ev(const std::string& key) {
  return InboxEvent{key, "user_add_org", 1, {"u1"}, {1, 2}, R"({"EventType":"user_add_org"})"};
}

TEST_F(EventInboxPgTest, ConcurrentSubmissionsAreGroupCommittedExactlyOnce) {
  prometheus::Registry registry;
  EventInbox inbox(*pool_, registry, {.max_batch_events = 64, .max_concurrent_batches = 2});
  constexpr int kThreads = 16, kPerThread = 50;
  std::atomic<int> accepted{0}, duplicates{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every key is submitted by two threads: exactly one stores it.
        std::vector<InboxEvent> events{Ev(absl::StrCat("k", (t / 2), "-", i))};
        auto r = inbox.Submit("acme", idp_["acme"], events);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        accepted += r->accepted;
        duplicates += r->duplicates;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(accepted.load(), kThreads / 2 * kPerThread);
  EXPECT_EQ(duplicates.load(), kThreads / 2 * kPerThread);
  EXPECT_EQ(Rows(), kThreads / 2 * kPerThread);
  auto pending = inbox.PendingCount();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, kThreads / 2 * kPerThread);
}

TEST_F(EventInboxPgTest, WrongTenantInABatchFailsOnlyThatCaller) {
  EventInbox inbox(*pool_, registry_);
  std::vector<InboxEvent> mine{Ev("a"), Ev("a"), Ev("b")};
  auto ok = inbox.Submit("acme", idp_["acme"], mine);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->accepted, 2);
  EXPECT_EQ(ok->duplicates, 1);
  EXPECT_EQ(ok->duplicate, (std::vector<bool>{false, true, false}));
  auto bad = inbox.Submit("other", idp_["acme"], {Ev("c")});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Rows(), 2);
}

// The inbox has no per-row foreign key (005): deleting a source must still delete its events
// (trigger), for the source deleted and no other, and a source deleted before a submission gets
// nothing stored.
TEST_F(EventInboxPgTest, DeletingASourceDeletesItsEvents) {
  EventInbox inbox(*pool_, registry_);
  ASSERT_TRUE(inbox.Submit("acme", idp_["acme"], {Ev("a"), Ev("b")}).ok());
  ASSERT_TRUE(inbox.Submit("other", idp_["other"], {Ev("a")}).ok());
  ASSERT_EQ(Rows(), 3);
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec_params0("DELETE FROM identity_sources WHERE idp_id = $1::uuid", idp_["acme"]);
    tx.commit();
  }
  EXPECT_EQ(Rows(), 1);
  {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    EXPECT_EQ(tx.exec1("SELECT idp_id::text FROM event_inbox")[0].c_str(), idp_["other"]);
  }
  auto late = inbox.Submit("acme", idp_["acme"], {Ev("c")});
  EXPECT_EQ(late.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Rows(), 1);
}

// A delete racing a submission: whichever commits first, no event of the deleted source remains.
TEST_F(EventInboxPgTest, DeleteRacingSubmissionsLeavesNoOrphans) {
  EventInbox inbox(*pool_, registry_);
  std::atomic<bool> stop{false};
  std::thread submitter([&] {
    for (int i = 0; !stop.load(); ++i) (void)inbox.Submit("acme", idp_["acme"], {Ev(absl::StrCat("k", i))});
  });
  for (int i = 0; i < 1000 && Rows() < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec_params0("DELETE FROM identity_sources WHERE idp_id = $1::uuid", idp_["acme"]);
    tx.commit();
  }
  stop = true;
  submitter.join();
  pqxx::connection c(db_->dsn());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM event_inbox e WHERE NOT EXISTS "
                     "(SELECT 1 FROM identity_sources s WHERE s.idp_id = e.idp_id)")[0]
                .as<int>(),
            0);
}

}  // namespace
}  // namespace sase::sync_worker

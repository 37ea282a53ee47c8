// WatchChanges: replay from a cursor, live delivery via LISTEN/NOTIFY, the poll fallback, resume
// without gaps or repeats (also under concurrent writers), cancellation and shutdown.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "directory/testing/harness.h"
#include "store/change_log.h"
#include "store/testing/test_db.h"

namespace sase::directory {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using Clock = std::chrono::steady_clock;
using testing::DirectoryHarness;

v1::User NewUser(const std::string& userid, const std::string& title = "") {
  v1::User u;
  u.set_dingtalk_userid(userid);
  u.set_name("name-" + userid);
  u.set_title(title);
  return u;
}

class WatchChangesPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    auto h = DirectoryHarness::Create(db_->dsn(), std::chrono::milliseconds(300));
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    auto idp = h_->CreateIdentitySource("acme", "dingtalk");
    ASSERT_TRUE(idp.ok());
    idp_ = *idp;
  }

  int64_t LogCount(const std::string& tenant) {
    pqxx::connection c(db_->dsn());
    return pqxx::nontransaction(c)
        .exec_params1("SELECT count(*) FROM change_log WHERE tenant_id = $1", tenant)[0]
        .as<int64_t>();
  }

  std::vector<int64_t> LogSeqs(const std::string& tenant) {
    pqxx::connection c(db_->dsn());
    std::vector<int64_t> out;
    for (const auto& row :
         pqxx::nontransaction(c).exec_params("SELECT seq FROM change_log WHERE tenant_id = $1 ORDER BY seq", tenant)) {
      out.push_back(row[0].as<int64_t>());
    }
    return out;
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<DirectoryHarness> h_;
  std::string idp_;
};

// Reads from a stream on its own thread, so the test can wait with a deadline.
class Watcher {
 public:
  Watcher(v1::DirectoryService::Stub& stub, v1::WatchChangesRequest req) {
    reader_ = stub.WatchChanges(&ctx_, req);
    // The server sends headers once its cursor is fixed: from here on nothing can be missed.
    reader_->WaitForInitialMetadata();
    thread_ = std::thread([this] {
      v1::Change ch;
      while (reader_->Read(&ch)) {
        std::lock_guard<std::mutex> lock(mu_);
        changes_.push_back(ch);
        arrival_.push_back(Clock::now());
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mu_);
      status_ = reader_->Finish();
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Watcher() {
    Cancel();
    thread_.join();
  }
  void Cancel() { ctx_.TryCancel(); }

  // Waits until at least n changes arrived (or the stream ended / the deadline passed).
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return changes_.size() >= n || done_; }) && changes_.size() >= n;
  }
  bool WaitDone(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  std::vector<v1::Change> changes() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_;
  }
  Clock::time_point arrival(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return arrival_[i];
  }
  grpc::Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::Change>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::Change> changes_;
  std::vector<Clock::time_point> arrival_;
  grpc::Status status_;
  bool done_ = false;
};

v1::WatchChangesRequest Req(const std::string& tenant, int64_t after, const std::string& idp = "") {
  v1::WatchChangesRequest r;
  r.set_tenant_id(tenant);
  r.set_after_seq(after);
  r.set_idp_id(idp);
  return r;
}

TEST_F(WatchChangesPgTest, ReplaysThenStreamsLiveWellUnderASecond) {
  auto org = h_->LoadDemo("acme", "demo");
  ASSERT_TRUE(org.ok()) << org.status();
  const size_t existing = static_cast<size_t>(LogCount("acme"));
  ASSERT_GT(existing, 30u);
  Watcher w(h_->stub(), Req("acme", 0));
  ASSERT_TRUE(w.WaitFor(existing));
  auto replay = w.changes();
  for (size_t i = 1; i < replay.size(); ++i) ASSERT_GT(replay[i].seq(), replay[i - 1].seq());
  EXPECT_EQ(replay[0].kind(), v1::CHANGE_DEPARTMENT_CREATED);
  EXPECT_TRUE(replay[0].has_department());
  EXPECT_EQ(replay.back().kind(), v1::CHANGE_USER_DEPARTED);
  EXPECT_EQ(replay.back().user().dingtalk_userid(), org->org.departed[0]);
  EXPECT_EQ(replay.back().user().version(), replay.back().seq());

  // Live: several commits, each delivered well under a second after it committed.
  for (int i = 0; i < 5; ++i) {
    auto r = h_->writer().UpsertUsers("acme", idp_, {NewUser("live" + std::to_string(i))}, "event:test");
    ASSERT_TRUE(r.ok()) << r.status();
    Clock::time_point committed = Clock::now();
    ASSERT_TRUE(w.WaitFor(existing + static_cast<size_t>(i) + 1));
    auto lag = std::chrono::duration_cast<std::chrono::milliseconds>(w.arrival(existing + static_cast<size_t>(i)) -
                                                                     committed);
    EXPECT_LT(lag.count(), 250) << "change " << i;
    auto got = w.changes().back();
    EXPECT_EQ(got.kind(), v1::CHANGE_USER_CREATED);
    EXPECT_EQ(got.user().dingtalk_userid(), "live" + std::to_string(i));
    EXPECT_EQ(got.origin(), "event:test");
    EXPECT_EQ(got.seq(), r->last_seq);
  }
}

TEST_F(WatchChangesPgTest, PollFallbackDeliversWithoutNotify) {
  Watcher w(h_->stub(), Req("acme", 0));
  // A change committed without NOTIFY (as on a read replica, or a lost notification).
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    store::LockChangeLog(tx);
    v1::User u = NewUser("silent");
    store::AppendChange(tx, "acme", idp_, v1::CHANGE_USER_UPDATED, "x", "test", u.SerializeAsString());
    tx.commit();
  }
  ASSERT_TRUE(w.WaitFor(1, std::chrono::milliseconds(3000)));
  EXPECT_EQ(w.changes()[0].user().dingtalk_userid(), "silent");
}

TEST_F(WatchChangesPgTest, ResumeAfterReconnectSkipsAndRepeatsNothingUnderConcurrentWriters) {
  constexpr int kWriters = 3;
  constexpr int kPerWriter = 40;
  std::atomic<bool> failed{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        // Alternate creates and updates; some batches carry two users.
        std::vector<v1::User> batch = {NewUser("w" + std::to_string(w) + "-" + std::to_string(i % 10),
                                               "t" + std::to_string(i))};
        if (i % 7 == 0) batch.push_back(NewUser("w" + std::to_string(w) + "-extra" + std::to_string(i)));
        if (!h_->writer().UpsertUsers("acme", idp_, batch, "test").ok()) failed = true;
      }
    });
  }
  // Read while the writers run, reconnecting from the last seq seen several times.
  std::vector<int64_t> got;
  int64_t cursor = 0;
  for (int round = 0; round < 4; ++round) {
    Watcher w(h_->stub(), Req("acme", cursor));
    size_t want = 15;
    w.WaitFor(want, std::chrono::milliseconds(3000));
    w.Cancel();
    w.WaitDone(std::chrono::milliseconds(3000));
    for (const auto& ch : w.changes()) {
      got.push_back(ch.seq());
      cursor = ch.seq();
    }
  }
  for (auto& t : writers) t.join();
  ASSERT_FALSE(failed.load());
  // Final catch-up from the cursor.
  std::vector<int64_t> all = LogSeqs("acme");
  {
    Watcher w(h_->stub(), Req("acme", cursor));
    size_t remaining = static_cast<size_t>(std::count_if(all.begin(), all.end(), [&](int64_t s) { return s > cursor; }));
    ASSERT_TRUE(w.WaitFor(remaining, std::chrono::milliseconds(5000)));
    for (const auto& ch : w.changes()) got.push_back(ch.seq());
  }
  EXPECT_EQ(got, all);  // same seqs, same order: nothing skipped, nothing repeated
  EXPECT_GE(all.size(), static_cast<size_t>(kWriters * kPerWriter));
}

TEST_F(WatchChangesPgTest, FromNowAndIdpFilter) {
  ASSERT_TRUE(h_->writer().UpsertUsers("acme", idp_, {NewUser("old")}, "t").ok());
  auto other = h_->CreateIdentitySource("acme", "other");
  ASSERT_TRUE(other.ok());
  v1::WatchChangesRequest now = Req("acme", 0);
  now.set_from_now(true);
  Watcher all(h_->stub(), now);
  Watcher only_other(h_->stub(), Req("acme", 0, *other));
  ASSERT_TRUE(h_->writer().UpsertUsers("acme", idp_, {NewUser("new1")}, "t").ok());
  ASSERT_TRUE(h_->writer().UpsertUsers("acme", *other, {NewUser("new2")}, "t").ok());
  ASSERT_TRUE(all.WaitFor(2));
  auto a = all.changes();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].user().dingtalk_userid(), "new1");
  EXPECT_EQ(a[1].user().dingtalk_userid(), "new2");
  ASSERT_TRUE(only_other.WaitFor(1));
  auto o = only_other.changes();
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].user().dingtalk_userid(), "new2");
  EXPECT_EQ(o[0].idp_id(), *other);
}

TEST_F(WatchChangesPgTest, EndsOnClientCancelAndOnShutdown) {
  {
    Watcher w(h_->stub(), Req("acme", 0));
    auto start = Clock::now();
    w.Cancel();
    ASSERT_TRUE(w.WaitDone(std::chrono::milliseconds(2000)));
    EXPECT_EQ(w.status().error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
  }
  Watcher w(h_->stub(), Req("acme", 0));
  ASSERT_TRUE(h_->writer().UpsertUsers("acme", idp_, {NewUser("x")}, "t").ok());
  ASSERT_TRUE(w.WaitFor(1));
  auto start = Clock::now();
  h_->notifier().Stop();  // what main() does on SIGTERM before stopping the server
  ASSERT_TRUE(w.WaitDone(std::chrono::milliseconds(3000)));
  EXPECT_EQ(w.status().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace sase::directory

#include "sync_worker/full_sync/lease_heartbeat.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <chrono>
#include <thread>

#include "common/testing/fake_clock.h"

namespace sase::sync_worker {
namespace {

// Waits (bounded) for a condition a background thread makes true; never asserts a duration.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return pred();
}

// The interval is measured on the injected clock: the heartbeat thread is real, time is not.
TEST(LeaseHeartbeatTest, BeatsAtOnceThenOncePerIntervalThenStopsCleanly) {
  common::testing::FakeClock clock;
  std::atomic<bool> stop{false}, cancel{false};
  std::atomic<int> beats{0};
  {
    LeaseHeartbeat hb("run-1", absl::Hours(1), clock, stop, cancel, [&] {
      ++beats;
      return absl::OkStatus();
    });
    ASSERT_TRUE(Eventually([&] { return beats.load() == 1; }));
    clock.Advance(absl::Minutes(59));
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // two of the loop's 50 ms polls
    EXPECT_EQ(beats.load(), 1) << "the hour has not passed";
    clock.Advance(absl::Minutes(1));
    ASSERT_TRUE(Eventually([&] { return beats.load() == 2; }));
    hb.Stop();
    hb.Stop();  // idempotent
  }
  EXPECT_EQ(beats.load(), 2);
  EXPECT_FALSE(cancel.load());
}

TEST(LeaseHeartbeatTest, TransientErrorsAreRetriedNextInterval) {
  common::testing::FakeClock clock;
  std::atomic<bool> stop{false}, cancel{false};
  std::atomic<int> beats{0};
  LeaseHeartbeat hb("run-2", absl::Seconds(1), clock, stop, cancel, [&] {
    ++beats;
    return absl::UnavailableError("database restarting");
  });
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Eventually([&] { return beats.load() == i; }));
    clock.Advance(absl::Seconds(1));
  }
  EXPECT_FALSE(cancel.load());
}

TEST(LeaseHeartbeatTest, LostLeaseCancelsTheRunAndStopsBeating) {
  std::atomic<bool> stop{false}, cancel{false};
  std::atomic<int> beats{0};
  LeaseHeartbeat hb("run-3", absl::Milliseconds(1), common::SystemClock(), stop, cancel, [&] {
    ++beats;
    return absl::FailedPreconditionError("lease held by another worker");
  });
  ASSERT_TRUE(Eventually([&] { return cancel.load(); }));
  hb.Stop();
  EXPECT_EQ(beats.load(), 1);
}

TEST(LeaseHeartbeatTest, EngineStopCancelsTheRun) {
  std::atomic<bool> stop{false}, cancel{false};
  LeaseHeartbeat hb("run-4", absl::Hours(1), common::SystemClock(), stop, cancel, [] { return absl::OkStatus(); });
  EXPECT_FALSE(cancel.load());
  stop = true;
  EXPECT_TRUE(Eventually([&] { return cancel.load(); }));
}

TEST(LeaseHeartbeatTest, DestructorJoinsWithoutStop) {
  std::atomic<bool> stop{false}, cancel{false};
  auto hb = std::make_unique<LeaseHeartbeat>("run-5", absl::Milliseconds(1), common::SystemClock(), stop, cancel,
                                             [] { return absl::OkStatus(); });
  hb.reset();  // must not terminate the process with a joinable thread
  SUCCEED();
}

}  // namespace
}  // namespace sase::sync_worker

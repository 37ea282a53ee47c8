#include "dingtalk/rate_limiter.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "common/testing/fake_clock.h"

namespace sase::dingtalk {
namespace {

using common::testing::FakeClock;

// Largest number of grants inside any window [t, t + window).
int MaxInWindow(const std::vector<absl::Time>& grants, absl::Duration window) {
  int best = 0;
  size_t lo = 0;
  for (size_t hi = 0; hi < grants.size(); ++hi) {
    while (grants[hi] - grants[lo] >= window) ++lo;
    best = std::max(best, static_cast<int>(hi - lo + 1));
  }
  return best;
}

TEST(RateLimiter, BulkStaysAtConfiguredQpsOverSimulatedClock) {
  FakeClock clock;
  RateLimiter limiter({.qps_per_api = 20, .api_qps = {}, .burst = 1, .interactive_reserve = 1, .process_qps = 0},
                      clock);
  absl::Time start = clock.Now();
  std::vector<absl::Time> grants;
  for (int i = 0; i < 400; ++i) {
    limiter.Acquire("app", "user_list", Priority::kBulk);
    grants.push_back(clock.Now());
  }
  double elapsed = absl::ToDoubleSeconds(clock.Now() - start);
  // 400 calls at 20 QPS need about 20 s; never less than the bound, never much more.
  EXPECT_GE(elapsed, 399.0 / 20 - 0.01);
  EXPECT_LE(elapsed, 400.0 / 20 + 0.5);
  EXPECT_LE(MaxInWindow(grants, absl::Seconds(1)), 21);
  EXPECT_EQ(limiter.granted(), 400);
}

TEST(RateLimiter, InteractiveCallsDoNotQueueBehindBulk) {
  FakeClock clock;
  RateLimiter limiter({.qps_per_api = 20, .api_qps = {}, .burst = 1, .interactive_reserve = 1, .process_qps = 0},
                      clock);
  for (int i = 0; i < 50; ++i) limiter.Acquire("app", "user_get", Priority::kBulk);  // saturated
  // Bulk must wait now, interactive goes at once.
  EXPECT_GT(limiter.TryAcquire("app", "user_get", Priority::kBulk), absl::ZeroDuration());
  EXPECT_EQ(limiter.TryAcquire("app", "user_get", Priority::kInteractive), absl::ZeroDuration());
  // The interactive token is paid for: bulk waits longer than one interval afterwards.
  EXPECT_GT(limiter.TryAcquire("app", "user_get", Priority::kBulk), absl::Milliseconds(50));
}

TEST(RateLimiter, InteractiveTrafficAlsoBoundedByQps) {
  FakeClock clock;
  RateLimiter limiter({.qps_per_api = 10, .api_qps = {}, .burst = 1, .interactive_reserve = 2, .process_qps = 0},
                      clock);
  absl::Time start = clock.Now();
  for (int i = 0; i < 100; ++i) limiter.Acquire("app", "user_getuserinfo", Priority::kInteractive);
  // capacity 3 up front, then 10/s.
  EXPECT_GE(absl::ToDoubleSeconds(clock.Now() - start), (100.0 - 3) / 10 - 0.01);
}

TEST(RateLimiter, BucketsArePerAppAndApi) {
  FakeClock clock;
  RateLimiter limiter({.qps_per_api = 5, .api_qps = {}, .burst = 1, .interactive_reserve = 0, .process_qps = 0}, clock);
  EXPECT_EQ(limiter.TryAcquire("app1", "user_list", Priority::kBulk), absl::ZeroDuration());
  EXPECT_GT(limiter.TryAcquire("app1", "user_list", Priority::kBulk), absl::ZeroDuration());
  EXPECT_EQ(limiter.TryAcquire("app1", "department_listsub", Priority::kBulk), absl::ZeroDuration());
  EXPECT_EQ(limiter.TryAcquire("app2", "user_list", Priority::kBulk), absl::ZeroDuration());
}

TEST(RateLimiter, PerApiOverride) {
  FakeClock clock;
  RateLimiter limiter(
      {.qps_per_api = 20, .api_qps = {{"user_list", 2}}, .burst = 1, .interactive_reserve = 0, .process_qps = 0},
      clock);
  absl::Time start = clock.Now();
  for (int i = 0; i < 11; ++i) limiter.Acquire("app", "user_list", Priority::kBulk);
  EXPECT_GE(absl::ToDoubleSeconds(clock.Now() - start), 5.0 - 0.01);
}

TEST(RateLimiter, ProcessCapAppliesAcrossApis) {
  FakeClock clock;
  RateLimiter limiter({.qps_per_api = 20, .api_qps = {}, .burst = 1, .interactive_reserve = 0, .process_qps = 25},
                      clock);
  absl::Time start = clock.Now();
  std::vector<absl::Time> grants;
  for (int i = 0; i < 300; ++i) {
    limiter.Acquire(i % 2 ? "app1" : "app2", i % 3 ? "user_list" : "user_get", Priority::kBulk);
    grants.push_back(clock.Now());
  }
  EXPECT_GE(absl::ToDoubleSeconds(clock.Now() - start), 299.0 / 25 - 0.01);
  EXPECT_LE(MaxInWindow(grants, absl::Seconds(1)), 26);
}

TEST(RateLimiter, PauseBlocksBothLanes) {
  FakeClock clock;
  RateLimiter limiter({.qps_per_api = 20, .api_qps = {}, .burst = 1, .interactive_reserve = 1, .process_qps = 0},
                      clock);
  limiter.Pause("app", "user_list", absl::Seconds(2));
  EXPECT_GE(limiter.TryAcquire("app", "user_list", Priority::kBulk), absl::Seconds(2));
  EXPECT_GE(limiter.TryAcquire("app", "user_list", Priority::kInteractive), absl::Seconds(2));
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(limiter.TryAcquire("app", "user_list", Priority::kBulk), absl::ZeroDuration());
}

}  // namespace
}  // namespace sase::dingtalk

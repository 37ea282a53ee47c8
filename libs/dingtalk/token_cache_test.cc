#include "dingtalk/token_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "dingtalk/error.h"
#include "common/testing/fake_clock.h"

namespace sase::dingtalk {
namespace {

using common::testing::FakeClock;

TEST(TokenCache, CachesAndRefreshesTenMinutesBeforeExpiry) {
  FakeClock clock;
  int fetches = 0;
  TokenCache cache(
      [&]() -> absl::StatusOr<AccessToken> {
        ++fetches;
        return AccessToken{"t" + std::to_string(fetches), clock.Now() + absl::Seconds(7200)};
      },
      clock, absl::Minutes(10));
  EXPECT_EQ(cache.Get()->token, "t1");
  EXPECT_EQ(cache.Get()->token, "t1");
  clock.Advance(absl::Seconds(7200 - 600 - 1));
  EXPECT_EQ(cache.Get()->token, "t1");
  EXPECT_EQ(fetches, 1);
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(cache.Get()->token, "t2");
  EXPECT_EQ(fetches, 2);
  EXPECT_EQ(cache.refreshes(), 2);
}

// A token issued for less than the ten-minute margin (seen with short-lived tokens: 323 token
// calls for 365 API calls) is kept for three quarters of its lifetime instead of being refetched
// on every call.
TEST(TokenCache, ShortLivedTokenIsRefreshedAtThreeQuartersOfItsLifetime) {
  FakeClock clock;
  int fetches = 0;
  TokenCache cache(
      [&]() -> absl::StatusOr<AccessToken> {
        ++fetches;
        return AccessToken{"t" + std::to_string(fetches), clock.Now() + absl::Seconds(120)};
      },
      clock, absl::Minutes(10));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(cache.Get()->token, "t1");
  clock.Advance(absl::Seconds(89));
  EXPECT_EQ(cache.Get()->token, "t1");
  EXPECT_EQ(fetches, 1);
  clock.Advance(absl::Seconds(2));  // 91 s of 120: inside the last quarter
  EXPECT_EQ(cache.Get()->token, "t2");
  EXPECT_EQ(fetches, 2);
}

TEST(TokenCache, InvalidateOnlyDropsTheRejectedToken) {
  FakeClock clock;
  int fetches = 0;
  TokenCache cache(
      [&]() -> absl::StatusOr<AccessToken> {
        ++fetches;
        return AccessToken{"t" + std::to_string(fetches), clock.Now() + absl::Hours(2)};
      },
      clock, absl::Minutes(10));
  EXPECT_EQ(cache.Get()->token, "t1");
  cache.Invalidate("t1");
  EXPECT_EQ(cache.Get()->token, "t2");
  cache.Invalidate("t1");  // a late caller reporting the old token
  EXPECT_EQ(cache.Get()->token, "t2");
  EXPECT_EQ(fetches, 2);
}

TEST(TokenCache, SingleFlightUnderConcurrency) {
  FakeClock clock;
  constexpr int kThreads = 8;
  std::atomic<int> fetches{0};
  TokenCache* cache_ptr = nullptr;
  TokenCache cache(
      [&]() -> absl::StatusOr<AccessToken> {
        ++fetches;
        // Hold the fetch until every other caller is blocked on it.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (cache_ptr->waiting() < kThreads - 1 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::yield();
        }
        return AccessToken{"tok", clock.Now() + absl::Hours(2)};
      },
      clock, absl::Minutes(10));
  cache_ptr = &cache;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<AccessToken> t = cache.Get();
      if (t.ok() && t->token == "tok") ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fetches.load(), 1);
  EXPECT_EQ(ok.load(), kThreads);
}

TEST(TokenCache, WaitersShareTheFailure) {
  FakeClock clock;
  constexpr int kThreads = 4;
  std::atomic<int> fetches{0};
  TokenCache* cache_ptr = nullptr;
  TokenCache cache(
      [&]() -> absl::StatusOr<AccessToken> {
        ++fetches;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (cache_ptr->waiting() < kThreads - 1 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::yield();
        }
        return MakeError(ApiError::kAuth, "bad secret");
      },
      clock, absl::Minutes(10));
  cache_ptr = &cache;
  std::vector<std::thread> threads;
  std::atomic<int> auth_errors{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      if (ReasonOf(cache.Get().status()) == ApiError::kAuth) ++auth_errors;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fetches.load(), 1);
  EXPECT_EQ(auth_errors.load(), kThreads);
}

}  // namespace
}  // namespace sase::dingtalk

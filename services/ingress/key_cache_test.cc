#include "ingress/key_cache.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"

namespace sase::ingress {
namespace {

using common::testing::FakeClock;

constexpr char kIdp[] = "0f8b7c1e-2a3b-4c5d-8e9f-001122334455";

SourceKeys Keys() {
  SourceKeys k;
  k.tenant_id = "t";
  k.keys = {"tok", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", "dingapp", "dingcorp", false};
  return k;
}

// A flood of pushes with bad signatures (each asking for a refresh) refetches the keys at most
// once per min_refresh_age.
TEST(IngressKeyCacheTest, BadSignatureFloodRefreshesAtMostOncePerMinRefreshAge) {
  FakeClock clock;
  std::atomic<int> fetches{0};
  KeyCache cache(
      [&](const std::string&) -> absl::StatusOr<SourceKeys> {
        ++fetches;
        return Keys();
      },
      clock, {.ttl = absl::Hours(1), .min_refresh_age = absl::Seconds(2)});
  ASSERT_TRUE(cache.Get(kIdp).ok());
  ASSERT_EQ(fetches.load(), 1);
  auto flood = [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) ASSERT_TRUE(cache.Get(kIdp, /*refresh=*/true).ok());
      });
    }
    for (auto& t : threads) t.join();
  };
  flood();  // entry younger than min_refresh_age: no refresh
  EXPECT_EQ(fetches.load(), 1);
  clock.Advance(absl::Seconds(2));
  flood();
  EXPECT_EQ(fetches.load(), 2);
  clock.Advance(absl::Seconds(1));
  flood();
  EXPECT_EQ(fetches.load(), 2);
  clock.Advance(absl::Seconds(1));
  flood();
  EXPECT_EQ(fetches.load(), 3);
}

// The forced refresh counts even while it is still in flight (slow sync_worker): the others
// do not pile up behind it with their own fetches.
TEST(IngressKeyCacheTest, SlowRefreshIsNotRepeatedByConcurrentBadSignatures) {
  FakeClock clock;
  std::atomic<int> fetches{0};
  std::atomic<bool> slow{false}, release{false};
  KeyCache cache(
      [&](const std::string&) -> absl::StatusOr<SourceKeys> {
        ++fetches;
        while (slow.load() && !release.load()) std::this_thread::yield();
        return Keys();
      },
      clock, {.ttl = absl::Hours(1), .min_refresh_age = absl::Seconds(2)});
  auto first = cache.Get(kIdp);
  ASSERT_TRUE(first.ok());
  slow = true;
  clock.Advance(absl::Seconds(3));
  std::thread refresher([&] { ASSERT_TRUE(cache.Get(kIdp, true).ok()); });
  while (fetches.load() < 2) std::this_thread::yield();
  // Meanwhile more bad signatures: all answered from the cached entry at once.
  for (int i = 0; i < 32; ++i) {
    auto k = cache.Get(kIdp, true);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(*k, *first);
  }
  EXPECT_EQ(fetches.load(), 2);
  release = true;
  refresher.join();
}

// An expired entry is refetched by one caller while the others keep using it.
TEST(IngressKeyCacheTest, ExpiredEntryIsRefetchedOnce) {
  FakeClock clock;
  std::atomic<int> fetches{0};
  std::atomic<bool> slow{false};
  std::atomic<bool> release{false};
  KeyCache cache(
      [&](const std::string&) -> absl::StatusOr<SourceKeys> {
        ++fetches;
        while (slow.load() && !release.load()) std::this_thread::yield();
        return Keys();
      },
      clock, {.ttl = absl::Seconds(60)});
  ASSERT_TRUE(cache.Get(kIdp).ok());
  clock.Advance(absl::Seconds(61));
  slow = true;
  std::thread refetcher([&] { ASSERT_TRUE(cache.Get(kIdp).ok()); });
  while (fetches.load() < 2) std::this_thread::yield();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(cache.Get(kIdp).ok());
  EXPECT_EQ(fetches.load(), 2);
  release = true;
  refetcher.join();
  ASSERT_TRUE(cache.Get(kIdp).ok());
  EXPECT_EQ(fetches.load(), 2);  // the refetched entry is fresh
}

// TryGet answers only what needs no fetch, and asking changes nothing: a later Get still does the
// fetch (or the forced refresh) that TryGet declined.
TEST(IngressKeyCacheTest, TryGetNeverFetchesAndLeavesTheDecisionToGet) {
  FakeClock clock;
  std::atomic<int> fetches{0};
  KeyCache cache(
      [&](const std::string& idp) -> absl::StatusOr<SourceKeys> {
        ++fetches;
        if (idp != kIdp) return absl::NotFoundError("no such source");
        return Keys();
      },
      clock, {.ttl = absl::Seconds(60), .min_refresh_age = absl::Seconds(2)});
  EXPECT_FALSE(cache.TryGet(kIdp).has_value());  // miss
  EXPECT_EQ(fetches.load(), 0);
  ASSERT_TRUE(cache.Get(kIdp).ok());
  auto hit = cache.TryGet(kIdp);
  ASSERT_TRUE(hit.has_value());
  ASSERT_TRUE(hit->ok());
  EXPECT_EQ(**hit, *cache.Get(kIdp));
  // A refresh is not due yet: the cached entry.
  EXPECT_TRUE(cache.TryGet(kIdp, /*refresh=*/true).has_value());
  clock.Advance(absl::Seconds(2));
  // Due now: TryGet declines, twice, without claiming the refresh ...
  EXPECT_FALSE(cache.TryGet(kIdp, /*refresh=*/true).has_value());
  EXPECT_FALSE(cache.TryGet(kIdp, /*refresh=*/true).has_value());
  EXPECT_EQ(fetches.load(), 1);
  // ... so Get performs it, and only once.
  ASSERT_TRUE(cache.Get(kIdp, /*refresh=*/true).ok());
  ASSERT_TRUE(cache.Get(kIdp, /*refresh=*/true).ok());
  EXPECT_EQ(fetches.load(), 2);
  EXPECT_TRUE(cache.TryGet(kIdp, /*refresh=*/true).has_value());
  // Expired entry: a fetch is needed.
  clock.Advance(absl::Seconds(61));
  EXPECT_FALSE(cache.TryGet(kIdp).has_value());
  // Unknown source: the negative entry is answered without a fetch.
  const std::string other = "11111111-2222-3333-4444-555555555555";
  EXPECT_FALSE(cache.TryGet(other).has_value());
  EXPECT_TRUE(absl::IsNotFound(cache.Get(other).status()));
  auto negative = cache.TryGet(other);
  ASSERT_TRUE(negative.has_value());
  EXPECT_TRUE(absl::IsNotFound(negative->status()));
}

}  // namespace
}  // namespace sase::ingress

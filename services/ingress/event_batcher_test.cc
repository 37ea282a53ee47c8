#include "ingress/event_batcher.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <algorithm>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::ingress {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Le;

constexpr char kIdpA[] = "0f8b7c1e-2a3b-4c5d-8e9f-00112233aaaa";
constexpr char kIdpB[] = "0f8b7c1e-2a3b-4c5d-8e9f-00112233bbbb";

callback::Event MakeEvent(int i, size_t payload_bytes = 10) {
  callback::Event e;
  e.event_type = "user_modify_org";
  e.kind = callback::EventKind::kUserModifyOrg;
  e.user_ids = {absl::StrCat("u", i)};
  e.dedupe_key = absl::StrCat("evt-", i);
  e.raw_json = std::string(payload_bytes, 'x');
  return e;
}

// A SubmitEvents stand-in: records every call; the first call can be held until released so that
// the pushes arriving meanwhile queue up behind it.
struct FakeSink {
  std::mutex mu;
  std::condition_variable cv;
  bool hold_first = true;
  bool released = false;
  int calls = 0;
  int in_sink = 0, max_in_sink = 0;
  std::vector<std::vector<std::string>> batches;  // dedupe keys per call
  std::vector<std::string> idps;                   // idp per call
  std::vector<size_t> bytes;                       // EventBytes sum per call
  std::function<absl::StatusOr<BatchResult>(int call, size_t n)> answer = [](int, size_t n) {
    return BatchResult{static_cast<int>(n), 0, {}};
  };

  BatchSink Sink() {
    return [this](const std::string&, const std::string& idp,
                  const std::vector<const callback::Event*>& events) -> absl::StatusOr<BatchResult> {
      std::unique_lock<std::mutex> lock(mu);
      int call = calls++;
      std::vector<std::string> keys;
      size_t b = 0;
      for (const callback::Event* e : events) {
        keys.push_back(e->dedupe_key);
        b += EventBatcher::EventBytes(*e);
      }
      batches.push_back(keys);
      idps.push_back(idp);
      bytes.push_back(b);
      ++in_sink;
      max_in_sink = std::max(max_in_sink, in_sink);
      if (call == 0 && hold_first) cv.wait(lock, [this] { return released; });
      --in_sink;
      return answer(call, events.size());
    };
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
    cv.notify_all();
  }
  int Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

// Polls until the batcher holds `n` queued pushes (fails after ~10 s).
void WaitQueued(EventBatcher& b, size_t n) {
  for (int i = 0; i < 10000 && b.queued() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(b.queued(), n);
}

struct Outcomes {
  std::mutex mu;
  std::vector<absl::StatusOr<StoreOutcome>> results;
  void Add(absl::StatusOr<StoreOutcome> r) {
    std::lock_guard<std::mutex> lock(mu);
    results.push_back(std::move(r));
  }
};

TEST(IngressEventBatcherTest, ConcurrentPushesShareOneCall) {
  FakeSink fake;
  prometheus::Registry registry;
  EventBatcher batcher(fake.Sink(), {.max_in_flight_per_source = 1}, &registry);
  std::vector<callback::Event> events;
  for (int i = 0; i < 51; ++i) events.push_back(MakeEvent(i));
  Outcomes out;
  std::vector<std::thread> threads;
  threads.emplace_back([&] { out.Add(batcher.Submit("t", kIdpA, events[0])); });
  for (int i = 0; i < 1000 && fake.Calls() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(fake.Calls(), 1);
  for (int i = 1; i < 51; ++i) threads.emplace_back([&, i] { out.Add(batcher.Submit("t", kIdpA, events[i])); });
  WaitQueued(batcher, 50);
  EXPECT_EQ(fake.Calls(), 1);  // nothing else is sent while the first call is in flight
  fake.Release();
  for (auto& t : threads) t.join();
  ASSERT_EQ(fake.Calls(), 2);
  EXPECT_EQ(fake.batches[0].size(), 1u);
  EXPECT_EQ(fake.batches[1].size(), 50u);
  ASSERT_EQ(out.results.size(), 51u);
  for (const auto& r : out.results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, StoreOutcome::kStored);
  }
  prometheus::TextSerializer s;
  std::string metrics = s.Serialize(registry.Collect());
  EXPECT_THAT(metrics, HasSubstr("sase_ingress_batch_events_count 2"));
  EXPECT_THAT(metrics, HasSubstr("sase_ingress_batch_events_sum 51"));
}

TEST(IngressEventBatcherTest, FailureReachesEveryWaiterOfTheBatch) {
  FakeSink fake;
  fake.answer = [](int call, size_t n) -> absl::StatusOr<BatchResult> {
    if (call == 1) return absl::UnavailableError("sync_worker down");
    return BatchResult{static_cast<int>(n), 0, {}};
  };
  EventBatcher batcher(fake.Sink(), {.max_in_flight_per_source = 1});
  std::vector<callback::Event> events;
  for (int i = 0; i < 21; ++i) events.push_back(MakeEvent(i));
  Outcomes out;
  std::vector<std::thread> threads;
  absl::StatusOr<StoreOutcome> first = absl::InternalError("unset");
  threads.emplace_back([&] { first = batcher.Submit("t", kIdpA, events[0]); });
  for (int i = 0; i < 1000 && fake.Calls() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 1; i < 21; ++i) threads.emplace_back([&, i] { out.Add(batcher.Submit("t", kIdpA, events[i])); });
  WaitQueued(batcher, 20);
  fake.Release();
  for (auto& t : threads) t.join();
  ASSERT_EQ(fake.Calls(), 2);
  EXPECT_TRUE(first.ok());
  ASSERT_EQ(out.results.size(), 20u);
  for (const auto& r : out.results) EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  // The batcher recovers: the next push is sent on its own and succeeds.
  EXPECT_TRUE(batcher.Submit("t", kIdpA, MakeEvent(99)).ok());
}

TEST(IngressEventBatcherTest, BatchesRespectTheEventCap) {
  FakeSink fake;
  EventBatcher batcher(fake.Sink(), {.max_batch_events = 8, .max_in_flight_per_source = 1});
  std::vector<callback::Event> events;
  for (int i = 0; i < 31; ++i) events.push_back(MakeEvent(i));
  std::vector<std::thread> threads;
  threads.emplace_back([&] { ASSERT_TRUE(batcher.Submit("t", kIdpA, events[0]).ok()); });
  for (int i = 0; i < 1000 && fake.Calls() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 1; i < 31; ++i) threads.emplace_back([&, i] { ASSERT_TRUE(batcher.Submit("t", kIdpA, events[i]).ok()); });
  WaitQueued(batcher, 30);
  fake.Release();
  for (auto& t : threads) t.join();
  std::vector<size_t> sizes;
  std::set<std::string> keys;
  for (const auto& b : fake.batches) {
    sizes.push_back(b.size());
    keys.insert(b.begin(), b.end());
  }
  EXPECT_THAT(sizes, Each(Le(8u)));
  EXPECT_EQ(keys.size(), 31u);  // every push sent exactly once
  EXPECT_EQ(fake.batches.size(), 5u);  // 1 + ceil(30 / 8)
}

TEST(IngressEventBatcherTest, BatchesRespectTheByteCap) {
  FakeSink fake;
  size_t one = EventBatcher::EventBytes(MakeEvent(1, 1000));
  EventBatcher batcher(fake.Sink(), {.max_batch_bytes = 3 * one + one / 2, .max_in_flight_per_source = 1});
  std::vector<callback::Event> events;
  for (int i = 0; i < 13; ++i) events.push_back(MakeEvent(i, 1000));
  events.push_back(MakeEvent(13, 10 * one));  // larger than the cap on its own: goes alone
  std::vector<std::thread> threads;
  threads.emplace_back([&] { ASSERT_TRUE(batcher.Submit("t", kIdpA, events[0]).ok()); });
  for (int i = 0; i < 1000 && fake.Calls() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (size_t i = 1; i < events.size(); ++i) {
    threads.emplace_back([&, i] { ASSERT_TRUE(batcher.Submit("t", kIdpA, events[i]).ok()); });
  }
  WaitQueued(batcher, events.size() - 1);
  fake.Release();
  for (auto& t : threads) t.join();
  size_t total = 0;
  for (size_t i = 0; i < fake.batches.size(); ++i) {
    total += fake.batches[i].size();
    if (fake.batches[i].size() > 1) {
      EXPECT_LE(fake.bytes[i], 3 * one + one / 2);
    }
    if (std::find(fake.batches[i].begin(), fake.batches[i].end(), "evt-13") != fake.batches[i].end()) {
      EXPECT_EQ(fake.batches[i].size(), 1u);
    }
  }
  EXPECT_EQ(total, events.size());
  EXPECT_GE(fake.batches.size(), 1u + 12u / 3u + 1u);
}

TEST(IngressEventBatcherTest, SourcesAreNeverMixedAndCallsOverlapUpToTheLimit) {
  FakeSink fake;
  fake.hold_first = false;
  std::atomic<bool> go{false};
  EventBatcher batcher(fake.Sink(), {.max_in_flight_per_source = 2});
  std::vector<callback::Event> events;
  for (int i = 0; i < 200; ++i) events.push_back(MakeEvent(i));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = t; i < 200; i += 8) {
        ASSERT_TRUE(batcher.Submit("t", i % 2 == 0 ? kIdpA : kIdpB, events[static_cast<size_t>(i)]).ok());
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  size_t total = 0;
  for (size_t c = 0; c < fake.batches.size(); ++c) {
    total += fake.batches[c].size();
    for (const std::string& k : fake.batches[c]) {
      int i = std::stoi(k.substr(4));
      EXPECT_EQ(fake.idps[c], i % 2 == 0 ? kIdpA : kIdpB) << k;
    }
  }
  EXPECT_EQ(total, 200u);
  EXPECT_LE(fake.max_in_sink, 4);  // two sources, two calls each at most
  EXPECT_EQ(batcher.queued(), 0u);
}

TEST(IngressEventBatcherTest, AlonePushGoesAtOnceAndOutcomeFollowsCounts) {
  FakeSink fake;
  fake.hold_first = false;
  fake.answer = [](int call, size_t n) -> absl::StatusOr<BatchResult> {
    if (call == 0) return BatchResult{static_cast<int>(n), 0, {}};
    if (call == 1) return BatchResult{0, static_cast<int>(n), {}};
    return BatchResult{1, 1, {}};  // counts only: the push's own fate is unknown
  };
  EventBatcher batcher(fake.Sink(), {});
  callback::Event e = MakeEvent(1);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(*batcher.Submit("t", kIdpA, e), StoreOutcome::kStored);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));  // no linger timer
  EXPECT_EQ(*batcher.Submit("t", kIdpA, e), StoreOutcome::kDuplicate);
  EXPECT_EQ(*batcher.Submit("t", kIdpA, e), StoreOutcome::kStoredOrDuplicate);
  EXPECT_EQ(fake.Calls(), 3);
}

// The production shape: the sink returns at once and reports later from another thread (gRPC's
// callback API). Submitters are not blocked, calls overlap up to the limit, answers may come back
// out of order, and every push gets its own call's outcome.
TEST(IngressEventBatcherTest, AsyncSinkCompletesLaterAndOutOfOrder) {
  struct PendingCall {
    size_t n;
    BatchDone done;
  };
  std::mutex mu;
  std::vector<PendingCall> calls;
  EventBatcher batcher(
      [&](const std::string&, const std::string&, const std::vector<const callback::Event*>& events, BatchDone done) {
        std::lock_guard<std::mutex> lock(mu);
        calls.push_back({events.size(), std::move(done)});
      },
      EventBatcher::Options{.max_in_flight_per_source = 2});
  std::mutex out_mu;
  std::vector<std::pair<int, absl::StatusOr<StoreOutcome>>> outcomes;
  for (int i = 0; i < 10; ++i) {
    batcher.SubmitAsync("t", kIdpA, MakeEvent(i), [&, i](absl::StatusOr<StoreOutcome> r) {
      std::lock_guard<std::mutex> lock(out_mu);
      outcomes.emplace_back(i, std::move(r));
    });
  }
  // Pushes 0 and 1 went out alone (two calls in flight); 2..9 wait for a free slot.
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].n, 1u);
    EXPECT_EQ(calls[1].n, 1u);
  }
  EXPECT_EQ(batcher.queued(), 8u);
  // The second call fails first, from another thread; its slot carries the 8 waiting pushes.
  BatchDone second;
  {
    std::lock_guard<std::mutex> lock(mu);
    second = std::move(calls[1].done);
  }
  std::thread([&] { second(absl::UnavailableError("sync_worker down")); }).join();
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[2].n, 8u);
  }
  EXPECT_EQ(batcher.queued(), 0u);
  BatchDone first, third;
  {
    std::lock_guard<std::mutex> lock(mu);
    first = std::move(calls[0].done);
    third = std::move(calls[2].done);
  }
  // Per-event results: push 5 (the fourth of the call) was a duplicate.
  std::thread([&] { third(BatchResult{7, 1, {false, false, false, true, false, false, false, false}}); }).join();
  std::thread([&] { first(BatchResult{1, 0, {}}); }).join();
  std::lock_guard<std::mutex> lock(out_mu);
  ASSERT_EQ(outcomes.size(), 10u);
  for (const auto& [i, r] : outcomes) {
    if (i == 1) {
      EXPECT_TRUE(absl::IsUnavailable(r.status())) << i;
    } else if (i == 5) {
      EXPECT_EQ(*r, StoreOutcome::kDuplicate);
    } else {
      EXPECT_EQ(*r, StoreOutcome::kStored) << i;
    }
  }
}

}  // namespace
}  // namespace sase::ingress

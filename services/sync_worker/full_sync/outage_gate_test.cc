#include "sync_worker/full_sync/outage_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

#include "absl/status/statusor.h"
#include "common/testing/fake_clock.h"
#include "dingtalk/error.h"

namespace sase::sync_worker {
namespace {

using common::testing::FakeClock;
using dingtalk::ApiError;
using dingtalk::MakeError;

absl::Status IpBan() { return MakeError(ApiError::kUnreachable, "DingTalk answered with the IP-ban page", "ip_ban"); }
absl::Status BadGateway() { return MakeError(ApiError::kUnreachable, "HTTP 502", "http_502"); }

// A call that fails `failures` times with `error`, then answers 7.
struct Flaky {
  int failures;
  absl::Status error;
  int calls = 0;
  absl::StatusOr<int> operator()() {
    ++calls;
    if (calls <= failures) return error;
    return 7;
  }
};

TEST(OutageGateTest, TheIpBanIsWaitedOutForAtLeastFiveMinutesThenTheCallIsRepeated) {
  FakeClock clock;
  std::vector<std::pair<std::string, absl::Time>> paused;
  std::vector<absl::Duration> resumed;
  const absl::Time start = clock.Now();
  OutageGate gate(clock, OutagePolicy{},
                  {[&](const std::string& r, absl::Time until) { paused.emplace_back(r, until); },
                   [&](absl::Duration d) { resumed.push_back(d); }});
  std::atomic<bool> cancel{false};
  Flaky f{2, IpBan()};
  absl::StatusOr<int> r = gate.Call(cancel, [&] { return f(); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(f.calls, 3);
  EXPECT_GE(clock.Now() - start, absl::Minutes(10)) << "two bans, five minutes each";
  ASSERT_EQ(paused.size(), 1u) << "one outage, logged once";
  EXPECT_EQ(paused[0].first, "ip_ban");
  EXPECT_EQ(paused[0].second, start + absl::Minutes(5));
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0], absl::Minutes(10));
  EXPECT_FALSE(gate.Current().has_value()) << "open again after a success";
}

TEST(OutageGateTest, GatewayErrorsBackOffExponentiallyCappedAndTheBudgetBoundsTheRun) {
  FakeClock clock;
  OutagePolicy p;
  p.first_wait = absl::Seconds(5);
  p.max_wait = absl::Seconds(60);
  p.budget = absl::Minutes(5);
  OutageGate gate(clock, p);
  std::atomic<bool> cancel{false};
  const absl::Time start = clock.Now();
  Flaky f{1000, BadGateway()};
  absl::StatusOr<int> r = gate.Call(cancel, [&] { return f(); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(dingtalk::ReasonOf(r.status()), ApiError::kUnreachable) << "the call's own error, not a new one";
  // 5 + 10 + 20 + 40 + 60 + 60 + 60 = 255 s; one more 60 s pause would exceed 300 s.
  EXPECT_EQ(gate.paused(), absl::Seconds(255));
  EXPECT_EQ(clock.Now() - start, absl::Seconds(255));
  EXPECT_EQ(f.calls, 8);
}

TEST(OutageGateTest, ErrorsThatWaitingCannotFixReturnAtOnce) {
  FakeClock clock;
  OutageGate gate(clock, OutagePolicy{});
  std::atomic<bool> cancel{false};
  for (const absl::Status& e : {MakeError(ApiError::kPermissionDenied, "no", "60011", "qyapi_get_member"),
                                MakeError(ApiError::kAuth, "bad secret"), absl::InternalError("database")}) {
    Flaky f{1, e};
    absl::StatusOr<int> r = gate.Call(cancel, [&] { return f(); });
    EXPECT_EQ(r.status(), e);
    EXPECT_EQ(f.calls, 1);
  }
  EXPECT_TRUE(clock.Sleeps().empty());
  EXPECT_EQ(OutageGate::PauseReason(MakeError(ApiError::kThrottled, "slow", "90018")), "throttled");
  EXPECT_EQ(OutageGate::PauseReason(BadGateway()), "unreachable");
  EXPECT_EQ(OutageGate::PauseReason(IpBan()), "ip_ban");
  EXPECT_EQ(OutageGate::PauseReason(absl::OkStatus()), "");
}

TEST(OutageGateTest, CancellingStopsTheWaitAndReturnsTheLastError) {
  FakeClock clock;
  OutageGate gate(clock, OutagePolicy{});
  std::atomic<bool> cancel{false};
  int calls = 0;
  absl::Status r = gate.Call(cancel, [&] {
    if (++calls == 2) cancel = true;  // the run is cancelled during the outage
    return IpBan();
  });
  EXPECT_EQ(r, IpBan());
  EXPECT_EQ(calls, 2);
}

TEST(OutageGateTest, WhileClosedOtherCallsWaitForTheSamePauseWithoutSpendingMoreBudget) {
  FakeClock clock;
  std::optional<OutageGate::Waiting> seen;
  OutageGate* gate_ptr = nullptr;
  OutageGate gate(clock, OutagePolicy{}, {[&](const std::string&, absl::Time) { seen = gate_ptr->Current(); }, {}});
  gate_ptr = &gate;
  std::atomic<bool> cancel{false};
  const absl::Time start = clock.Now();
  Flaky f{1, IpBan()};
  ASSERT_TRUE(gate.Call(cancel, [&] { return f(); }).ok());
  ASSERT_TRUE(seen.has_value()) << "Current() names the pause while the gate is closed";
  EXPECT_EQ(seen->reason, "ip_ban");
  EXPECT_EQ(seen->until, start + absl::Minutes(5));
  // A second outage after a success starts the back-off afresh.
  Flaky g{1, BadGateway()};
  const absl::Time before = clock.Now();
  ASSERT_TRUE(gate.Call(cancel, [&] { return g(); }).ok());
  EXPECT_EQ(clock.Now() - before, absl::Seconds(5));
  EXPECT_EQ(gate.paused(), absl::Minutes(5) + absl::Seconds(5));
}

}  // namespace
}  // namespace sase::sync_worker

// The relay's own limits, on a fake clock (no sleeps): the token bucket, the 20-per-minute bound
// over any window, the monthly budget in China Standard Time months, and the pause.
#include "alert_relay/send_budget.h"

#include <deque>
#include <utility>
#include <vector>

#include "common/testing/fake_clock.h"
#include "gtest/gtest.h"

namespace sase::alert_relay {
namespace {

using common::testing::FakeClock;

TEST(SendBudget, BurstThenTheRefillRate) {
  FakeClock clock;
  SendBudget budget({.per_minute = 8, .burst = 10, .monthly_budget = 0}, clock);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(budget.Admit(), Admission::kAdmitted) << i;
  EXPECT_EQ(budget.Admit(), Admission::kRateLimited);
  clock.Advance(absl::Seconds(7));  // 8 per minute: one token every 7.5 s
  EXPECT_EQ(budget.Admit(), Admission::kRateLimited);
  clock.Advance(absl::Milliseconds(500));
  EXPECT_EQ(budget.Admit(), Admission::kAdmitted);
  EXPECT_EQ(budget.Admit(), Admission::kRateLimited);
  // Idle for long: the bucket holds at most the burst.
  clock.Advance(absl::Hours(1));
  int admitted = 0;
  while (budget.Admit() == Admission::kAdmitted) ++admitted;
  EXPECT_EQ(admitted, 10);
}

// Whatever the arrival pattern, no 60 s window sees more than burst + per_minute admissions, which
// the config keeps at or below DingTalk's 20.
TEST(SendBudget, NoMinuteEverSeesMoreThanTwenty) {
  const std::vector<std::pair<double, double>> settings = {{8, 10}, {10, 10}, {19, 1}, {1, 19}};
  for (auto [per_minute, burst] : settings) {
    FakeClock clock;
    SendBudget budget({.per_minute = per_minute, .burst = burst, .monthly_budget = 0}, clock);
    std::deque<absl::Time> admitted;
    int total = 0;
    size_t worst = 0;
    // Ten minutes of a request every 250 ms, with a quiet minute in the middle to refill the bucket.
    for (int step = 0; step < 4 * 600; ++step) {
      clock.Advance(absl::Milliseconds(250));
      if (step >= 4 * 240 && step < 4 * 300) continue;
      if (budget.Admit() != Admission::kAdmitted) continue;
      ++total;
      admitted.push_back(clock.Now());
      while (admitted.front() <= clock.Now() - absl::Seconds(60)) admitted.pop_front();
      worst = std::max(worst, admitted.size());
    }
    EXPECT_LE(worst, static_cast<size_t>(burst + per_minute)) << per_minute << "/" << burst;
    EXPECT_LE(worst, 20u);
    EXPECT_GE(worst, static_cast<size_t>(burst));  // the burst really is let out at once
    EXPECT_GE(total, static_cast<int>(8 * per_minute));  // and the rate really is sustained (9 busy minutes)
  }
}

TEST(SendBudget, MonthlyBudgetResetsAtMidnightChinaTime) {
  // 2024-01-31 23:59:00 in Beijing is 15:59:00 UTC.
  FakeClock clock(absl::FromCivil(absl::CivilSecond(2024, 1, 31, 15, 59, 0), absl::UTCTimeZone()));
  SendBudget budget({.per_minute = 20, .burst = 3, .monthly_budget = 3}, clock);
  EXPECT_EQ(budget.remaining_this_month(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(budget.Admit(), Admission::kAdmitted);
  EXPECT_EQ(budget.used_this_month(), 3);
  EXPECT_EQ(budget.remaining_this_month(), 0);
  clock.Advance(absl::Seconds(30));  // tokens are back, the budget is not
  EXPECT_EQ(budget.Admit(), Admission::kMonthlyBudget);
  clock.Advance(absl::Seconds(29));  // 23:59:59 Beijing: still January
  EXPECT_EQ(budget.Admit(), Admission::kMonthlyBudget);
  clock.Advance(absl::Seconds(1));  // 00:00:00 on 1 February in Beijing (still 31 January in UTC)
  EXPECT_EQ(budget.Admit(), Admission::kAdmitted);
  EXPECT_EQ(budget.used_this_month(), 1);
  EXPECT_EQ(budget.remaining_this_month(), 2);
}

TEST(SendBudget, ABudgetRefusalTakesNoToken) {
  FakeClock clock;
  SendBudget budget({.per_minute = 1, .burst = 2, .monthly_budget = 1}, clock);
  EXPECT_EQ(budget.Admit(), Admission::kAdmitted);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(budget.Admit(), Admission::kMonthlyBudget);
  EXPECT_EQ(budget.used_this_month(), 1);
}

TEST(SendBudget, ZeroMeansNoMonthlyBudget) {
  FakeClock clock;
  SendBudget budget({.per_minute = 20, .burst = 1, .monthly_budget = 0}, clock);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(budget.Admit(), Admission::kAdmitted);
    clock.Advance(absl::Seconds(3));
  }
  EXPECT_EQ(budget.remaining_this_month(), -1);
}

TEST(SendBudget, PauseHoldsEverythingUntilItEnds) {
  FakeClock clock;
  SendBudget budget({.per_minute = 8, .burst = 10, .monthly_budget = 0}, clock);
  budget.PauseFor(absl::Minutes(10));
  EXPECT_EQ(budget.Admit(), Admission::kPaused);
  budget.PauseFor(absl::Minutes(1));  // a shorter pause does not cut the longer one
  clock.Advance(absl::Minutes(9));
  EXPECT_EQ(budget.Admit(), Admission::kPaused);
  clock.Advance(absl::Minutes(1));
  EXPECT_EQ(budget.Admit(), Admission::kAdmitted);
}

}  // namespace
}  // namespace sase::alert_relay

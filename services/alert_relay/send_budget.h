#pragma once
// What the relay may still send to its one robot. DingTalk allows a custom robot 20 messages per
// minute (beyond that it refuses with 410100 and mutes the robot for 10 minutes) and, since 2024,
// a free quota of 5,000 calls a month. The relay never relies on DingTalk to say no:
//
//  - a token bucket (dingtalk::RateLimiter): `burst` messages at once, then `per_minute`; any 60 s
//    window admits at most burst + per_minute, which config keeps <= 20;
//  - a monthly budget: at most `monthly_budget` admissions per calendar month in China Standard
//    Time (UTC+8, where DingTalk's quota resets), 0 = no budget. Counted in memory: a restart
//    starts the month's count at zero again;
//  - a pause after DingTalk said "too fast" (PauseFor), so the relay does not extend the mute.
//
// Admit() never waits: a notification that cannot go now is dropped by the caller. Thread-safe;
// time comes from the injected clock.

#include <cstdint>
#include <mutex>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "dingtalk/rate_limiter.h"

namespace sase::alert_relay {

enum class Admission {
  kAdmitted,
  kRateLimited,    // the token bucket is empty
  kMonthlyBudget,  // this month's budget is spent
  kPaused,         // DingTalk said "too fast" recently
};

class SendBudget {
 public:
  struct Options {
    double per_minute = 8;
    double burst = 10;
    int64_t monthly_budget = 5000;  // 0: unlimited
  };

  SendBudget(Options options, common::Clock& clock);

  Admission Admit();
  // No admission until now + d (a longer pause already in place stays).
  void PauseFor(absl::Duration d);

  // Admissions so far in the current month, and what is left of the budget (-1: unlimited).
  int64_t used_this_month();
  int64_t remaining_this_month();

 private:
  void RollMonth(absl::Time now);  // mu_ held

  const Options options_;
  common::Clock& clock_;
  dingtalk::RateLimiter bucket_;
  std::mutex mu_;
  absl::CivilMonth month_;
  int64_t used_ = 0;
  absl::Time paused_until_ = absl::InfinitePast();
};

}  // namespace sase::alert_relay

#include "alert_relay/send_budget.h"

#include <algorithm>

namespace sase::alert_relay {
namespace {

constexpr char kBucket[] = "robot";
constexpr char kApi[] = "robot/send";

dingtalk::RateLimitConfig BucketConfig(const SendBudget::Options& o) {
  dingtalk::RateLimitConfig c;
  c.qps_per_api = o.per_minute / 60.0;
  c.burst = o.burst;
  c.interactive_reserve = 0;
  c.process_qps = 0;  // one bucket only
  return c;
}

// DingTalk's quota month: China Standard Time has no daylight saving, so a fixed offset is exact
// and needs no tz database in the image.
absl::CivilMonth MonthOf(absl::Time t) {
  static const absl::TimeZone kChina = absl::FixedTimeZone(8 * 60 * 60);
  return absl::CivilMonth(absl::ToCivilSecond(t, kChina));
}

}  // namespace

SendBudget::SendBudget(Options options, common::Clock& clock)
    : options_(options), clock_(clock), bucket_(BucketConfig(options), clock), month_(MonthOf(clock.Now())) {}

void SendBudget::RollMonth(absl::Time now) {
  const absl::CivilMonth m = MonthOf(now);
  if (m != month_) {
    month_ = m;
    used_ = 0;
  }
}

Admission SendBudget::Admit() {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (now < paused_until_) return Admission::kPaused;
  RollMonth(now);
  if (options_.monthly_budget > 0 && used_ >= options_.monthly_budget) return Admission::kMonthlyBudget;
  if (bucket_.TryAcquire(kBucket, kApi, dingtalk::Priority::kBulk) > absl::ZeroDuration()) {
    return Admission::kRateLimited;
  }
  ++used_;
  return Admission::kAdmitted;
}

void SendBudget::PauseFor(absl::Duration d) {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  paused_until_ = std::max(paused_until_, now + d);
}

int64_t SendBudget::used_this_month() {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  RollMonth(now);
  return used_;
}

int64_t SendBudget::remaining_this_month() {
  if (options_.monthly_budget <= 0) return -1;
  return std::max<int64_t>(0, options_.monthly_budget - used_this_month());
}

}  // namespace sase::alert_relay

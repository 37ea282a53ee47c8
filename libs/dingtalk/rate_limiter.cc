#include "dingtalk/rate_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sase::dingtalk {
RateLimiter::RateLimiter(RateLimitConfig config, common::Clock& clock) : config_(std::move(config)), clock_(clock) {
  process_.rate = config_.process_qps;
  process_.capacity = std::max(1.0, config_.burst) + std::max(0.0, config_.interactive_reserve);
  process_.tokens = process_.capacity;
  process_.last = clock_.Now();
}

void RateLimiter::Refill(Bucket& b, absl::Time now) const {
  if (now > b.last) {
    b.tokens = std::min(b.capacity, b.tokens + absl::ToDoubleSeconds(now - b.last) * b.rate);
    b.last = now;
  }
}

absl::Duration RateLimiter::WaitFor(const Bucket& b, Priority priority, absl::Time now) const {
  if (b.rate <= 0) return absl::ZeroDuration();  // unlimited
  absl::Duration paused = b.paused_until > now ? b.paused_until - now : absl::ZeroDuration();
  double need = 1.0;
  if (priority == Priority::kBulk) need += std::max(0.0, config_.interactive_reserve);
  if (b.tokens + 1e-9 >= need) return paused;
  absl::Duration refill = absl::Seconds((need - b.tokens) / b.rate);
  return std::max(paused, std::max(refill, absl::Microseconds(1)));
}

RateLimiter::Bucket& RateLimiter::BucketFor(const std::string& app, const std::string& api, absl::Time now) {
  std::string key = absl::StrCat(app, "\x1f", api);
  auto it = buckets_.find(key);
  if (it != buckets_.end()) return it->second;
  Bucket b;
  auto q = config_.api_qps.find(api);
  b.rate = q != config_.api_qps.end() ? q->second : config_.qps_per_api;
  b.capacity = std::max(1.0, config_.burst) + std::max(0.0, config_.interactive_reserve);
  b.tokens = b.capacity;
  b.last = now;
  return buckets_.emplace(std::move(key), b).first->second;
}

absl::Duration RateLimiter::TryAcquire(const std::string& app, const std::string& api, Priority priority) {
  absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = BucketFor(app, api, now);
  Refill(b, now);
  Refill(process_, now);
  absl::Duration wait = WaitFor(b, priority, now);
  if (config_.process_qps > 0) wait = std::max(wait, WaitFor(process_, priority, now));
  if (wait > absl::ZeroDuration()) return wait;
  if (b.rate > 0) b.tokens -= 1;
  if (config_.process_qps > 0) process_.tokens -= 1;
  ++granted_;
  return absl::ZeroDuration();
}

absl::Duration RateLimiter::Acquire(const std::string& app, const std::string& api, Priority priority) {
  absl::Duration waited = absl::ZeroDuration();
  for (;;) {
    absl::Duration wait = TryAcquire(app, api, priority);
    if (wait <= absl::ZeroDuration()) return waited;
    clock_.SleepFor(wait);
    waited += wait;
  }
}

void RateLimiter::Pause(const std::string& app, const std::string& api, absl::Duration d) {
  absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = BucketFor(app, api, now);
  b.paused_until = std::max(b.paused_until, now + d);
}

int64_t RateLimiter::granted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return granted_;
}

}  // namespace sase::dingtalk

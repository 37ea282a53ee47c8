#pragma once
// Client-side rate limiting: a token bucket per (app, API) plus one process-wide bucket.
//
// Two lanes share each bucket. Bulk calls (full sync) may only take a token while at least
// `interactive_reserve` tokens stay behind; interactive calls (logon, connectivity test) may take
// the reserve. So a saturated bulk sync keeps the bucket at the reserve level and an interactive
// call finds a token at once instead of queueing behind the bulk callers. The long-run rate of
// both lanes together never exceeds the configured QPS; any window of T seconds admits at most
// qps*T + burst + interactive_reserve calls.
//
// Thread-safe. One instance per process (shared by every HttpClient) makes `process_qps` a
// per-process cap; DingTalk bans an egress IP above 10 000 calls per 20 s.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"

namespace sase::dingtalk {

enum class Priority {
  kBulk,         // sync traffic: paced, yields to interactive calls
  kInteractive,  // logon and connectivity tests: may use the reserved tokens
};

struct RateLimitConfig {
  double qps_per_api = 20;                // DingTalk standard edition: 20 QPS per app per API
  std::map<std::string, double> api_qps;  // per-API overrides, keyed by the API's metric name
  double burst = 1;                       // tokens the bulk lane may accumulate
  double interactive_reserve = 1;         // tokens kept for the interactive lane
  double process_qps = 400;               // all apps and APIs together; <= 0 disables the cap
};

class RateLimiter {
 public:
  RateLimiter(RateLimitConfig config, common::Clock& clock);

  // Blocks (through the clock) until the call may go; returns the time spent waiting.
  absl::Duration Acquire(const std::string& app, const std::string& api, Priority priority);

  // Takes a token and returns zero, or takes nothing and returns how long to wait before retrying.
  absl::Duration TryAcquire(const std::string& app, const std::string& api, Priority priority);

  // After DingTalk throttled (app, api): no token is granted for it until now + d.
  void Pause(const std::string& app, const std::string& api, absl::Duration d);

  int64_t granted() const;  // tokens granted so far (both lanes)

  const RateLimitConfig& config() const { return config_; }

 private:
  struct Bucket {
    double rate = 0;      // tokens per second
    double capacity = 0;  // burst + reserve
    double tokens = 0;
    absl::Time last;
    absl::Time paused_until = absl::InfinitePast();
  };
  void Refill(Bucket& b, absl::Time now) const;
  // Zero if `b` can grant to `priority` now, else the wait.
  absl::Duration WaitFor(const Bucket& b, Priority priority, absl::Time now) const;
  Bucket& BucketFor(const std::string& app, const std::string& api, absl::Time now);

  const RateLimitConfig config_;
  common::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  Bucket process_;
  int64_t granted_ = 0;
};

}  // namespace sase::dingtalk

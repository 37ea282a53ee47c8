#pragma once
// Time source for token expiry, rate limiting and back-off; tests inject testing::FakeClock.

#include "absl/time/time.h"

namespace sase::dingtalk {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  virtual void SleepFor(absl::Duration d) = 0;
};

// The real clock (absl::Now / absl::SleepFor); a process-wide instance.
Clock& SystemClock();

}  // namespace sase::dingtalk

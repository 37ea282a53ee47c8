#pragma once
// The one time source of the tree: token expiry, rate limiting, back-off, circuit breakers,
// lease heartbeats and run timing. Each main.cc passes SystemClock() down; tests inject
// common::testing::FakeClock (common/testing/fake_clock.h) where a sleep would stand in for time
// passing.

#include "absl/time/time.h"

namespace sase::common {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  virtual void SleepFor(absl::Duration d) = 0;
};

// The real clock (absl::Now / absl::SleepFor); a process-wide instance.
Clock& SystemClock();

}  // namespace sase::common

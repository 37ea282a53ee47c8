#include <gtest/gtest.h>

#include "sync_worker/events/event_processor.h"

namespace sase::sync_worker {
namespace {

TEST(EventPassWaitTest, PollIntervalAfterSuccessDoublingWhileFailingCapped) {
  EventProcessorOptions o;
  o.poll_interval = absl::Milliseconds(200);
  o.pass_backoff_max = absl::Seconds(30);
  EXPECT_EQ(EventPassWait(o, 0), absl::Milliseconds(200));
  EXPECT_EQ(EventPassWait(o, 1), absl::Milliseconds(400));
  EXPECT_EQ(EventPassWait(o, 3), absl::Milliseconds(1600));
  EXPECT_EQ(EventPassWait(o, 8), absl::Seconds(30));     // 51.2 s capped
  EXPECT_EQ(EventPassWait(o, 1000), absl::Seconds(30));  // no overflow
}

TEST(EventPassWaitTest, ACapBelowThePollIntervalNeverShortensIt) {
  EventProcessorOptions o;
  o.poll_interval = absl::Seconds(5);
  o.pass_backoff_max = absl::Seconds(1);
  EXPECT_EQ(EventPassWait(o, 0), absl::Seconds(5));
  EXPECT_EQ(EventPassWait(o, 4), absl::Seconds(5));
}

}  // namespace
}  // namespace sase::sync_worker

#include "common/timestamp.h"

#include <gtest/gtest.h>

namespace sase::common {
namespace {

google::protobuf::Timestamp FromMicros(int64_t micros) {
  google::protobuf::Timestamp t;
  SetTimestampMicros(micros, &t);
  return t;
}

TEST(TimestampTest, MicrosSplitIntoSecondsAndNanos) {
  google::protobuf::Timestamp t = FromMicros(1700000000123456);
  EXPECT_EQ(t.seconds(), 1700000000);
  EXPECT_EQ(t.nanos(), 123456000);
  EXPECT_EQ(TimestampMicros(t), 1700000000123456);
  t = FromMicros(0);
  EXPECT_EQ(t.seconds(), 0);
  EXPECT_EQ(t.nanos(), 0);
}

TEST(TimestampTest, BeforeTheEpochNanosStayNonNegative) {
  google::protobuf::Timestamp t = FromMicros(-1);
  EXPECT_EQ(t.seconds(), -1);
  EXPECT_EQ(t.nanos(), 999999000);
  EXPECT_EQ(TimestampMicros(t), -1);
  t = FromMicros(-1000000);
  EXPECT_EQ(t.seconds(), -1);
  EXPECT_EQ(t.nanos(), 0);
  // A hire date in 1969, in milliseconds as DingTalk sends it.
  SetTimestampMillis(-1500, &t);
  EXPECT_EQ(t.seconds(), -2);
  EXPECT_EQ(t.nanos(), 500000000);
  EXPECT_EQ(TimestampMicros(t), -1500000);
}

TEST(TimestampTest, FromAbslTimeAndBack) {
  google::protobuf::Timestamp t;
  SetTimestamp(absl::FromUnixMicros(-2500001), &t);
  EXPECT_EQ(t.seconds(), -3);
  EXPECT_EQ(t.nanos(), 499999000);
  EXPECT_EQ(TimestampMicros(t), -2500001);
  t.set_nanos(t.nanos() + 999);  // sub-microsecond nanos are dropped toward the past
  EXPECT_EQ(TimestampMicros(t), -2500001);
}

}  // namespace
}  // namespace sase::common

#pragma once
// google.protobuf.Timestamp from and to the integer times PostgreSQL and DingTalk give us. A
// Timestamp's nanos must lie in [0, 1e9) even before the epoch, so negative times floor the
// seconds (-1 µs is seconds -1, nanos 999999000), never truncate toward zero.

#include <cstdint>

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace sase::common {

void SetTimestampMicros(int64_t micros, google::protobuf::Timestamp* out);
void SetTimestampMillis(int64_t millis, google::protobuf::Timestamp* out);
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
// Whole microseconds since the epoch (sub-microsecond nanos dropped, toward the past).
int64_t TimestampMicros(const google::protobuf::Timestamp& t);

}  // namespace sase::common

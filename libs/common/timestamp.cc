#include "common/timestamp.h"

namespace sase::common {
namespace {

// Floors `value / per_second` into seconds and the remainder into nanos.
void SetFloored(int64_t value, int64_t per_second, google::protobuf::Timestamp* out) {
  int64_t secs = value / per_second;
  int64_t rem = value % per_second;
  if (rem < 0) {
    rem += per_second;
    --secs;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(rem * (1000000000 / per_second)));
}

}  // namespace

void SetTimestampMicros(int64_t micros, google::protobuf::Timestamp* out) { SetFloored(micros, 1000000, out); }

void SetTimestampMillis(int64_t millis, google::protobuf::Timestamp* out) { SetFloored(millis, 1000, out); }

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) { SetTimestampMicros(absl::ToUnixMicros(t), out); }

int64_t TimestampMicros(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

}  // namespace sase::common

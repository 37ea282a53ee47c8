#include "common/log.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace sase::common {
namespace {

TEST(LogTest, OneJsonObjectWithFields) {
  InitLogging("unit");
  std::string line = FormatLogLine(LogLevel::kWarn, "sync failed\n\"quoted\"",
                                   {{"reason", "unreachable"}, {"elapsed_ms", 12}, {"retry", true}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["service"], "unit");
  EXPECT_EQ(j["msg"], "sync failed\n\"quoted\"");
  EXPECT_EQ(j["reason"], "unreachable");
  EXPECT_EQ(j["elapsed_ms"], 12);
  EXPECT_EQ(j["retry"], true);
  EXPECT_TRUE(j.contains("ts"));
}

TEST(LogTest, InvalidUtf8DoesNotThrow) {
  std::string line = FormatLogLine(LogLevel::kInfo, std::string("bad \xff byte"), {});
  EXPECT_TRUE(nlohmann::json::parse(line).contains("msg"));
}

TEST(LogLimiterTest, CapsLinesPerKeyAndCountsSuppressed) {
  LogLimiter limiter(3);
  int64_t suppressed = -1;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.Allow("bad_signature", &suppressed) ? 1 : 0;
  // All ten calls may straddle a second boundary: then up to six pass.
  EXPECT_GE(allowed, 3);
  EXPECT_LE(allowed, 6);
  EXPECT_TRUE(limiter.Allow("other_key", &suppressed));
  EXPECT_EQ(suppressed, 0);
}

}  // namespace
}  // namespace sase::common

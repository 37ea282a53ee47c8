#include "common/health_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace sase::common {
namespace {

bool Eventually(const std::function<bool()>& pred) {
  for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return pred();
}

TEST(HealthWatchTest, KeepsTheLastAnswerAndReportsOnlyChanges) {
  std::atomic<bool> up{true};
  std::atomic<int> checks{0};
  std::mutex mu;
  std::vector<bool> changes;
  HealthWatch w(
      "database",
      [&] {
        ++checks;
        return up.load() ? absl::OkStatus() : absl::UnavailableError("connection refused");
      },
      absl::Milliseconds(10), [&](bool ok) {
        std::lock_guard<std::mutex> lock(mu);
        changes.push_back(ok);
      });
  EXPECT_EQ(w.status().code(), absl::StatusCode::kUnavailable) << "not checked before Start";
  w.Start();
  EXPECT_TRUE(w.status().ok()) << "Start checks once synchronously";
  ASSERT_TRUE(Eventually([&] { return checks.load() >= 5; }));
  up = false;
  ASSERT_TRUE(Eventually([&] { return !w.status().ok(); }));
  EXPECT_EQ(w.status().message(), "connection refused");
  const int at_down = checks.load();
  ASSERT_TRUE(Eventually([&] { return checks.load() >= at_down + 5; }));
  up = true;
  ASSERT_TRUE(Eventually([&] { return w.status().ok(); }));
  w.Stop();
  const int final_checks = checks.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(checks.load(), final_checks) << "no checks after Stop";
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(changes, (std::vector<bool>{true, false, true})) << "one report per change, not per check";
}

}  // namespace
}  // namespace sase::common

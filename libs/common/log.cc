#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/container/flat_hash_map.h"

#include <nlohmann/json.hpp>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sase::common {
namespace {

std::string& ServiceName() {
  static std::string name = "sase";
  return name;
}
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void InitLogging(std::string_view service) {
  ServiceName() = std::string(service);
  if (const char* lvl = std::getenv("SASE_LOG_LEVEL")) {
    std::string_view v(lvl);
    if (v == "debug") SetLogLevel(LogLevel::kDebug);
    if (v == "info") SetLogLevel(LogLevel::kInfo);
    if (v == "warn") SetLogLevel(LogLevel::kWarn);
    if (v == "error") SetLogLevel(LogLevel::kError);
  }
}

void SetLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }

std::string FormatLogLine(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  nlohmann::ordered_json j;
  j["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  j["level"] = LevelName(level);
  j["service"] = ServiceName();
  j["msg"] = std::string(msg);
  for (const LogField& f : fields) {
    std::visit([&](const auto& v) { j[f.key] = v; }, f.value);
  }
  // Replace invalid UTF-8 instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string line = FormatLogLine(level, msg, fields);
  line.push_back('\n');
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

struct LogLimiter::State {
  struct Window {
    int64_t second = 0;
    int written = 0;
    int64_t suppressed = 0;
  };
  std::mutex mu;
  absl::flat_hash_map<std::string, Window> windows;
};

LogLimiter::LogLimiter(int per_second) : per_second_(per_second), state_(std::make_unique<State>()) {}
LogLimiter::~LogLimiter() = default;

bool LogLimiter::Allow(const std::string& key, int64_t* suppressed) {
  int64_t now = absl::ToUnixSeconds(absl::Now());
  std::lock_guard<std::mutex> lock(state_->mu);
  State::Window& w = state_->windows[key];
  if (w.second != now) {
    w.second = now;
    w.written = 0;
  }
  if (w.written >= per_second_) {
    ++w.suppressed;
    return false;
  }
  ++w.written;
  *suppressed = w.suppressed;
  w.suppressed = 0;
  return true;
}

}  // namespace sase::common

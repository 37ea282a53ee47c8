#pragma once
// One JSON object per log line on stderr: ts, level, service, msg, then snake_case fields.
// Never pass a secret (app secret, aes_key, token, access token) as a field.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sase::common {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

using LogValue = std::variant<std::string, int64_t, double, bool>;
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, long v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, long long v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, unsigned v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, unsigned long v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
  std::string key;
  LogValue value;
};

// Sets the "service" field and the minimum level (default info; SASE_LOG_LEVEL=debug|info|warn|error).
void InitLogging(std::string_view service);
void SetLogLevel(LogLevel level);

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
// Formats one line without writing it (for tests).
std::string FormatLogLine(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields);

inline void LogInfo(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, msg, f); }
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, msg, f); }
inline void LogError(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, msg, f); }
inline void LogDebug(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, msg, f); }

// Rate limit for repeated log lines (a flood of bad pushes, a dependency that is down): at most
// `per_second` lines per key per second. Allow() tells whether to write now and how many lines
// of that key were dropped since the last one written (log it as "suppressed").
class LogLimiter {
 public:
  explicit LogLimiter(int per_second);
  ~LogLimiter();
  LogLimiter(const LogLimiter&) = delete;
  LogLimiter& operator=(const LogLimiter&) = delete;

  bool Allow(const std::string& key, int64_t* suppressed);

 private:
  struct State;
  int per_second_;
  std::unique_ptr<State> state_;
};

}  // namespace sase::common

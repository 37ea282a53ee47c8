#pragma once
// The simulator's DingTalk custom group robot ("自定义机器人" with the 加签 security setting):
//
//   POST /robot/send?access_token=T&timestamp=MS&sign=S   {"msgtype":"markdown","markdown":{"title","text"}}
//
// answers as DingTalk does, always HTTP 200 with {"errcode":N,"errmsg":...}, checked in this order:
//   300001 token is not exist          access_token missing or not the robot's
//   310000 invalid timestamp           timestamp missing, not a number, or more than an hour off
//   310000 sign not match              sign missing or not base64(HMAC-SHA256(secret, ts + "\n" + secret))
//   40035  缺少参数 json / msgtype / markdown   body not a JSON object, msgtype not text|markdown, no title/text
//   460101 message too long            text (or content) over 20000 bytes
//   410100 send too fast               more than 20 messages in 60 s; then muted for mute_s (DingTalk: 10 min)
//   0      ok                          recorded (the last keep_messages), readable from the admin API
//
// Plain logic, no HTTP (robot_handlers.cc routes it): tests drive it directly with an injected clock.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "nlohmann/json.hpp"

namespace sase::dingtalk_sim {

struct RobotOptions {
  std::string access_token = "sim-robot-access-token";
  std::string secret = "SECsim-robot-secret-0123456789abcdef";  // empty: no 加签 check
  int64_t per_minute = 20;
  int64_t timestamp_window_ms = 3600 * 1000;
  int64_t mute_s = 600;
  size_t max_text_bytes = 20000;
  size_t keep_messages = 1000;
  std::function<int64_t()> now_ms;  // wall clock in ms; default: the system clock
};

class RobotSim {
 public:
  explicit RobotSim(RobotOptions options);

  // One POST /robot/send. `timestamp` and `sign` are the URL-decoded query values ("" when absent).
  nlohmann::json Send(const std::string& access_token, const std::string& timestamp, const std::string& sign,
                      const std::string& body);

  // {"messages":[{"received_ms","timestamp","msgtype","title","text","body"}...], "accepted":N,
  //  "rejected":{"<errcode>":N,...}, "muted_until_ms":MS|null}
  nlohmann::json Dump();
  void Reset();  // forgets messages, counters, the rate window and any mute

 private:
  nlohmann::json Reject(int64_t errcode, const std::string& errmsg);  // mu_ held
  int64_t Now() const;

  const RobotOptions options_;
  std::mutex mu_;
  std::deque<int64_t> window_;  // accept times within the last minute
  int64_t muted_until_ms_ = 0;
  std::deque<nlohmann::json> messages_;
  int64_t accepted_ = 0;
  std::map<std::string, int64_t> rejected_;
};

}  // namespace sase::dingtalk_sim

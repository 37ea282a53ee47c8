#include "dingtalk_sim/robot.h"

#include <chrono>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "dingtalk/robot_signature.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const json* Member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

}  // namespace

RobotSim::RobotSim(RobotOptions options) : options_(std::move(options)) {}

int64_t RobotSim::Now() const { return options_.now_ms ? options_.now_ms() : SystemNowMs(); }

json RobotSim::Reject(int64_t errcode, const std::string& errmsg) {
  ++rejected_[std::to_string(errcode)];
  return {{"errcode", errcode}, {"errmsg", errmsg}};
}

json RobotSim::Send(const std::string& access_token, const std::string& timestamp, const std::string& sign,
                    const std::string& body) {
  const int64_t now = Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (access_token.empty() || access_token != options_.access_token) return Reject(300001, "token is not exist");
  int64_t ts = 0;
  if (!options_.secret.empty()) {
    if (!absl::SimpleAtoi(timestamp, &ts) || std::llabs(now - ts) > options_.timestamp_window_ms) {
      return Reject(310000, "invalid timestamp");
    }
    if (!dingtalk::VerifyRobotSignature(ts, options_.secret, sign)) {
      return Reject(310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]");
    }
  }
  json message = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded() || !message.is_object()) return Reject(40035, "缺少参数 json");
  const json* msgtype = Member(message, "msgtype");
  if (msgtype == nullptr || !msgtype->is_string() || (*msgtype != "markdown" && *msgtype != "text")) {
    return Reject(40035, "缺少参数 msgtype");
  }
  const bool markdown = *msgtype == "markdown";
  const json* part = Member(message, markdown ? "markdown" : "text");
  const json* text = part != nullptr && part->is_object() ? Member(*part, markdown ? "text" : "content") : nullptr;
  const json* title = part != nullptr && part->is_object() ? Member(*part, "title") : nullptr;
  if (text == nullptr || !text->is_string() || text->get<std::string>().empty() ||
      (markdown && (title == nullptr || !title->is_string() || title->get<std::string>().empty()))) {
    return Reject(40035, markdown ? "缺少参数 markdown" : "缺少参数 text");
  }
  if (text->get<std::string>().size() > options_.max_text_bytes) {
    return Reject(460101, "message too long, exceed 20000 bytes");
  }
  while (!window_.empty() && window_.front() <= now - 60000) window_.pop_front();
  if (now < muted_until_ms_) return Reject(410100, "send too fast, exceed 20 times per minute");
  if (static_cast<int64_t>(window_.size()) >= options_.per_minute) {
    muted_until_ms_ = now + options_.mute_s * 1000;
    return Reject(410100, "send too fast, exceed 20 times per minute");
  }
  window_.push_back(now);
  ++accepted_;
  messages_.push_back({{"received_ms", now},
                       {"timestamp", ts},
                       {"msgtype", *msgtype},
                       {"title", title != nullptr && title->is_string() ? *title : json("")},
                       {"text", *text},
                       {"body", message}});
  while (messages_.size() > options_.keep_messages) messages_.pop_front();
  return {{"errcode", 0}, {"errmsg", "ok"}};
}

json RobotSim::Dump() {
  std::lock_guard<std::mutex> lock(mu_);
  json list = json::array();
  for (const json& m : messages_) list.push_back(m);
  return {{"messages", std::move(list)},
          {"accepted", accepted_},
          {"rejected", rejected_},
          {"muted_until_ms", muted_until_ms_ > 0 ? json(muted_until_ms_) : json()}};
}

void RobotSim::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  window_.clear();
  muted_until_ms_ = 0;
  messages_.clear();
  accepted_ = 0;
  rejected_.clear();
}

}  // namespace sase::dingtalk_sim

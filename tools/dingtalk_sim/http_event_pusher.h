#pragma once
// Pushes address-book events to a connector's ingress the way DingTalk's HTTP push does:
// POST <url>?msg_signature=&signature=&timestamp=<ms>&nonce=<8 alnum> with {"encrypt":"<base64>"},
// signed and encrypted with sase::callback. A delivery succeeds only on HTTP 200 with a JSON reply
// {msg_signature,timeStamp,nonce,encrypt} whose signature verifies and whose encrypt decrypts to
// "success" for the same receiver id. Failed deliveries are retried after each configured delay
// (DingTalk: 10 s, then 30 s); after the last retry the event goes to the failed-event list.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "callback/crypto.h"
#include "dingtalk_sim/event_pusher.h"

namespace sase::dingtalk_sim {

struct PusherOptions {
  std::string url;          // ingress URL; may already carry a query string
  std::string token;        // signature token (secret)
  std::string aes_key;      // 43 chars (secret)
  std::string receiver_id;  // the AppKey for console subscriptions
  EventLayout layout = EventLayout::kLegacy;
  std::vector<std::chrono::milliseconds> retry_delays = {std::chrono::seconds(10), std::chrono::seconds(30)};
  std::chrono::milliseconds timeout = std::chrono::milliseconds(2500);  // DingTalk's reply deadline
};

// Parses "10000,30000" (milliseconds; empty = no retries).
absl::StatusOr<std::vector<std::chrono::milliseconds>> ParseRetryDelays(std::string_view text);
absl::StatusOr<EventLayout> ParseEventLayout(std::string_view text);  // "legacy" | "current"

class HttpEventPusher : public EventPusher {
 public:
  static absl::StatusOr<std::unique_ptr<HttpEventPusher>> Create(PusherOptions options, FailedCallback on_failed);
  ~HttpEventPusher() override;

  void Push(const SimEvent& event) override;
  nlohmann::json Stats() const override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    SimEvent event;
    size_t attempt = 0;  // deliveries already tried
  };

  HttpEventPusher(PusherOptions options, callback::CallbackCipher cipher, FailedCallback on_failed);
  void Run();
  // One delivery attempt; false with *why set on any failure.
  bool DeliverOnce(const SimEvent& event, std::string* why);

  PusherOptions opt_;
  callback::CallbackCipher cipher_;
  FailedCallback on_failed_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, Pending> queue_;
  bool stopping_ = false;
  int64_t attempts_ = 0;
  int64_t delivered_ = 0;
  int64_t retried_ = 0;
  int64_t failed_ = 0;
  std::string last_error_;
  std::thread worker_;
};

}  // namespace sase::dingtalk_sim

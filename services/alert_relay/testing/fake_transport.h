#pragma once
// A DingTalk transport for tests: records every request and answers from a queue (errcode 0 when
// the queue is empty).

#include <deque>
#include <string>
#include <vector>

#include "dingtalk/http_transport.h"

namespace sase::alert_relay::testing {

class FakeTransport final : public dingtalk::HttpTransport {
 public:
  absl::StatusOr<dingtalk::HttpResponse> Do(const dingtalk::HttpRequest& request) override {
    requests.push_back(request);
    if (answers.empty()) return dingtalk::HttpResponse{200, "application/json", R"({"errcode":0,"errmsg":"ok"})"};
    absl::StatusOr<dingtalk::HttpResponse> a = answers.front();
    answers.pop_front();
    return a;
  }
  // Queues an HTTP 200 answer with this body.
  void Answer(std::string body) { answers.push_back(dingtalk::HttpResponse{200, "application/json", std::move(body)}); }

  std::vector<dingtalk::HttpRequest> requests;
  std::deque<absl::StatusOr<dingtalk::HttpResponse>> answers;
};

}  // namespace sase::alert_relay::testing

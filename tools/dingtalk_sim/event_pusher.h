#pragma once
// Address-book events produced by admin mutations, and the interface that delivers them to the
// connector's ingress (HTTP push, signed and encrypted as DingTalk does).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace sase::dingtalk_sim {

struct SimEvent {
  std::string type;  // EventType, e.g. user_add_org
  std::vector<std::string> user_ids;
  std::vector<int64_t> dept_ids;
  int64_t time_ms = 0;
  std::string event_id;  // 32 hex chars
  std::string corp_id;
};

enum class EventLayout {
  kLegacy,   // {"EventType","CorpId","UserId"|"DeptId","TimeStamp":"<ms>"}
  kCurrent,  // {"EventType","EventTime","CorpId","BizId","eventId","timeStamp","userId"|"deptId"}
};

// The decrypted event body DingTalk would push.
nlohmann::json EventPayload(const SimEvent& event, EventLayout layout);

// One entry of call_back/get_call_back_failed_result's failed_list (current doc layout).
nlohmann::json FailedListEntry(const SimEvent& event);

// Delivers events; implementations queue and return quickly. When delivery fails after the
// retries, the implementation hands the event to the on_failed callback it was built with.
class EventPusher {
 public:
  using FailedCallback = std::function<void(const SimEvent&)>;
  virtual ~EventPusher() = default;
  virtual void Push(const SimEvent& event) = 0;
  // Counters for /admin/counters.
  virtual nlohmann::json Stats() const = 0;
};

}  // namespace sase::dingtalk_sim

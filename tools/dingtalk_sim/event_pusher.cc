#include "dingtalk_sim/event_pusher.h"

namespace sase::dingtalk_sim {

nlohmann::json EventPayload(const SimEvent& event, EventLayout layout) {
  nlohmann::json j = nlohmann::json::object();
  if (event.type == "check_url") return {{"EventType", "check_url"}};
  const bool users = !event.user_ids.empty() || event.dept_ids.empty();
  if (layout == EventLayout::kLegacy) {
    j["EventType"] = event.type;
    j["CorpId"] = event.corp_id;
    if (users) {
      j["UserId"] = event.user_ids;
    } else {
      j["DeptId"] = event.dept_ids;
    }
    j["TimeStamp"] = std::to_string(event.time_ms);
    return j;
  }
  j["EventType"] = event.type;
  j["EventTime"] = event.time_ms;
  j["CorpId"] = event.corp_id;
  j["BizId"] = std::to_string(event.time_ms);
  j["eventId"] = event.event_id;
  j["timeStamp"] = std::to_string(event.time_ms);
  if (users) {
    j["userId"] = event.user_ids;
  } else {
    j["deptId"] = event.dept_ids;
  }
  return j;
}

nlohmann::json FailedListEntry(const SimEvent& event) {
  nlohmann::json data = {{"corpid", event.corp_id}};
  if (!event.user_ids.empty() || event.dept_ids.empty()) {
    data["userid"] = event.user_ids;
  } else {
    data["deptid"] = event.dept_ids;
  }
  return {{"call_back_tag", event.type}, {"event_time", event.time_ms}, {event.type, std::move(data)}};
}

}  // namespace sase::dingtalk_sim

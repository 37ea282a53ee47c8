#pragma once
// Parsing of decrypted DingTalk address-book event payloads (PROTOCOL.md §3).
//
// Both HTTP layouts are accepted: legacy (EventType/CorpId/UserId|DeptId/TimeStamp/OptStaffId) and
// current (EventType/EventTime/CorpId/BizId/eventId + userId/deptId/timeStamp). Keys are matched
// case-insensitively, numbers may arrive as strings, and ids missing at the top level are looked
// up in a nested "data" object (the Stream envelope). Unknown event types parse to kUnknown.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sase::callback {

enum class EventKind {
  kUnknown = 0,
  kCheckUrl,  // check_url, and the ISV check_create_suite_url / check_update_suite_url
  kUserAddOrg,
  kUserModifyOrg,
  kUserLeaveOrg,
  kUserActiveOrg,
  kOrgDeptCreate,
  kOrgDeptModify,
  kOrgDeptRemove,
  kOrgAdminAdd,
  kOrgAdminRemove,
  kLabelUserChange,
  kLabelConfAdd,
  kLabelConfModify,
  kLabelConfDel,
  kOrgChange,
  kOrgRemove,
  kExclusiveDataTransfer,
};

// "user_add_org" → kUserAddOrg (case-insensitive); anything else → kUnknown.
EventKind EventKindFromType(std::string_view event_type);
// Bounded label: "check_url", "user_add_org", …, "unknown".
std::string_view EventKindName(EventKind kind);
// URL verification pushes: answer "success", store nothing.
inline bool IsUrlVerification(EventKind kind) { return kind == EventKind::kCheckUrl; }

struct Event {
  std::string event_type;  // EventType as received
  EventKind kind = EventKind::kUnknown;
  // UserId/userId (or UserIdList/userIdList) in payload order, duplicates removed.
  std::vector<std::string> user_ids;
  // DeptId/deptId in payload order, duplicates removed.
  std::vector<std::int64_t> dept_ids;
  // EventTime, else TimeStamp/timeStamp, else eventBornTime (ms since epoch); 0 when absent.
  std::int64_t event_time_ms = 0;
  std::string event_id;  // eventId; empty in the legacy layout
  std::string corp_id;   // CorpId (or eventCorpId); empty when absent
  // eventId when present, else "<event_type>:<time ms>:<32 hex of SHA-256 over the sorted ids>".
  std::string dedupe_key;
  std::string raw_json;  // the decrypted message exactly as received
};

// Parses one decrypted message. Reasons: kBadJson (not a JSON object), kBadEvent (no string
// EventType, or — for a known kind — ids/times of the wrong shape). For kUnknown events malformed
// id fields are ignored. `fallback_time_ms` (e.g. the request timestamp) replaces a missing payload
// time in the dedupe key only; event_time_ms stays 0.
absl::StatusOr<Event> ParseEvent(std::string_view json, std::int64_t fallback_time_ms = 0);

// The dedupe key rule above, for events built elsewhere (e.g. the failed-event list).
std::string ComputeDedupeKey(std::string_view event_type, std::string_view event_id,
                             std::int64_t time_ms, const std::vector<std::string>& user_ids,
                             const std::vector<std::int64_t>& dept_ids);

}  // namespace sase::callback

#include "callback/event.h"

#include <string>
#include <vector>

#include "callback/error.h"
#include "callback/testing/test_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::callback {
namespace {

using ::nlohmann::json;
using ::sase::callback::testing::LoadSharedJson;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct SampleFile {
  const char* file;
  EventKind kind;
  bool has_users;
  bool has_depts;
};

constexpr SampleFile kSampleFiles[] = {
    {"samples/event_check_url.json", EventKind::kCheckUrl, false, false},
    {"samples/event_user_add_org.json", EventKind::kUserAddOrg, true, false},
    {"samples/event_user_modify_org.json", EventKind::kUserModifyOrg, true, false},
    {"samples/event_user_leave_org.json", EventKind::kUserLeaveOrg, true, false},
    {"samples/event_org_dept_create.json", EventKind::kOrgDeptCreate, false, true},
    {"samples/event_org_dept_modify.json", EventKind::kOrgDeptModify, false, true},
    {"samples/event_org_dept_remove.json", EventKind::kOrgDeptRemove, false, true},
};

TEST(EventSamplesTest, EveryDocumentedPayloadParses) {
  int parsed = 0;
  for (const SampleFile& sample : kSampleFiles) {
    SCOPED_TRACE(sample.file);
    const json file = LoadSharedJson(sample.file);
    ASSERT_TRUE(file.is_object()) << "missing sample under " << testing::SharedDingtalkDir();
    ASSERT_TRUE(file["payloads"].is_array());
    for (const json& payload : file["payloads"]) {
      if (!payload["body"].is_object()) continue;  // e.g. a documented-as-missing layout
      const std::string layout = payload["layout"].get<std::string>();
      SCOPED_TRACE(layout);
      const std::string text = payload["body"].dump();
      absl::StatusOr<Event> ev = ParseEvent(text);
      ASSERT_TRUE(ev.ok()) << ev.status();
      EXPECT_EQ(ev->kind, sample.kind);
      EXPECT_EQ(ev->raw_json, text);
      EXPECT_FALSE(ev->dedupe_key.empty());
      EXPECT_EQ(!ev->user_ids.empty(), sample.has_users);
      EXPECT_EQ(!ev->dept_ids.empty(), sample.has_depts);
      if (layout.rfind("legacy", 0) == 0) {
        EXPECT_THAT(ev->event_id, IsEmpty());
        if (sample.kind != EventKind::kCheckUrl) {
          EXPECT_GT(ev->event_time_ms, 0);
          EXPECT_NE(ev->dedupe_key.find(ev->event_type + ":"), std::string::npos);
        }
      } else {  // current_http and stream carry an eventId
        EXPECT_FALSE(ev->event_id.empty());
        EXPECT_EQ(ev->dedupe_key, ev->event_id);
        EXPECT_GT(ev->event_time_ms, 0);
        EXPECT_FALSE(ev->corp_id.empty());
      }
      ++parsed;
    }
  }
  EXPECT_GE(parsed, 30);
}

TEST(EventSamplesTest, LegacyCaptureValues) {
  absl::StatusOr<Event> ev = ParseEvent(
      R"({"CorpId":"ding28716be3f4b986aebc961a6cb783455b","EventType":"user_leave_org",)"
      R"("UserId":["013415163130664023"],"OptStaffId":"0113430928611169518",)"
      R"("TimeStamp":"1645077203219"})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->event_type, "user_leave_org");
  EXPECT_THAT(ev->user_ids, ElementsAre("013415163130664023"));
  EXPECT_THAT(ev->dept_ids, IsEmpty());
  EXPECT_EQ(ev->event_time_ms, 1645077203219);
  EXPECT_EQ(ev->corp_id, "ding28716be3f4b986aebc961a6cb783455b");
  EXPECT_THAT(ev->dedupe_key, ::testing::StartsWith("user_leave_org:1645077203219:"));
}

TEST(EventSamplesTest, CurrentLayoutPrefersEventTimeAndEventId) {
  absl::StatusOr<Event> ev = ParseEvent(
      R"({"EventType":"org_dept_create","EventTime":1663143335567,"CorpId":"dingX",)"
      R"("BizId":"b","eventId":"c7c7","timeStamp":"1685501863357","deptId":[432825033]})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->kind, EventKind::kOrgDeptCreate);
  EXPECT_THAT(ev->dept_ids, ElementsAre(432825033));
  EXPECT_EQ(ev->event_time_ms, 1663143335567);
  EXPECT_EQ(ev->event_id, "c7c7");
  EXPECT_EQ(ev->dedupe_key, "c7c7");
}

// Every address-book event type of PROTOCOL.md §3.2, in both layouts.
struct TypeCase {
  const char* type;
  EventKind kind;
  const char* user_key;  // legacy spelling; current uses lower camel case
  bool depts;
};

constexpr TypeCase kTypes[] = {
    {"user_add_org", EventKind::kUserAddOrg, "UserId", false},
    {"user_modify_org", EventKind::kUserModifyOrg, "UserId", false},
    {"user_leave_org", EventKind::kUserLeaveOrg, "UserId", false},
    {"user_active_org", EventKind::kUserActiveOrg, "UserId", false},
    {"org_dept_create", EventKind::kOrgDeptCreate, nullptr, true},
    {"org_dept_modify", EventKind::kOrgDeptModify, nullptr, true},
    {"org_dept_remove", EventKind::kOrgDeptRemove, nullptr, true},
    {"org_admin_add", EventKind::kOrgAdminAdd, "UserId", false},
    {"org_admin_remove", EventKind::kOrgAdminRemove, "UserId", false},
    {"label_user_change", EventKind::kLabelUserChange, "UserIdList", false},
    {"label_conf_add", EventKind::kLabelConfAdd, nullptr, false},
    {"label_conf_modify", EventKind::kLabelConfModify, nullptr, false},
    {"label_conf_del", EventKind::kLabelConfDel, nullptr, false},
    {"org_change", EventKind::kOrgChange, nullptr, false},
    {"org_remove", EventKind::kOrgRemove, nullptr, false},
    {"exclusive_data_transfer", EventKind::kExclusiveDataTransfer, "UserId", false},
    {"check_url", EventKind::kCheckUrl, nullptr, false},
};

std::string LowerFirst(std::string s) {
  s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

TEST(EventTypesTest, BothLayoutsForEveryType) {
  for (const TypeCase& tc : kTypes) {
    SCOPED_TRACE(tc.type);
    EXPECT_EQ(EventKindFromType(tc.type), tc.kind);
    EXPECT_EQ(EventKindName(tc.kind), tc.type);

    json legacy = {{"EventType", tc.type}, {"CorpId", "dingcorp"}, {"TimeStamp", "1645077203219"}};
    json current = {{"EventType", tc.type},   {"EventTime", 1663143335567}, {"CorpId", "dingcorp"},
                    {"BizId", "biz"},         {"eventId", "evt-1"},         {"timeStamp", "1"}};
    if (tc.user_key != nullptr) {
      legacy[tc.user_key] = {"u2", "u1"};
      current[LowerFirst(tc.user_key)] = {"u2", "u1"};
    }
    if (tc.depts) {
      legacy["DeptId"] = {600582447};
      current["deptId"] = {"600582447"};  // number as string
    }
    for (const json& body : {legacy, current}) {
      absl::StatusOr<Event> ev = ParseEvent(body.dump());
      ASSERT_TRUE(ev.ok()) << ev.status() << " " << body.dump();
      EXPECT_EQ(ev->kind, tc.kind);
      EXPECT_EQ(ev->event_type, tc.type);
      EXPECT_EQ(ev->corp_id, "dingcorp");
      if (tc.user_key != nullptr) {
        EXPECT_THAT(ev->user_ids, ElementsAre("u2", "u1"));
      } else {
        EXPECT_THAT(ev->user_ids, IsEmpty());
      }
      if (tc.depts) {
        EXPECT_THAT(ev->dept_ids, ElementsAre(600582447));
      } else {
        EXPECT_THAT(ev->dept_ids, IsEmpty());
      }
    }
    absl::StatusOr<Event> l = ParseEvent(legacy.dump());
    absl::StatusOr<Event> c = ParseEvent(current.dump());
    ASSERT_TRUE(l.ok() && c.ok());
    EXPECT_EQ(l->event_time_ms, 1645077203219);
    EXPECT_EQ(c->event_time_ms, 1663143335567);
    EXPECT_EQ(l->event_id, "");
    EXPECT_EQ(c->event_id, "evt-1");
    EXPECT_EQ(c->dedupe_key, "evt-1");
  }
}

TEST(EventParseTest, KeysAreCaseInsensitiveAndNumbersMayBeStrings) {
  absl::StatusOr<Event> ev = ParseEvent(
      R"({"eventtype":"USER_ADD_ORG","USERID":"solo","timestamp":1645077203219,"corpid":"c"})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->kind, EventKind::kUserAddOrg);
  EXPECT_EQ(ev->event_type, "USER_ADD_ORG");
  EXPECT_THAT(ev->user_ids, ElementsAre("solo"));
  EXPECT_EQ(ev->event_time_ms, 1645077203219);

  ev = ParseEvent(R"({"EventType":"org_dept_remove","deptid":["1","22",22,"1"],)"
                  R"("eventtime":"1663143335567"})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->dept_ids, ElementsAre(1, 22));  // duplicates removed
  EXPECT_EQ(ev->event_time_ms, 1663143335567);

  ev = ParseEvent(R"({"EventType":"user_add_org","UserId":[184919295227658120]})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->user_ids, ElementsAre("184919295227658120"));
}

TEST(EventParseTest, StreamEnvelopeIdsAreFoundInData) {
  absl::StatusOr<Event> ev = ParseEvent(
      R"({"eventCorpId":"dingc","eventType":"user_leave_org","eventId":"e1",)"
      R"("eventBornTime":1683533823336,"data":{"timeStamp":"1685501863357","userId":["015"]}})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->kind, EventKind::kUserLeaveOrg);
  EXPECT_THAT(ev->user_ids, ElementsAre("015"));
  EXPECT_EQ(ev->event_time_ms, 1683533823336);
  EXPECT_EQ(ev->corp_id, "dingc");
}

TEST(EventParseTest, UnknownTypeIsNotAnError) {
  absl::StatusOr<Event> ev =
      ParseEvent(R"({"EventType":"bpms_task_change","DeptId":"not-a-number","UserId":{}})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->kind, EventKind::kUnknown);
  EXPECT_EQ(ev->event_type, "bpms_task_change");
  EXPECT_EQ(EventKindName(ev->kind), "unknown");
  EXPECT_FALSE(ev->dedupe_key.empty());
}

// Key lookup semantics kept from the nlohmann version (a sorted map, last duplicate wins):
// among keys matching case-insensitively the bytewise smallest spelling wins; among exact
// duplicates the last one.
TEST(EventParseTest, DuplicateAndCaseVariantKeysResolveAsBefore) {
  absl::StatusOr<Event> ev = ParseEvent(
      R"({"EventType":"bpms","EventType":"user_add_org","userId":"lower","UserId":"upper"})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->kind, EventKind::kUserAddOrg);
  EXPECT_THAT(ev->user_ids, ElementsAre("upper"));  // "UserId" < "userId" bytewise

  ev = ParseEvent(R"({"EventType":"user_add_org","UserId":"a","UserId":"b","USERID":"c"})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->user_ids, ElementsAre("c"));  // "USERID" sorts first

  ev = ParseEvent(R"({"EventType":"user_add_org","UserId":"a","UserId":"b"})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->user_ids, ElementsAre("b"));  // exact duplicate: the last one

  // A later duplicate replaces an earlier valid value, even with a malformed one.
  ev = ParseEvent(R"({"EventType":"org_dept_create","DeptId":[1],"DeptId":"x"})");
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ReasonOf(ev.status()), CallbackError::kBadEvent);

  // Top-level null falls through to "data".
  ev = ParseEvent(R"({"EventType":"user_add_org","UserId":null,"data":{"userid":["d"]}})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->user_ids, ElementsAre("d"));
}

TEST(EventParseTest, StringsAndNumbersDecodeAsBefore) {
  absl::StatusOr<Event> ev = ParseEvent(
      R"({"EventType":"user_add_org","UserId":["caf\u00e9","\ud83d\ude00","a\/b","n\u0000ul",)"
      R"(-7,18446744073709551615],"CorpId":"\u4e2d","EventTime":-0})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->user_ids, ElementsAre("caf\xC3\xA9", "\xF0\x9F\x98\x80", "a/b",
                                        std::string("n\0ul", 4), "-7", "18446744073709551615"));
  EXPECT_EQ(ev->corp_id, "\xE4\xB8\xAD");
  EXPECT_EQ(ev->event_time_ms, 0);

  ev = ParseEvent(R"({"EventType":"org_dept_create","DeptId":[9223372036854775807]})");
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_THAT(ev->dept_ids, ElementsAre(9223372036854775807));

  const char* rejected[] = {
      R"({"EventType":"org_dept_create","DeptId":[9223372036854775808]})",
      R"({"EventType":"org_dept_create","DeptId":[1.0]})",
      R"({"EventType":"org_dept_create","DeptId":[1e2]})",
      R"({"EventType":"user_add_org","EventTime":1645077203219.0})",
      R"({"EventType":"user_add_org","UserId":[1.5]})",
  };
  for (const char* json_text : rejected) {
    SCOPED_TRACE(json_text);
    ev = ParseEvent(json_text);
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ReasonOf(ev.status()), CallbackError::kBadEvent);
  }
}

TEST(EventParseTest, NonJsonAndLoneSurrogatesAreBadJson) {
  const std::string cases[] = {
      R"({"EventType":"user_add_org","x":"\udc00"})",
      "{\"EventType\":\"user_add_org\",\"x\":\"\xFF\"}",
      R"({"EventType":"user_add_org",})",
      R"({"EventType":"user_add_org"} // c)",
      std::string(100000, '['),
  };
  for (const std::string& c : cases) {
    SCOPED_TRACE(c.substr(0, 80));
    absl::StatusOr<Event> ev = ParseEvent(c);
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ReasonOf(ev.status()), CallbackError::kBadJson);
  }
  // A byte order mark is skipped; raw_json keeps the message exactly as received.
  const std::string with_bom = "\xEF\xBB\xBF{\"EventType\":\"check_url\"}";
  absl::StatusOr<Event> ev = ParseEvent(with_bom);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->kind, EventKind::kCheckUrl);
  EXPECT_EQ(ev->raw_json, with_bom);
}

TEST(EventParseTest, MalformedInputGivesItsReason) {
  struct Case {
    const char* json;
    CallbackError reason;
  };
  const Case cases[] = {
      {"", CallbackError::kBadJson},
      {"not json", CallbackError::kBadJson},
      {R"(["EventType","check_url"])", CallbackError::kBadJson},
      {R"("check_url")", CallbackError::kBadJson},
      {R"({"EventType":"check_url")", CallbackError::kBadJson},
      {R"({})", CallbackError::kBadEvent},
      {R"({"EventType":5})", CallbackError::kBadEvent},
      {R"({"EventType":""})", CallbackError::kBadEvent},
      {R"({"EventType":"org_dept_create","DeptId":["abc"]})", CallbackError::kBadEvent},
      {R"({"EventType":"org_dept_create","DeptId":[-5]})", CallbackError::kBadEvent},
      {R"({"EventType":"org_dept_create","DeptId":[0]})", CallbackError::kBadEvent},
      {R"({"EventType":"org_dept_create","DeptId":[1.5]})", CallbackError::kBadEvent},
      {R"({"EventType":"org_dept_create","DeptId":["99999999999999999999"]})",
       CallbackError::kBadEvent},
      {R"({"EventType":"user_add_org","UserId":[""]})", CallbackError::kBadEvent},
      {R"({"EventType":"user_add_org","UserId":[true]})", CallbackError::kBadEvent},
      {R"({"EventType":"user_add_org","TimeStamp":"12x"})", CallbackError::kBadEvent},
      {R"({"EventType":"user_add_org","TimeStamp":-1})", CallbackError::kBadEvent},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<Event> ev = ParseEvent(c.json);
    ASSERT_FALSE(ev.ok());
    EXPECT_EQ(ReasonOf(ev.status()), c.reason);
  }
}

TEST(DedupeKeyTest, StableUnderIdOrderDuplicatesAndKeyOrder) {
  absl::StatusOr<Event> a = ParseEvent(
      R"({"EventType":"user_modify_org","UserId":["b","a"],"TimeStamp":"1623060875680"})");
  absl::StatusOr<Event> b = ParseEvent(
      R"({"TimeStamp":1623060875680,"UserId":["a","b","a"],"EventType":"user_modify_org"})");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->dedupe_key, b->dedupe_key);
  // A fixed expected value: the key must not change between releases (it is stored in the inbox).
  EXPECT_EQ(a->dedupe_key,
            ComputeDedupeKey("user_modify_org", "", 1623060875680, {"a", "b"}, {}));
  // sha256("u1:au1:b")[:16 bytes] — computed independently.
  EXPECT_EQ(a->dedupe_key, "user_modify_org:1623060875680:80a6e09d4d1bf54cb81dd3fde15bc628");
}

TEST(DedupeKeyTest, DiffersWhenTypeTimeOrIdsDiffer) {
  const std::string base = ComputeDedupeKey("user_modify_org", "", 1, {"a"}, {});
  EXPECT_NE(base, ComputeDedupeKey("user_add_org", "", 1, {"a"}, {}));
  EXPECT_NE(base, ComputeDedupeKey("user_modify_org", "", 2, {"a"}, {}));
  EXPECT_NE(base, ComputeDedupeKey("user_modify_org", "", 1, {"b"}, {}));
  EXPECT_NE(base, ComputeDedupeKey("user_modify_org", "", 1, {"a", "b"}, {}));
  // Id boundaries are unambiguous.
  EXPECT_NE(ComputeDedupeKey("t", "", 1, {"ab", "c"}, {}), ComputeDedupeKey("t", "", 1, {"a", "bc"}, {}));
  EXPECT_NE(ComputeDedupeKey("t", "", 1, {}, {12}), ComputeDedupeKey("t", "", 1, {}, {1, 2}));
  EXPECT_EQ(ComputeDedupeKey("t", "evt", 1, {"a"}, {}), "evt");
}

TEST(DedupeKeyTest, FallbackTimeOnlyWhenPayloadHasNone) {
  absl::StatusOr<Event> no_time = ParseEvent(R"({"EventType":"org_change"})", 1700000000000);
  ASSERT_TRUE(no_time.ok());
  EXPECT_EQ(no_time->event_time_ms, 0);
  EXPECT_THAT(no_time->dedupe_key, ::testing::StartsWith("org_change:1700000000000:"));
  absl::StatusOr<Event> with_time =
      ParseEvent(R"({"EventType":"org_change","TimeStamp":"5"})", 1700000000000);
  ASSERT_TRUE(with_time.ok());
  EXPECT_THAT(with_time->dedupe_key, ::testing::StartsWith("org_change:5:"));
}

}  // namespace
// Without an event id the key ends in the first 16 bytes of SHA-256 over the canonical ids, as 32
// lowercase hex digits (a signed-char slip once made this garbage and the inbox rejected it).
TEST(DedupeKey, LegacyKeyEndsInThirtyTwoLowercaseHexDigits) {
  for (const char* user : {"u1", "u2", "manager4512", "\xe5\xbc\xa0\xe4\xb8\x89"}) {
    const std::string key = ComputeDedupeKey("user_leave_org", "", 1700000000001, {user}, {1, 2});
    ASSERT_THAT(key, ::testing::StartsWith("user_leave_org:1700000000001:"));
    const std::string digest = key.substr(std::string("user_leave_org:1700000000001:").size());
    EXPECT_THAT(digest, ::testing::MatchesRegex("[0-9a-f]{32}")) << user;
  }
  EXPECT_NE(ComputeDedupeKey("user_leave_org", "", 1, {"u1"}, {}), ComputeDedupeKey("user_leave_org", "", 1, {"u2"}, {}));
}

}  // namespace sase::callback

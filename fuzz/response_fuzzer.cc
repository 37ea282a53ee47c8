// libFuzzer target over every DingTalk response parser: ClassifyResponse (status, content type,
// body: errors, the IP-ban page, token invalidation) and, on success, the typed parser of each API
// the client calls (user list pages, user get, department listsub / listsubid / get, getbyunionid,
// count, getuserinfo, users/me, the failed-callback list, both token endpoints).
//
// Input layout: byte 0 selects the parser (mod the number of parsers), byte 1 the HTTP status
// class and content type; the rest is the response body.
// FUZZ_PARSER=N restricts every input to parser N (so each parser can be run for its own
// executions); FUZZ_VERBOSE=1 prints the outcome of each input.
// Invariants: nothing throws or crashes; a failure always carries a DingTalk reason; a parsed user
// or department keeps the ids it was read with.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "dingtalk/error.h"
#include "dingtalk/internal/classify.h"
#include "dingtalk/internal/parse.h"

namespace {

namespace dt = sase::dingtalk;
namespace in = sase::dingtalk::internal;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::cerr << "invariant violated: " << what << "\n";
    std::abort();
  }
}

template <typename T>
void Expect(const absl::StatusOr<T>& r, const char* api) {
  if (!r.ok()) Check(dt::ReasonOf(r.status()) != dt::ApiError::kNone, api);
  if (std::getenv("FUZZ_VERBOSE") != nullptr) {
    std::cerr << api << ": " << (r.ok() ? "ok" : std::string(dt::ReasonName(dt::ReasonOf(r.status())))) << "\n";
  }
}

constexpr int kParsers = 13;

int Selected(uint8_t byte) {
  static const int forced = [] {
    const char* v = std::getenv("FUZZ_PARSER");
    return v == nullptr ? -1 : std::atoi(v) % kParsers;
  }();
  return forced >= 0 ? forced : byte % kParsers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int parser = Selected(data[0]);
  static constexpr long kStatus[] = {200, 200, 200, 400, 403, 429, 500, 502};
  const long status = kStatus[data[1] & 7];
  const std::string_view content_type = (data[1] & 8) != 0 ? "text/html; charset=utf-8" : "application/json";
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  const bool new_api = parser == 9 || parser == 10 || parser == 12;
  const bool token_call = parser == 10 || parser == 11;

  in::Classified c = in::ClassifyResponse(new_api ? in::ApiStyle::kNewApi : in::ApiStyle::kOapi, status,
                                          content_type, body, token_call);
  Check(c.reason != dt::ApiError::kNone || status / 100 == 2, "a non-2xx answer is never a success");
  Check(!c.token_invalid || !token_call, "a token call never asks for a token refresh");
  if (c.reason != dt::ApiError::kNone) {
    Check(in::IsIpBanBody(content_type, body) ? c.reason == dt::ApiError::kUnreachable : true,
          "the IP-ban page is unreachable");
    return 0;
  }
  const in::Json& b = c.body;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  switch (parser) {
    case 0: {
      absl::StatusOr<dt::UserPage> p = in::ParseUserPage(b, 42);
      Expect(p, "user_list");
      if (p.ok()) {
        for (const dt::User& u : p->users) Check(!u.userid.empty(), "a listed user has a userid");
        Check(!p->has_more || p->next_cursor > 0, "has_more comes with a cursor");
      }
      break;
    }
    case 1: {
      absl::StatusOr<dt::User> u = in::ParseUserGet(b);
      Expect(u, "user_get");
      if (u.ok()) Check(!u->userid.empty(), "a fetched user has a userid");
      break;
    }
    case 2: Expect(in::ParseListSub(b), "department_listsub"); break;
    case 3: Expect(in::ParseListSubId(b), "department_listsubid"); break;
    case 4: Expect(in::ParseDepartmentGet(b), "department_get"); break;
    case 5: Expect(in::ParseGetByUnionId(b), "user_getbyunionid"); break;
    case 6: Expect(in::ParseCount(b), "user_count"); break;
    case 7: Expect(in::ParseGetUserInfo(b), "user_getuserinfo"); break;
    case 8: Expect(in::ParseFailedCallbacks(b), "get_call_back_failed_result"); break;
    case 9: Expect(in::ParseMe(b), "contact_users_me"); break;
    case 10: Expect(in::ParseAccessToken(b, now), "oauth2_access_token"); break;
    case 11: Expect(in::ParseAccessToken(b, now), "gettoken"); break;
    case 12: Expect(in::ParseUserAccessToken(b, now), "oauth2_user_access_token"); break;
    default: break;
  }
  return 0;
}

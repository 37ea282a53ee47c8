#pragma once
// Builds the typed results from DingTalk JSON. Never throws; unknown fields are ignored.

#include "absl/status/statusor.h"
#include "dingtalk/internal/json_util.h"
#include "dingtalk/types.h"

namespace sase::dingtalk::internal {

// A user object. `listed_dept_id` (> 0 for v2/user/list items) turns the list-only `leader` and
// `dept_order` scalars into leader_in_dept / dept_order_list entries for that department.
User ParseUser(const Json& obj, int64_t listed_dept_id = 0);
Department ParseDepartment(const Json& obj);

// Whole-body parsers (the body has already passed errcode checks).
absl::StatusOr<UserPage> ParseUserPage(const Json& body, int64_t dept_id);
absl::StatusOr<User> ParseUserGet(const Json& body);
absl::StatusOr<std::vector<Department>> ParseListSub(const Json& body);
absl::StatusOr<std::vector<int64_t>> ParseListSubId(const Json& body);
absl::StatusOr<Department> ParseDepartmentGet(const Json& body);
absl::StatusOr<UnionIdLookup> ParseGetByUnionId(const Json& body);
absl::StatusOr<int64_t> ParseCount(const Json& body);
absl::StatusOr<FreeLoginUser> ParseGetUserInfo(const Json& body);
absl::StatusOr<Me> ParseMe(const Json& body);
absl::StatusOr<FailedCallbackPage> ParseFailedCallbacks(const Json& body);
// Token bodies: new {"accessToken","expireIn"} or old {"access_token","expires_in"}.
absl::StatusOr<AccessToken> ParseAccessToken(const Json& body, absl::Time now);
absl::StatusOr<UserAccessToken> ParseUserAccessToken(const Json& body, absl::Time now);

}  // namespace sase::dingtalk::internal

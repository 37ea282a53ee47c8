#pragma once
// Builds API requests from a parsed command line (no gRPC channel involved). Every error is a
// usage error (InvalidArgument) and never contains a secret value.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sasectl/cli_args.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "sase/dingtalk/v1/identity_source.pb.h"
#include "sase/dingtalk/v1/sync.pb.h"
#include "sase/dingtalk/v1/tenant.pb.h"

namespace sase::sasectl {

namespace v1 = ::sase::dingtalk::v1;

using ReadFile = std::function<absl::StatusOr<std::string>(const std::string& path)>;
// Reads a whole file (the caller drops one trailing "\n" or "\r\n").
absl::StatusOr<std::string> ReadSecretFile(const std::string& path);

// Strict number parsing; the error names the flag.
absl::StatusOr<int64_t> ParseInt64Flag(const std::string& flag, const std::string& value);
// "1,23" → {1, 23}; "all" or "" → {} (the whole organisation).
absl::StatusOr<std::vector<int64_t>> ParseScope(const std::string& value);
// "source=target" → FieldMapping.
absl::StatusOr<v1::FieldMapping> ParseMapping(const std::string& value);

absl::StatusOr<v1::IdentitySourceStatus> ParseIdentitySourceStatus(const std::string& value);
absl::StatusOr<v1::DingTalkType> ParseDingTalkType(const std::string& value);
absl::StatusOr<v1::UserStatus> ParseUserStatus(const std::string& value);
absl::StatusOr<v1::FieldType> ParseFieldType(const std::string& value);

// "idp create": defaults status enabled, type standard, sync_user_info on, cycle 24 hours.
// The AppSecret comes from --app-secret, --app-secret-file, or env SASE_APP_SECRET.
absl::StatusOr<v1::CreateIdentitySourceRequest> BuildCreateIdentitySource(const Invocation& inv,
                                                                         const GetEnv& getenv,
                                                                         const ReadFile& read_file);
// "idp update ID": update_mask lists exactly the fields given on the command line, in the
// order of the IdentitySource message. The AppSecret comes from --app-secret,
// --app-secret-file, or env SASE_APP_SECRET with --app-secret-env. Fails when nothing is given.
absl::StatusOr<v1::UpdateIdentitySourceRequest> BuildUpdateIdentitySource(const Invocation& inv,
                                                                         const GetEnv& getenv,
                                                                         const ReadFile& read_file);

absl::StatusOr<v1::ExtendedField> BuildExtendedField(const Invocation& inv);

// "tenant set": the settings of the global --tenant; --enterprise-id "" clears the identifier
// (the server validates and lower-cases it).
absl::StatusOr<v1::UpdateTenantSettingsRequest> BuildUpdateTenantSettings(const Invocation& inv);

absl::StatusOr<v1::LookupUserRequest> BuildLookupUser(const Invocation& inv);
absl::StatusOr<v1::ListUsersRequest> BuildListUsers(const Invocation& inv);
absl::StatusOr<v1::SearchUsersRequest> BuildSearchUsers(const Invocation& inv);
absl::StatusOr<v1::CheckMembershipRequest> BuildCheckMembership(const Invocation& inv);
absl::StatusOr<v1::GetDepartmentRequest> BuildGetDepartment(const Invocation& inv);
absl::StatusOr<v1::ListDepartmentsRequest> BuildListDepartments(const Invocation& inv);
absl::StatusOr<v1::WatchChangesRequest> BuildWatchChanges(const Invocation& inv);
absl::StatusOr<v1::StartSyncRequest> BuildStartSync(const Invocation& inv);
absl::StatusOr<v1::ListSyncRunsRequest> BuildListSyncRuns(const Invocation& inv);

}  // namespace sase::sasectl

#pragma once
// Human-readable and JSON renderings of API messages (no gRPC channel involved).

#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "sase/dingtalk/v1/directory.pb.h"
#include "sase/dingtalk/v1/identity_source.pb.h"
#include "sase/dingtalk/v1/sync.pb.h"
#include "sase/dingtalk/v1/tenant.pb.h"

namespace sase::sasectl {

namespace v1 = ::sase::dingtalk::v1;

inline constexpr char kSecretMask[] = "********";

// One line of proto3 JSON (proto field names, default values included, 64-bit integers as
// strings as proto3 JSON requires), newline-terminated. Secrets of identity sources are
// replaced by a mask whatever the server sent.
std::string ToJson(const google::protobuf::Message& message);
// Replaces app_secret / aes_key / token values (when non-empty) by kSecretMask.
void RedactSecrets(v1::IdentitySource& source);

std::string StatusName(v1::IdentitySourceStatus s);  // "enabled"
std::string TypeName(v1::DingTalkType t);            // "standard"
std::string UserStatusName(v1::UserStatus s);        // "active"
std::string FieldTypeName(v1::FieldType t);          // "string"
std::string RunStateName(v1::SyncRunState s);        // "succeeded"
std::string ChangeKindName(v1::ChangeKind k);        // "user_created"
std::string FormatTime(const google::protobuf::Timestamp& t);  // "2024-05-01T08:00:00Z", "-" when unset

std::string RenderIdentitySources(const std::vector<v1::IdentitySource>& sources);
std::string RenderIdentitySource(const v1::IdentitySource& source);
std::string RenderIntegrationLinks(const v1::IntegrationLinks& links);
std::string RenderTenantSettings(const v1::TenantSettings& settings);
std::string RenderConnectivity(const v1::TestConnectivityResponse& response);
std::string RenderMappableFields(const v1::ListMappableFieldsResponse& response);
std::string RenderExtendedFields(const std::vector<v1::ExtendedField>& fields);
std::string RenderExtendedField(const v1::ExtendedField& field);

std::string RenderUsers(const std::vector<v1::User>& users);
std::string RenderUser(const v1::User& user);
std::string RenderDepartments(const std::vector<v1::Department>& departments);
std::string RenderDepartment(const v1::Department& department);
std::string RenderUserDepartments(const v1::ListUserDepartmentsResponse& response);
std::string RenderMembership(const v1::CheckMembershipRequest& request, const v1::CheckMembershipResponse& response);

std::string RenderSyncRuns(const std::vector<v1::SyncRun>& runs);
std::string RenderSyncRun(const v1::SyncRun& run);
// "departments  12/40  [#####.....]  users 300/1200  running" style one-liner (no newline).
std::string RenderProgress(const v1::SyncRun& run, int bar_width);
bool IsTerminal(v1::SyncRunState state);

// One line (newline-terminated) describing a change for `watch`.
std::string RenderChangeLine(const v1::Change& change);

}  // namespace sase::sasectl

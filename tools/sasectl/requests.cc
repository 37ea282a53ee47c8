#include "sasectl/requests.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace sase::sasectl {
namespace {

absl::Status UsageError(const std::string& message) { return absl::InvalidArgumentError(message); }

// A secret from --<flag>, --<flag>-file, or (when env_name is set) the environment.
// Returns "" with found=false when none is given.
absl::StatusOr<bool> ResolveSecret(const Invocation& inv, const std::string& flag, const char* env_name,
                                   const GetEnv& getenv, const ReadFile& read_file, std::string* out) {
  const std::string file_flag = flag + "-file";
  int sources = (inv.Has(flag) ? 1 : 0) + (inv.Has(file_flag) ? 1 : 0);
  const char* env_value = (env_name != nullptr && getenv) ? getenv(env_name) : nullptr;
  if (sources > 1) return UsageError(absl::StrCat("give only one of --", flag, " and --", file_flag));
  if (inv.Has(flag)) {
    *out = inv.Get(flag);
  } else if (inv.Has(file_flag)) {
    absl::StatusOr<std::string> content = read_file(inv.Get(file_flag));
    if (!content.ok()) {
      return UsageError(absl::StrCat("--", file_flag, ": ", content.status().message()));
    }
    *out = *std::move(content);
    // Files written by editors or `echo` end with a newline that is not part of the secret.
    if (absl::EndsWith(*out, "\r\n")) {
      out->resize(out->size() - 2);
    } else if (absl::EndsWith(*out, "\n")) {
      out->pop_back();
    }
  } else if (env_value != nullptr && env_value[0] != '\0') {
    *out = env_value;
  } else {
    return false;
  }
  if (out->empty()) return UsageError(absl::StrCat("--", flag, ": the secret is empty"));
  return true;
}

absl::StatusOr<int32_t> ParseInt32Flag(const std::string& flag, const std::string& value) {
  ASSIGN_OR_RETURN(int64_t v, ParseInt64Flag(flag, value));
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return UsageError(absl::StrCat("--", flag, ": ", value, " is out of range"));
  }
  return static_cast<int32_t>(v);
}

template <typename Req>
absl::Status ApplyPaging(const Invocation& inv, Req& req) {
  if (inv.Has("page-size")) {
    ASSIGN_OR_RETURN(int32_t size, ParseInt32Flag("page-size", inv.Get("page-size")));
    req.set_page_size(size);
  }
  req.set_page_token(inv.Get("page-token"));
  return absl::OkStatus();
}

// Fills `src` from the edit flags; appends the IdentitySource field name of every flag given.
absl::Status ApplyIdentitySourceFlags(const Invocation& inv, bool update, const GetEnv& getenv,
                                      const ReadFile& read_file, v1::IdentitySource& src,
                                      std::vector<std::string>& mask) {
  if (inv.Has("name")) {
    src.set_name(inv.Get("name"));
    mask.push_back("name");
  }
  if (inv.Has("description")) {
    src.set_description(inv.Get("description"));
    mask.push_back("description");
  }
  if (inv.Has("status")) {
    ASSIGN_OR_RETURN(v1::IdentitySourceStatus status, ParseIdentitySourceStatus(inv.Get("status")));
    src.set_status(status);
    mask.push_back("status");
  }
  if (inv.Has("corp-id")) {
    src.set_corp_id(inv.Get("corp-id"));
    mask.push_back("corp_id");
  }
  if (inv.Has("app-key")) {
    src.set_app_key(inv.Get("app-key"));
    mask.push_back("app_key");
  }
  std::string secret;
  const char* secret_env = (!update || inv.IsSet("app-secret-env")) ? "SASE_APP_SECRET" : nullptr;
  ASSIGN_OR_RETURN(bool has_secret, ResolveSecret(inv, "app-secret", secret_env, getenv, read_file, &secret));
  if (update && inv.IsSet("app-secret-env") && !has_secret) {
    return UsageError("--app-secret-env: SASE_APP_SECRET is not set");
  }
  if (has_secret) {
    src.set_app_secret(secret);
    mask.push_back("app_secret");
  }
  if (inv.Has("type")) {
    ASSIGN_OR_RETURN(v1::DingTalkType type, ParseDingTalkType(inv.Get("type")));
    src.set_dingtalk_type(type);
    mask.push_back("dingtalk_type");
  }
  ASSIGN_OR_RETURN(bool has_aes, ResolveSecret(inv, "aes-key", nullptr, getenv, read_file, &secret));
  if (has_aes) {
    src.set_aes_key(secret);
    mask.push_back("aes_key");
  }
  ASSIGN_OR_RETURN(bool has_token, ResolveSecret(inv, "token", nullptr, getenv, read_file, &secret));
  if (has_token) {
    src.set_token(secret);
    mask.push_back("token");
  }
  if (inv.Has("accept-corp-id-receiver")) {
    src.set_accept_corp_id_receiver(inv.IsSet("accept-corp-id-receiver"));
    mask.push_back("accept_corp_id_receiver");
  }
  if (inv.Has("auto-sync")) {
    src.set_auto_sync(inv.IsSet("auto-sync"));
    mask.push_back("auto_sync");
  }
  if (inv.Has("sync-user-info")) {
    src.set_sync_user_info(inv.IsSet("sync-user-info"));
    mask.push_back("sync_user_info");
  }
  if (inv.Has("cycle-hours")) {
    ASSIGN_OR_RETURN(int32_t hours, ParseInt32Flag("cycle-hours", inv.Get("cycle-hours")));
    src.set_sync_cycle_hours(hours);
    mask.push_back("sync_cycle_hours");
  }
  if (inv.Has("scope")) {
    ASSIGN_OR_RETURN(std::vector<int64_t> roots, ParseScope(inv.Get("scope")));
    for (int64_t id : roots) src.mutable_scope()->add_root_department_ids(id);
    mask.push_back("scope");
  }
  if (inv.Has("map") && inv.IsSet("clear-maps")) return UsageError("give either --map or --clear-maps");
  if (inv.Has("map") || inv.IsSet("clear-maps")) {
    for (const std::string& m : inv.GetAll("map")) {
      ASSIGN_OR_RETURN(*src.add_field_mappings(), ParseMapping(m));
    }
    mask.push_back("field_mappings");
  }
  if (inv.Has("login-redirect-uri") && inv.IsSet("clear-login-redirect-uris")) {
    return UsageError("give either --login-redirect-uri or --clear-login-redirect-uris");
  }
  if (inv.Has("login-redirect-uri") || inv.IsSet("clear-login-redirect-uris")) {
    for (const std::string& u : inv.GetAll("login-redirect-uri")) src.add_login_redirect_uris(u);
    mask.push_back("login_redirect_uris");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

absl::StatusOr<int64_t> ParseInt64Flag(const std::string& flag, const std::string& value) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(value, &v)) {
    return UsageError(absl::StrCat(flag.empty() ? "" : "--", flag, flag.empty() ? "" : ": ", "\"", value,
                                   "\" is not an integer"));
  }
  return v;
}

absl::StatusOr<std::vector<int64_t>> ParseScope(const std::string& value) {
  std::vector<int64_t> out;
  std::string v(absl::StripAsciiWhitespace(value));
  if (v.empty() || absl::AsciiStrToLower(v) == "all") return out;
  for (absl::string_view part : absl::StrSplit(v, ',')) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(part, &id) || id <= 0) {
      return UsageError(absl::StrCat("--scope: \"", std::string(part), "\" is not a department id (want e.g. 1,23 or all)"));
    }
    out.push_back(id);
  }
  return out;
}

absl::StatusOr<v1::FieldMapping> ParseMapping(const std::string& value) {
  std::vector<std::string> parts = absl::StrSplit(value, absl::MaxSplits('=', 1));
  if (parts.size() != 2 || absl::StripAsciiWhitespace(parts[0]).empty() ||
      absl::StripAsciiWhitespace(parts[1]).empty()) {
    return UsageError(absl::StrCat("--map: \"", value, "\" is not SOURCE=TARGET"));
  }
  v1::FieldMapping m;
  m.set_source_field(std::string(absl::StripAsciiWhitespace(parts[0])));
  m.set_target_field(std::string(absl::StripAsciiWhitespace(parts[1])));
  return m;
}

absl::StatusOr<v1::IdentitySourceStatus> ParseIdentitySourceStatus(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "enabled") return v1::ENABLED;
  if (v == "closed") return v1::CLOSED;
  return UsageError(absl::StrCat("--status takes enabled or closed, not \"", value, "\""));
}

absl::StatusOr<v1::DingTalkType> ParseDingTalkType(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "standard") return v1::STANDARD;
  if (v == "dedicated") return v1::DEDICATED;
  return UsageError(absl::StrCat("--type takes standard or dedicated, not \"", value, "\""));
}

absl::StatusOr<v1::UserStatus> ParseUserStatus(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "active") return v1::USER_ACTIVE;
  if (v == "disabled") return v1::USER_DISABLED;
  if (v == "departed") return v1::USER_DEPARTED;
  return UsageError(absl::StrCat("--status takes active, disabled or departed, not \"", value, "\""));
}

absl::StatusOr<v1::FieldType> ParseFieldType(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "string") return v1::FIELD_STRING;
  if (v == "number") return v1::FIELD_NUMBER;
  if (v == "bool") return v1::FIELD_BOOL;
  if (v == "timestamp") return v1::FIELD_TIMESTAMP;
  return UsageError(absl::StrCat("--type takes string, number, bool or timestamp, not \"", value, "\""));
}

absl::StatusOr<v1::CreateIdentitySourceRequest> BuildCreateIdentitySource(const Invocation& inv,
                                                                         const GetEnv& getenv,
                                                                         const ReadFile& read_file) {
  v1::CreateIdentitySourceRequest req;
  req.set_tenant_id(inv.global.tenant);
  v1::IdentitySource* src = req.mutable_identity_source();
  src->set_tenant_id(inv.global.tenant);
  src->set_status(v1::ENABLED);
  src->set_dingtalk_type(v1::STANDARD);
  src->set_sync_user_info(true);
  src->set_sync_cycle_hours(24);
  std::vector<std::string> mask;
  RETURN_IF_ERROR(ApplyIdentitySourceFlags(inv, /*update=*/false, getenv, read_file, *src, mask));
  return req;
}

absl::StatusOr<v1::UpdateIdentitySourceRequest> BuildUpdateIdentitySource(const Invocation& inv,
                                                                         const GetEnv& getenv,
                                                                         const ReadFile& read_file) {
  v1::UpdateIdentitySourceRequest req;
  req.set_tenant_id(inv.global.tenant);
  v1::IdentitySource* src = req.mutable_identity_source();
  src->set_tenant_id(inv.global.tenant);
  src->set_idp_id(inv.args.at(0));
  std::vector<std::string> mask;
  RETURN_IF_ERROR(ApplyIdentitySourceFlags(inv, /*update=*/true, getenv, read_file, *src, mask));
  if (mask.empty()) return UsageError("idp update: nothing to change (see sasectl idp update --help)");
  for (std::string& path : mask) req.mutable_update_mask()->add_paths(std::move(path));
  if (inv.Has("expected-version")) {
    ASSIGN_OR_RETURN(int64_t version, ParseInt64Flag("expected-version", inv.Get("expected-version")));
    req.set_expected_version(version);
  }
  return req;
}

absl::StatusOr<v1::ExtendedField> BuildExtendedField(const Invocation& inv) {
  v1::ExtendedField field;
  field.set_tenant_id(inv.global.tenant);
  field.set_name(inv.args.at(0));
  field.set_display_name(inv.Get("display-name"));
  if (inv.Has("type")) {
    ASSIGN_OR_RETURN(v1::FieldType type, ParseFieldType(inv.Get("type")));
    field.set_type(type);
  } else if (inv.command != nullptr && inv.command->verb == "create") {
    field.set_type(v1::FIELD_STRING);
  }
  if (inv.command != nullptr && inv.command->verb == "update" && !inv.Has("type") && !inv.Has("display-name")) {
    return UsageError("field update: give --display-name and/or --type");
  }
  return field;
}

absl::StatusOr<v1::UpdateTenantSettingsRequest> BuildUpdateTenantSettings(const Invocation& inv) {
  v1::UpdateTenantSettingsRequest req;
  req.mutable_settings()->set_tenant_id(inv.global.tenant);
  req.mutable_settings()->set_enterprise_id(inv.Get("enterprise-id"));
  if (inv.Has("expected-version")) {
    ASSIGN_OR_RETURN(int64_t version, ParseInt64Flag("expected-version", inv.Get("expected-version")));
    req.set_expected_version(version);
  }
  return req;
}

absl::StatusOr<v1::LookupUserRequest> BuildLookupUser(const Invocation& inv) {
  v1::LookupUserRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  int keys = 0;
  for (const char* k : {"userid", "unionid", "email", "mobile", "job-number"}) keys += inv.Has(k) ? 1 : 0;
  if (keys != 1) {
    return UsageError("user lookup takes exactly one of --userid, --unionid, --email, --mobile, --job-number");
  }
  if (inv.Has("userid")) req.set_dingtalk_userid(inv.Get("userid"));
  if (inv.Has("unionid")) req.set_unionid(inv.Get("unionid"));
  if (inv.Has("email")) req.set_email(inv.Get("email"));
  if (inv.Has("mobile")) req.set_mobile(inv.Get("mobile"));
  if (inv.Has("job-number")) req.set_job_number(inv.Get("job-number"));
  return req;
}

absl::StatusOr<v1::ListUsersRequest> BuildListUsers(const Invocation& inv) {
  v1::ListUsersRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  if (inv.Has("dept")) {
    ASSIGN_OR_RETURN(int64_t dept, ParseInt64Flag("dept", inv.Get("dept")));
    req.set_department_id(dept);
  }
  if (inv.IsSet("subtree")) {
    if (!inv.Has("dept")) return UsageError("--subtree needs --dept");
    req.set_include_descendants(true);
  }
  if (inv.Has("status")) {
    ASSIGN_OR_RETURN(v1::UserStatus status, ParseUserStatus(inv.Get("status")));
    req.set_status(status);
  }
  RETURN_IF_ERROR(ApplyPaging(inv, req));
  return req;
}

absl::StatusOr<v1::SearchUsersRequest> BuildSearchUsers(const Invocation& inv) {
  v1::SearchUsersRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  req.set_query(inv.args.at(0));
  RETURN_IF_ERROR(ApplyPaging(inv, req));
  return req;
}

absl::StatusOr<v1::CheckMembershipRequest> BuildCheckMembership(const Invocation& inv) {
  v1::CheckMembershipRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_user_id(inv.args.at(0));
  ASSIGN_OR_RETURN(int64_t dept, ParseInt64Flag("", inv.args.at(1)));
  req.set_department_id(dept);
  return req;
}

absl::StatusOr<v1::GetDepartmentRequest> BuildGetDepartment(const Invocation& inv) {
  v1::GetDepartmentRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  ASSIGN_OR_RETURN(int64_t dept, ParseInt64Flag("", inv.args.at(0)));
  req.set_department_id(dept);
  return req;
}

absl::StatusOr<v1::ListDepartmentsRequest> BuildListDepartments(const Invocation& inv) {
  v1::ListDepartmentsRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  if (inv.Has("parent")) {
    ASSIGN_OR_RETURN(int64_t parent, ParseInt64Flag("parent", inv.Get("parent")));
    req.set_parent_id(parent);
  }
  req.set_subtree(inv.IsSet("subtree"));
  RETURN_IF_ERROR(ApplyPaging(inv, req));
  return req;
}

absl::StatusOr<v1::WatchChangesRequest> BuildWatchChanges(const Invocation& inv) {
  v1::WatchChangesRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  if (inv.Has("after") && inv.IsSet("from-now")) return UsageError("give either --after or --from-now");
  if (inv.Has("after")) {
    ASSIGN_OR_RETURN(int64_t after, ParseInt64Flag("after", inv.Get("after")));
    if (after < 0) return UsageError("--after must not be negative");
    req.set_after_seq(after);
  }
  req.set_from_now(inv.IsSet("from-now"));
  return req;
}

absl::StatusOr<v1::StartSyncRequest> BuildStartSync(const Invocation& inv) {
  v1::StartSyncRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  req.set_departments_only(inv.IsSet("departments-only"));
  return req;
}

absl::StatusOr<v1::ListSyncRunsRequest> BuildListSyncRuns(const Invocation& inv) {
  v1::ListSyncRunsRequest req;
  req.set_tenant_id(inv.global.tenant);
  req.set_idp_id(inv.Get("idp"));
  RETURN_IF_ERROR(ApplyPaging(inv, req));
  return req;
}

}  // namespace sase::sasectl

#include "sync_worker/admin/identity_source_service.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/timestamp.h"
#include "common/validation.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "sync_worker/admin/rules.h"
#include "sync_worker/source/source_probe.h"

namespace sase::sync_worker {
namespace {

static_assert(store::kChangeIdentitySourceUpdated == pb::CHANGE_IDENTITY_SOURCE_UPDATED);
static_assert(store::kChangeIdentitySourceDeleted == pb::CHANGE_IDENTITY_SOURCE_DELETED);
static_assert(static_cast<int>(FieldKind::kString) == pb::FIELD_STRING);
static_assert(static_cast<int>(FieldKind::kTimestamp) == pb::FIELD_TIMESTAMP);


constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kMaxExtensionKeys = 500;

// Paths of IdentitySource an update_mask may name, in the order they are validated and applied.
const std::vector<std::string>& UpdatablePaths() {
  static const std::vector<std::string> kPaths = {
      "name",          "description",   "status",      "corp_id",    "app_key",
      "app_secret",    "dingtalk_type", "aes_key",     "token",      "accept_corp_id_receiver",
      "auto_sync",     "sync_user_info", "sync_cycle_hours", "scope", "field_mappings",
      "deletion_guard.max_departures", "deletion_guard.max_departure_percent", "login_redirect_uris"};
  return kPaths;
}

// Canonical paths named by the mask ("scope.root_department_ids" = "scope", "deletion_guard" = both
// of its fields). INVALID_ARGUMENT naming update_mask for anything else.
absl::StatusOr<std::set<std::string>> MaskPaths(const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError("update_mask: required (name the fields to change)");
  }
  std::set<std::string> out;
  for (const std::string& p : mask.paths()) {
    if (p == "scope.root_department_ids") {
      out.insert("scope");
    } else if (p == "deletion_guard") {
      out.insert("deletion_guard.max_departures");
      out.insert("deletion_guard.max_departure_percent");
    } else {
      bool known = false;
      for (const std::string& u : UpdatablePaths()) known = known || u == p;
      if (!known) return absl::InvalidArgumentError(absl::StrCat("update_mask: unknown or read-only field \"", p, "\""));
      out.insert(p);
    }
  }
  return out;
}

std::set<std::string> AllPaths() {
  return std::set<std::string>(UpdatablePaths().begin(), UpdatablePaths().end());
}

absl::Status NotTheMask(std::string_view field, const std::string& value) {
  if (value == store::kSecretMask) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": pass the secret itself, not the mask"));
  }
  return absl::OkStatus();
}

// Validates the fields of `s` named in `paths`. `create`: required fields must be present.
absl::Status ValidateSourceFields(const pb::IdentitySource& s, const std::set<std::string>& paths) {
  auto has = [&](const char* p) { return paths.count(p) > 0; };
  if (has("name")) RETURN_IF_ERROR(ValidateSourceName(s.name()));
  if (has("description")) RETURN_IF_ERROR(ValidateText("description", s.description(), 0, 500));
  if (has("status") && (!pb::IdentitySourceStatus_IsValid(s.status()) ||
                        s.status() == pb::IDENTITY_SOURCE_STATUS_UNSPECIFIED)) {
    return absl::InvalidArgumentError("status: must be ENABLED or CLOSED");
  }
  if (has("corp_id")) RETURN_IF_ERROR(ValidateToken("corp_id", s.corp_id(), 128));
  if (has("app_key")) RETURN_IF_ERROR(ValidateToken("app_key", s.app_key(), 128));
  if (has("app_secret")) {
    RETURN_IF_ERROR(NotTheMask("app_secret", s.app_secret()));
    RETURN_IF_ERROR(ValidateToken("app_secret", s.app_secret(), 256));
  }
  if (has("dingtalk_type") &&
      (!pb::DingTalkType_IsValid(s.dingtalk_type()) || s.dingtalk_type() == pb::DINGTALK_TYPE_UNSPECIFIED)) {
    return absl::InvalidArgumentError("dingtalk_type: must be STANDARD or DEDICATED");
  }
  if (has("aes_key") && !s.aes_key().empty()) RETURN_IF_ERROR(ValidateAesKey(s.aes_key()));
  if (has("token") && !s.token().empty()) {
    RETURN_IF_ERROR(NotTheMask("token", s.token()));
    RETURN_IF_ERROR(ValidateToken("token", s.token(), 128));
  }
  if (has("sync_cycle_hours")) RETURN_IF_ERROR(ValidateSyncCycleHours(s.sync_cycle_hours()));
  if (has("scope")) {
    RETURN_IF_ERROR(ValidateScope({s.scope().root_department_ids().begin(), s.scope().root_department_ids().end()}));
  }
  if (has("field_mappings")) {
    std::vector<store::FieldMappingRecord> in;
    for (const auto& m : s.field_mappings()) in.push_back({m.source_field(), m.target_field()});
    RETURN_IF_ERROR(ValidateFieldMappings(in));
  }
  if (has("deletion_guard.max_departures")) {
    RETURN_IF_ERROR(ValidateDeletionGuard(s.deletion_guard().max_departures(), 0));
  }
  if (has("deletion_guard.max_departure_percent")) {
    RETURN_IF_ERROR(ValidateDeletionGuard(0, s.deletion_guard().max_departure_percent()));
  }
  if (has("login_redirect_uris")) {
    RETURN_IF_ERROR(ValidateRedirectUris({s.login_redirect_uris().begin(), s.login_redirect_uris().end()}));
  }
  return absl::OkStatus();
}

// Copies the fields named in `paths` from `s` into `r` / `secrets`.
void ApplyFields(const pb::IdentitySource& s, const std::set<std::string>& paths, store::IdentitySourceRecord& r,
                 store::SecretChanges& secrets) {
  auto has = [&](const char* p) { return paths.count(p) > 0; };
  if (has("name")) r.name = s.name();
  if (has("description")) r.description = s.description();
  if (has("status")) r.status = s.status();
  if (has("corp_id")) r.corp_id = s.corp_id();
  if (has("app_key")) r.app_key = s.app_key();
  if (has("app_secret")) secrets.app_secret = s.app_secret();
  if (has("dingtalk_type")) r.dingtalk_type = s.dingtalk_type();
  if (has("aes_key")) secrets.aes_key = s.aes_key();
  if (has("token")) secrets.token = s.token();
  if (has("accept_corp_id_receiver")) r.accept_corp_id_receiver = s.accept_corp_id_receiver();
  if (has("auto_sync")) r.auto_sync = s.auto_sync();
  if (has("sync_user_info")) r.sync_user_info = s.sync_user_info();
  if (has("sync_cycle_hours")) r.sync_cycle_hours = s.sync_cycle_hours();
  if (has("scope")) r.scope_root_dept_ids.assign(s.scope().root_department_ids().begin(), s.scope().root_department_ids().end());
  if (has("field_mappings")) {
    r.field_mappings.clear();
    for (const auto& m : s.field_mappings()) r.field_mappings.push_back({m.source_field(), m.target_field()});
  }
  if (has("deletion_guard.max_departures")) r.deletion_max_departures = s.deletion_guard().max_departures();
  if (has("deletion_guard.max_departure_percent")) r.deletion_max_percent = s.deletion_guard().max_departure_percent();
  if (has("login_redirect_uris")) r.login_redirect_uris.assign(s.login_redirect_uris().begin(), s.login_redirect_uris().end());
}

void ToProto(const store::IdentitySourceRecord& r, pb::IdentitySource* out) {
  out->Clear();
  out->set_tenant_id(r.tenant_id);
  out->set_idp_id(r.idp_id);
  out->set_name(r.name);
  out->set_description(r.description);
  out->set_status(static_cast<pb::IdentitySourceStatus>(r.status));
  out->set_corp_id(r.corp_id);
  out->set_app_key(r.app_key);
  // Reads carry only the mask (the repository never hands out plaintext here).
  out->set_app_secret(r.app_secret_set ? store::kSecretMask : "");
  out->set_aes_key(r.aes_key_set ? store::kSecretMask : "");
  out->set_token(r.token_set ? store::kSecretMask : "");
  out->set_app_secret_set(r.app_secret_set);
  out->set_aes_key_set(r.aes_key_set);
  out->set_token_set(r.token_set);
  out->set_dingtalk_type(static_cast<pb::DingTalkType>(r.dingtalk_type));
  out->set_accept_corp_id_receiver(r.accept_corp_id_receiver);
  out->set_auto_sync(r.auto_sync);
  out->set_sync_user_info(r.sync_user_info);
  out->set_sync_cycle_hours(r.sync_cycle_hours);
  for (int64_t id : r.scope_root_dept_ids) out->mutable_scope()->add_root_department_ids(id);
  for (const auto& m : r.field_mappings) {
    pb::FieldMapping* fm = out->add_field_mappings();
    fm->set_source_field(m.source_field);
    fm->set_target_field(m.target_field);
  }
  out->mutable_deletion_guard()->set_max_departures(r.deletion_max_departures);
  out->mutable_deletion_guard()->set_max_departure_percent(r.deletion_max_percent);
  for (const std::string& u : r.login_redirect_uris) out->add_login_redirect_uris(u);
  common::SetTimestamp(r.create_time, out->mutable_create_time());
  common::SetTimestamp(r.update_time, out->mutable_update_time());
  out->set_version(r.version);
}

void ToProto(const store::ExtendedFieldRecord& r, pb::ExtendedField* out) {
  out->set_tenant_id(r.tenant_id);
  out->set_name(r.name);
  out->set_display_name(r.display_name);
  out->set_type(static_cast<pb::FieldType>(r.type));
  common::SetTimestamp(r.create_time, out->mutable_create_time());
  common::SetTimestamp(r.update_time, out->mutable_update_time());
}

absl::Status ValidateExtendedField(const pb::ExtendedField& f) {
  RETURN_IF_ERROR(ValidateExtendedFieldName("name", f.name()));
  RETURN_IF_ERROR(ValidateText("display_name", f.display_name(), 1, 100));
  if (!pb::FieldType_IsValid(f.type()) || f.type() == pb::FIELD_TYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError("type: must be FIELD_STRING, FIELD_NUMBER, FIELD_BOOL or FIELD_TIMESTAMP");
  }
  return absl::OkStatus();
}

absl::Status CheckEmbeddedTenant(const std::string& tenant_id, const std::string& embedded, std::string_view field) {
  if (!embedded.empty() && embedded != tenant_id) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": differs from tenant_id"));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status IdentitySourceServiceImpl::CreateIdentitySource(grpc::ServerContext*,
                                                             const pb::CreateIdentitySourceRequest* req,
                                                             pb::IdentitySource* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    if (!req->has_identity_source()) return absl::InvalidArgumentError("identity_source: required");
    const pb::IdentitySource& src = req->identity_source();
    RETURN_IF_ERROR(CheckEmbeddedTenant(req->tenant_id(), src.tenant_id(), "identity_source.tenant_id"));
    // Required on create; validated by ValidateSourceFields below when present.
    if (src.name().empty()) return absl::InvalidArgumentError("name: required");
    if (src.corp_id().empty()) return absl::InvalidArgumentError("corp_id: required");
    if (src.app_key().empty()) return absl::InvalidArgumentError("app_key: required");
    if (src.app_secret().empty()) return absl::InvalidArgumentError("app_secret: required");
    if (src.status() == pb::IDENTITY_SOURCE_STATUS_UNSPECIFIED) return absl::InvalidArgumentError("status: required");
    if (src.dingtalk_type() == pb::DINGTALK_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError("dingtalk_type: required");
    }
    if (src.sync_cycle_hours() == 0) return absl::InvalidArgumentError("sync_cycle_hours: required");
    RETURN_IF_ERROR(ValidateSourceFields(src, AllPaths()));
    store::IdentitySourceRecord rec;
    store::SecretChanges secrets;
    ApplyFields(src, AllPaths(), rec, secrets);
    rec.tenant_id = req->tenant_id();
    rec.app_secret = secrets.app_secret.value_or("");
    rec.aes_key = secrets.aes_key.value_or("");
    rec.token = secrets.token.value_or("");
    ASSIGN_OR_RETURN(store::IdentitySourceRecord created, sources_.Create(rec));
    common::LogInfo("identity source created",
                    {{"tenant_id", created.tenant_id}, {"idp_id", created.idp_id}, {"name", created.name}});
    ToProto(created, resp);
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::GetIdentitySource(grpc::ServerContext*, const pb::GetIdentitySourceRequest* req,
                                                          pb::IdentitySource* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    ASSIGN_OR_RETURN(store::IdentitySourceRecord rec, sources_.Get(req->tenant_id(), req->idp_id()));
    ToProto(rec, resp);
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::ListIdentitySources(grpc::ServerContext*,
                                                            const pb::ListIdentitySourcesRequest* req,
                                                            pb::ListIdentitySourcesResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    ASSIGN_OR_RETURN(int page_size, common::ResolvePageSize(req->page_size(), kDefaultPageSize, kMaxPageSize));
    ASSIGN_OR_RETURN(store::IdentitySourcePage page, sources_.List(req->tenant_id(), page_size, req->page_token()));
    for (const auto& rec : page.items) ToProto(rec, resp->add_identity_sources());
    resp->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::UpdateIdentitySource(grpc::ServerContext*,
                                                             const pb::UpdateIdentitySourceRequest* req,
                                                             pb::IdentitySource* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    if (!req->has_identity_source()) return absl::InvalidArgumentError("identity_source: required");
    const pb::IdentitySource& src = req->identity_source();
    RETURN_IF_ERROR(CheckEmbeddedTenant(req->tenant_id(), src.tenant_id(), "identity_source.tenant_id"));
    RETURN_IF_ERROR(common::ValidateUuid("identity_source.idp_id", src.idp_id()));
    if (req->expected_version() < 0) return absl::InvalidArgumentError("expected_version: must not be negative");
    ASSIGN_OR_RETURN(std::set<std::string> paths, MaskPaths(req->update_mask()));
    RETURN_IF_ERROR(ValidateSourceFields(src, paths));
    ASSIGN_OR_RETURN(store::IdentitySourceRecord updated,
                     sources_.Update(req->tenant_id(), src.idp_id(), req->expected_version(),
                                     [&](store::IdentitySourceRecord& r, store::SecretChanges& secrets) {
                                       ApplyFields(src, paths, r, secrets);
                                       return absl::OkStatus();
                                     }));
    common::LogInfo("identity source updated", {{"tenant_id", updated.tenant_id},
                                                {"idp_id", updated.idp_id},
                                                {"version", static_cast<long long>(updated.version)}});
    ToProto(updated, resp);
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::DeleteIdentitySource(grpc::ServerContext*,
                                                             const pb::DeleteIdentitySourceRequest* req,
                                                             pb::DeleteIdentitySourceResponse*) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    RETURN_IF_ERROR(sources_.Delete(req->tenant_id(), req->idp_id()));
    common::LogInfo("identity source deleted", {{"tenant_id", req->tenant_id()}, {"idp_id", req->idp_id()}});
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::TestConnectivity(grpc::ServerContext*, const pb::TestConnectivityRequest* req,
                                                         pb::TestConnectivityResponse* resp) {
  return common::ToGrpcStatus(probe_.TestConnectivity(*req, resp));
}

grpc::Status IdentitySourceServiceImpl::ListSourceDepartments(grpc::ServerContext*,
                                                              const pb::ListSourceDepartmentsRequest* req,
                                                              pb::ListSourceDepartmentsResponse* resp) {
  return common::ToGrpcStatus(probe_.ListSourceDepartments(*req, resp));
}

grpc::Status IdentitySourceServiceImpl::ListMappableFields(grpc::ServerContext*,
                                                           const pb::ListMappableFieldsRequest* req,
                                                           pb::ListMappableFieldsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    std::vector<std::string> extension_keys;
    if (!req->idp_id().empty()) {
      RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
      ASSIGN_OR_RETURN(extension_keys, sources_.ListExtensionKeys(req->tenant_id(), req->idp_id(), kMaxExtensionKeys));
    }
    ASSIGN_OR_RETURN(std::vector<store::ExtendedFieldRecord> ext, fields_.List(req->tenant_id()));
    for (const FieldSpec& f : DingTalkSourceFields()) {
      pb::MappableField* m = resp->add_source_fields();
      m->set_name(f.name);
      m->set_display_name(f.display_name);
      m->set_type(static_cast<pb::FieldType>(f.kind));
    }
    for (const std::string& key : extension_keys) {
      pb::MappableField* m = resp->add_source_fields();
      m->set_name(absl::StrCat("extension.", key));
      m->set_display_name(absl::StrCat("Extension: ", key));
      m->set_type(pb::FIELD_STRING);
    }
    for (const FieldSpec& f : LocalTargetFields()) {
      pb::MappableField* m = resp->add_target_fields();
      m->set_name(f.name);
      m->set_display_name(f.display_name);
      m->set_type(static_cast<pb::FieldType>(f.kind));
    }
    for (const store::ExtendedFieldRecord& f : ext) {
      pb::MappableField* m = resp->add_target_fields();
      m->set_name(absl::StrCat("ext.", f.name));
      m->set_display_name(f.display_name);
      m->set_type(static_cast<pb::FieldType>(f.type));
    }
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::GetIntegrationLinks(grpc::ServerContext*,
                                                            const pb::GetIntegrationLinksRequest* req,
                                                            pb::IntegrationLinks* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
    if (options_.public_host.empty()) {
      return absl::FailedPreconditionError("sync_worker has no public_host configured (config key public_host)");
    }
    ASSIGN_OR_RETURN(store::IdentitySourceRecord rec, sources_.Get(req->tenant_id(), req->idp_id()));
    const std::string base = absl::StrCat("https://", options_.public_host);
    resp->set_event_request_url(absl::StrCat(base, "/dingtalk/events/", rec.idp_id));
    resp->set_homepage_url(absl::StrCat(base, "/ui/dingAuth/?idp_id=", rec.idp_id));
    resp->set_callback_url(absl::StrCat(base, "/open-dev/dingtalk"));
    resp->set_login_url(absl::StrCat(base, "/dingtalk/login/", rec.idp_id));
    resp->set_qr_login_url(absl::StrCat(base, "/dingtalk/login/", rec.idp_id, "/qr"));
    return absl::OkStatus();
  });
}

namespace {

// The shared validation of CreateExtendedField and UpdateExtendedField.
absl::StatusOr<store::ExtendedFieldRecord> ValidatedExtendedField(const std::string& tenant_id, bool has_field,
                                                                  const pb::ExtendedField& field) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  if (!has_field) return absl::InvalidArgumentError("field: required");
  RETURN_IF_ERROR(CheckEmbeddedTenant(tenant_id, field.tenant_id(), "field.tenant_id"));
  RETURN_IF_ERROR(ValidateExtendedField(field));
  return store::ExtendedFieldRecord{.tenant_id = tenant_id,
                                    .name = field.name(),
                                    .display_name = field.display_name(),
                                    .type = field.type()};
}

}  // namespace

// Create and Update of an extended field: validate the request's field, write it, answer the
// stored field.
template <typename Request, typename Write>
grpc::Status WriteExtendedField(const Request& req, pb::ExtendedField* resp, Write write) {
  return common::Serve([&]() -> absl::Status {
    ASSIGN_OR_RETURN(store::ExtendedFieldRecord input,
                     ValidatedExtendedField(req.tenant_id(), req.has_field(), req.field()));
    ASSIGN_OR_RETURN(store::ExtendedFieldRecord rec, write(input));
    ToProto(rec, resp);
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::CreateExtendedField(grpc::ServerContext*,
                                                            const pb::CreateExtendedFieldRequest* req,
                                                            pb::ExtendedField* resp) {
  return WriteExtendedField(*req, resp, [this](const store::ExtendedFieldRecord& in) { return fields_.Create(in); });
}

grpc::Status IdentitySourceServiceImpl::ListExtendedFields(grpc::ServerContext*,
                                                           const pb::ListExtendedFieldsRequest* req,
                                                           pb::ListExtendedFieldsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    ASSIGN_OR_RETURN(std::vector<store::ExtendedFieldRecord> recs, fields_.List(req->tenant_id()));
    for (const auto& r : recs) ToProto(r, resp->add_fields());
    return absl::OkStatus();
  });
}

grpc::Status IdentitySourceServiceImpl::UpdateExtendedField(grpc::ServerContext*,
                                                            const pb::UpdateExtendedFieldRequest* req,
                                                            pb::ExtendedField* resp) {
  return WriteExtendedField(*req, resp, [this](const store::ExtendedFieldRecord& in) { return fields_.Update(in); });
}

grpc::Status IdentitySourceServiceImpl::DeleteExtendedField(grpc::ServerContext*,
                                                            const pb::DeleteExtendedFieldRequest* req,
                                                            pb::DeleteExtendedFieldResponse*) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(common::ValidateTenantId(req->tenant_id()));
    RETURN_IF_ERROR(ValidateExtendedFieldName("name", req->name()));
    return fields_.Delete(req->tenant_id(), req->name());
  });
}

}  // namespace sase::sync_worker

#include "store/login_repository.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/validation.h"

namespace sase::store {
namespace {

constexpr char kSourceColumns[] =
    "tenant_id, idp_id::text, name, description, status, app_key, corp_id, dingtalk_type, "
    "to_jsonb(login_redirect_uris)::text";

absl::StatusOr<LoginSourceRecord> SourceFromRow(const pqxx::row& row) {
  LoginSourceRecord r;
  int i = 0;
  r.tenant_id = row[i++].as<std::string>();
  r.idp_id = row[i++].as<std::string>();
  r.name = row[i++].as<std::string>();
  r.description = row[i++].as<std::string>();
  r.status = row[i++].as<int>();
  r.app_key = row[i++].as<std::string>();
  r.corp_id = row[i++].as<std::string>();
  r.dingtalk_type = row[i++].as<int>();
  nlohmann::json uris = nlohmann::json::parse(row[i++].as<std::string>(), nullptr, false);
  if (!uris.is_array()) return absl::DataLossError("identity_sources.login_redirect_uris: unreadable");
  for (const auto& u : uris) {
    if (!u.is_string()) return absl::DataLossError("identity_sources.login_redirect_uris: unreadable");
    r.redirect_uris.push_back(u.get<std::string>());
  }
  return r;
}

TenantSettingsRecord SettingsFromRow(const std::string& tenant_id, const pqxx::row& row) {
  TenantSettingsRecord r;
  r.tenant_id = tenant_id;
  r.enterprise_id = row[0].is_null() ? "" : row[0].as<std::string>();
  r.version = row[1].as<int64_t>();
  r.update_time = absl::FromUnixMicros(row[2].as<int64_t>());
  return r;
}

constexpr char kSettingsColumns[] = "enterprise_id, version, (extract(epoch from updated_at) * 1000000)::bigint";

}  // namespace

absl::StatusOr<TenantSettingsRecord> TenantSettingsRepository::Get(const std::string& tenant_id) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  return pool_.Run<TenantSettingsRecord>([&](pqxx::connection& c) -> absl::StatusOr<TenantSettingsRecord> {
    pqxx::nontransaction tx(c);
    pqxx::result res = tx.exec_params(
        absl::StrCat("SELECT ", kSettingsColumns, " FROM tenant_settings WHERE tenant_id = $1"), tenant_id);
    if (res.empty()) return TenantSettingsRecord{tenant_id, "", 0, absl::Time{}};
    return SettingsFromRow(tenant_id, res[0]);
  });
}

absl::StatusOr<TenantSettingsRecord> TenantSettingsRepository::Update(const std::string& tenant_id,
                                                                      const std::string& enterprise_id,
                                                                      int64_t expected_version) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  return pool_.Run<TenantSettingsRecord>([&](pqxx::connection& c) -> absl::StatusOr<TenantSettingsRecord> {
    pqxx::work tx(c);
    pqxx::result cur =
        tx.exec_params("SELECT version FROM tenant_settings WHERE tenant_id = $1 FOR UPDATE", tenant_id);
    const int64_t version = cur.empty() ? 0 : cur[0][0].as<int64_t>();
    if (expected_version != 0 && expected_version != version) {
      return absl::AbortedError(absl::StrCat("expected_version: the settings are at version ", version));
    }
    pqxx::result res;
    try {
      res = tx.exec_params(
          absl::StrCat("INSERT INTO tenant_settings (tenant_id, enterprise_id) VALUES ($1, NULLIF($2, '')) "
                       "ON CONFLICT (tenant_id) DO UPDATE SET enterprise_id = EXCLUDED.enterprise_id, "
                       "version = tenant_settings.version + 1, updated_at = now() RETURNING ",
                       kSettingsColumns),
          tenant_id, enterprise_id);
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError("enterprise_id: already used by another tenant");
    }
    tx.commit();
    return SettingsFromRow(tenant_id, res[0]);
  });
}

absl::StatusOr<std::vector<LoginSourceRecord>> LoginRepository::ListEnabledForEnterprise(
    const std::string& enterprise_id) {
  const std::string id = absl::AsciiStrToLower(enterprise_id);
  return pool_.Run<std::vector<LoginSourceRecord>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::vector<LoginSourceRecord>> {
        pqxx::nontransaction tx(c);
        // status 1 = ENABLED
        pqxx::result res = tx.exec_params(
            absl::StrCat("SELECT ", kSourceColumns,
                         " FROM identity_sources s WHERE s.status = 1 AND s.tenant_id = "
                         "(SELECT tenant_id FROM tenant_settings WHERE enterprise_id = $1) ORDER BY s.name"),
            id);
        std::vector<LoginSourceRecord> out;
        for (const pqxx::row& row : res) {
          ASSIGN_OR_RETURN(LoginSourceRecord r, SourceFromRow(row));
          out.push_back(std::move(r));
        }
        return out;
      });
}

absl::StatusOr<LoginSourceRecord> LoginRepository::GetSource(const std::string& idp_id) {
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id));
  return pool_.Run<LoginSourceRecord>([&](pqxx::connection& c) -> absl::StatusOr<LoginSourceRecord> {
    pqxx::nontransaction tx(c);
    pqxx::result res = tx.exec_params(
        absl::StrCat("SELECT ", kSourceColumns, " FROM identity_sources WHERE idp_id = $1::uuid"), idp_id);
    if (res.empty()) return absl::NotFoundError("idp_id: no such identity source");
    return SourceFromRow(res[0]);
  });
}

absl::StatusOr<bool> LoginRepository::ConsumeNonce(const std::string& nonce, const std::string& idp_id,
                                                   absl::Time expires_at) {
  if (nonce.empty() || nonce.size() > 128) return absl::InvalidArgumentError("nonce: 1-128 characters");
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id));
  return pool_.Run<bool>([&](pqxx::connection& c) -> absl::StatusOr<bool> {
    pqxx::work tx(c);
    pqxx::result res = tx.exec_params(
        "INSERT INTO login_nonces (nonce, idp_id, expires_at) VALUES ($1, $2::uuid, to_timestamp($3::double precision "
        "/ 1000000)) ON CONFLICT (nonce) DO NOTHING",
        nonce, idp_id, absl::ToUnixMicros(expires_at));
    tx.commit();
    return res.affected_rows() == 1;
  });
}

absl::StatusOr<int64_t> LoginRepository::PurgeExpiredNonces() {
  return pool_.Run<int64_t>([&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::work tx(c);
    pqxx::result res = tx.exec("DELETE FROM login_nonces WHERE expires_at < now()");
    tx.commit();
    return static_cast<int64_t>(res.affected_rows());
  });
}

absl::StatusOr<std::optional<LoginUserRecord>> LoginRepository::FindUser(const std::string& idp_id,
                                                                        const std::string& dingtalk_userid) {
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id));
  return pool_.Run<std::optional<LoginUserRecord>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<LoginUserRecord>> {
        pqxx::nontransaction tx(c);
        pqxx::result res = tx.exec_params(
            "SELECT user_id::text, tenant_id, dingtalk_userid, name, status, active, to_jsonb(dept_ids)::text "
            "FROM users WHERE idp_id = $1::uuid AND dingtalk_userid = $2",
            idp_id, dingtalk_userid);
        if (res.empty()) return std::optional<LoginUserRecord>();
        const pqxx::row& row = res[0];
        LoginUserRecord u;
        u.user_id = row[0].as<std::string>();
        u.tenant_id = row[1].as<std::string>();
        u.dingtalk_userid = row[2].as<std::string>();
        u.name = row[3].as<std::string>();
        u.status = row[4].as<int>();
        u.active = row[5].as<bool>();
        nlohmann::json depts = nlohmann::json::parse(row[6].as<std::string>(), nullptr, false);
        if (!depts.is_array()) return absl::DataLossError("users.dept_ids: unreadable");
        for (const auto& d : depts) {
          if (!d.is_number_integer()) return absl::DataLossError("users.dept_ids: unreadable");
          u.dept_ids.push_back(d.get<int64_t>());
        }
        return std::optional<LoginUserRecord>(std::move(u));
      });
}

absl::Status LoginRepository::TouchSigningKey(const std::string& kid, const std::string& public_jwk_json) {
  return pool_.RunStatus([&](pqxx::connection& c) -> absl::Status {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO login_signing_keys (kid, public_jwk) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (kid) DO UPDATE SET last_used_at = now()",
        kid, public_jwk_json);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> LoginRepository::RecentSigningKeys(absl::Duration max_age) {
  return pool_.Run<std::vector<std::string>>([&](pqxx::connection& c) -> absl::StatusOr<std::vector<std::string>> {
    pqxx::nontransaction tx(c);
    pqxx::result res = tx.exec_params(
        "SELECT public_jwk::text FROM login_signing_keys "
        "WHERE last_used_at > now() - make_interval(secs => $1::double precision) ORDER BY last_used_at DESC",
        absl::ToDoubleSeconds(max_age));
    std::vector<std::string> out;
    for (const pqxx::row& row : res) out.push_back(row[0].as<std::string>());
    return out;
  });
}

}  // namespace sase::store

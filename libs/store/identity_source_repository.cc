#include "store/identity_source_repository.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "store/change_log.h"

namespace sase::store {
namespace {

constexpr char kPageKind[] = "idsrc";
constexpr char kOrigin[] = "admin";

// Column list read by every query that returns a record (see RecordFromRow).
constexpr char kColumns[] =
    "idp_id::text, tenant_id, name, description, status, corp_id, app_key, app_secret_enc IS NOT NULL, "
    "aes_key_enc IS NOT NULL, token_enc IS NOT NULL, dingtalk_type, accept_corp_id_receiver, auto_sync, "
    "sync_user_info, sync_cycle_hours, to_jsonb(scope_root_dept_ids)::text, field_mappings::text, "
    "deletion_max_departures, deletion_max_percent, version, "
    "(extract(epoch from created_at) * 1000000)::bigint, (extract(epoch from updated_at) * 1000000)::bigint, "
    "to_jsonb(login_redirect_uris)::text";

// text[] parameters travel as a JSON array of strings (no array-literal quoting to get wrong).
std::string StringsJson(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

absl::StatusOr<std::string> NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) return absl::InternalError("no randomness for a UUID");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

std::string DeptIdsLiteral(const std::vector<int64_t>& ids) { return absl::StrCat("{", absl::StrJoin(ids, ","), "}"); }

std::string MappingsJson(const std::vector<FieldMappingRecord>& mappings) {
  nlohmann::json arr = nlohmann::json::array();
  for (const FieldMappingRecord& m : mappings) {
    arr.push_back({{"source_field", m.source_field}, {"target_field", m.target_field}});
  }
  return arr.dump();
}

absl::StatusOr<IdentitySourceRecord> RecordFromRow(const pqxx::row& row) {
  IdentitySourceRecord r;
  int i = 0;
  r.idp_id = row[i++].as<std::string>();
  r.tenant_id = row[i++].as<std::string>();
  r.name = row[i++].as<std::string>();
  r.description = row[i++].as<std::string>();
  r.status = row[i++].as<int>();
  r.corp_id = row[i++].as<std::string>();
  r.app_key = row[i++].as<std::string>();
  r.app_secret_set = row[i++].as<bool>();
  r.aes_key_set = row[i++].as<bool>();
  r.token_set = row[i++].as<bool>();
  r.app_secret = r.app_secret_set ? kSecretMask : "";
  r.aes_key = r.aes_key_set ? kSecretMask : "";
  r.token = r.token_set ? kSecretMask : "";
  r.dingtalk_type = row[i++].as<int>();
  r.accept_corp_id_receiver = row[i++].as<bool>();
  r.auto_sync = row[i++].as<bool>();
  r.sync_user_info = row[i++].as<bool>();
  r.sync_cycle_hours = row[i++].as<int>();
  nlohmann::json scope = nlohmann::json::parse(row[i++].as<std::string>(), nullptr, false);
  if (!scope.is_array()) return absl::DataLossError("identity_sources.scope_root_dept_ids: unreadable");
  for (const auto& v : scope) {
    if (!v.is_number_integer()) return absl::DataLossError("identity_sources.scope_root_dept_ids: unreadable");
    r.scope_root_dept_ids.push_back(v.get<int64_t>());
  }
  nlohmann::json mappings = nlohmann::json::parse(row[i++].as<std::string>(), nullptr, false);
  if (!mappings.is_array()) return absl::DataLossError("identity_sources.field_mappings: unreadable");
  for (const auto& m : mappings) {
    if (!m.is_object()) return absl::DataLossError("identity_sources.field_mappings: unreadable");
    r.field_mappings.push_back({m.value("source_field", ""), m.value("target_field", "")});
  }
  r.deletion_max_departures = row[i++].as<int>();
  r.deletion_max_percent = row[i++].as<double>();
  r.version = row[i++].as<int64_t>();
  r.create_time = absl::FromUnixMicros(row[i++].as<int64_t>());
  r.update_time = absl::FromUnixMicros(row[i++].as<int64_t>());
  nlohmann::json redirects = nlohmann::json::parse(row[i++].as<std::string>(), nullptr, false);
  if (!redirects.is_array()) return absl::DataLossError("identity_sources.login_redirect_uris: unreadable");
  for (const auto& v : redirects) {
    if (!v.is_string()) return absl::DataLossError("identity_sources.login_redirect_uris: unreadable");
    r.login_redirect_uris.push_back(v.get<std::string>());
  }
  return r;
}

// The envelope of one secret, or an empty binarystring (stored as NULL through NULLIF) when unset.
absl::StatusOr<pqxx::binarystring> SealOrEmpty(const SecretBox& box, const std::string& plaintext,
                                               const std::string& tenant_id, const std::string& idp_id,
                                               std::string_view field) {
  if (plaintext.empty()) return pqxx::binarystring(std::string());
  ASSIGN_OR_RETURN(std::string env, box.Seal(plaintext, SecretBox::Aad(tenant_id, idp_id, field)));
  return pqxx::binarystring(env);
}

// Every "ext.<name>" mapping target must name an extended field of the tenant. FOR SHARE holds the
// fields until commit so a concurrent DeleteExtendedField waits and then sees the mapping.
absl::Status CheckExtendedTargets(pqxx::work& tx, const std::string& tenant_id,
                                  const std::vector<FieldMappingRecord>& mappings) {
  for (size_t i = 0; i < mappings.size(); ++i) {
    const std::string& target = mappings[i].target_field;
    if (target.rfind("ext.", 0) != 0) continue;
    std::string name = target.substr(4);
    pqxx::result r = tx.exec_params(
        "SELECT 1 FROM extended_fields WHERE tenant_id = $1 AND name = $2 FOR SHARE", tenant_id, name);
    if (r.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field_mappings[", i, "].target_field: no extended field named \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status DuplicateName(const std::string& name) {
  return absl::AlreadyExistsError(
      absl::StrCat("name: an identity source named \"", name, "\" already exists in this tenant"));
}

absl::Status NotFound(const std::string& idp_id) {
  return absl::NotFoundError(absl::StrCat("identity source ", idp_id, " not found"));
}

void RecordChange(pqxx::work& tx, const std::string& tenant_id, const std::string& idp_id, int kind) {
  LockChangeLog(tx);
  AppendChange(tx, tenant_id, idp_id, kind, idp_id, kOrigin, std::string());
  NotifyChanges(tx, tenant_id);
}

}  // namespace

absl::StatusOr<IdentitySourceRecord> IdentitySourceRepository::Create(const IdentitySourceRecord& in) {
  RETURN_IF_ERROR(common::ValidateTenantId(in.tenant_id));
  ASSIGN_OR_RETURN(std::string idp_id, NewUuid());
  ASSIGN_OR_RETURN(pqxx::binarystring app_secret, SealOrEmpty(box_, in.app_secret, in.tenant_id, idp_id, "app_secret"));
  ASSIGN_OR_RETURN(pqxx::binarystring aes_key, SealOrEmpty(box_, in.aes_key, in.tenant_id, idp_id, "aes_key"));
  ASSIGN_OR_RETURN(pqxx::binarystring token, SealOrEmpty(box_, in.token, in.tenant_id, idp_id, "token"));
  return pool_.Run<IdentitySourceRecord>([&](pqxx::connection& c) -> absl::StatusOr<IdentitySourceRecord> {
    pqxx::work tx(c);
    RETURN_IF_ERROR(CheckExtendedTargets(tx, in.tenant_id, in.field_mappings));
    pqxx::result res;
    try {
      res = tx.exec_params(
          absl::StrCat(
              "INSERT INTO identity_sources (idp_id, tenant_id, name, description, status, corp_id, app_key, "
              "app_secret_enc, aes_key_enc, token_enc, dingtalk_type, accept_corp_id_receiver, auto_sync, "
              "sync_user_info, sync_cycle_hours, scope_root_dept_ids, field_mappings, deletion_max_departures, "
              "deletion_max_percent, login_redirect_uris) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
              "NULLIF($8, ''::bytea), NULLIF($9, ''::bytea), NULLIF($10, ''::bytea), $11, $12, $13, $14, $15, "
              "$16::bigint[], $17::jsonb, $18, $19, ARRAY(SELECT jsonb_array_elements_text($20::jsonb))) RETURNING ",
              kColumns),
          idp_id, in.tenant_id, in.name, in.description, in.status, in.corp_id, in.app_key, app_secret, aes_key,
          token, in.dingtalk_type, in.accept_corp_id_receiver, in.auto_sync, in.sync_user_info, in.sync_cycle_hours,
          DeptIdsLiteral(in.scope_root_dept_ids), MappingsJson(in.field_mappings), in.deletion_max_departures,
          in.deletion_max_percent, StringsJson(in.login_redirect_uris));
    } catch (const pqxx::unique_violation&) {
      return DuplicateName(in.name);
    }
    ASSIGN_OR_RETURN(IdentitySourceRecord out, RecordFromRow(res.at(0)));
    RecordChange(tx, out.tenant_id, out.idp_id, kChangeIdentitySourceUpdated);
    tx.commit();
    return out;
  });
}

absl::StatusOr<IdentitySourceRecord> IdentitySourceRepository::Get(const std::string& tenant_id,
                                                                   const std::string& idp_id_in) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.Run<IdentitySourceRecord>([&](pqxx::connection& c) -> absl::StatusOr<IdentitySourceRecord> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kColumns, " FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid"),
        tenant_id, idp_id);
    if (r.empty()) return NotFound(idp_id);
    return RecordFromRow(r[0]);
  });
}

absl::StatusOr<IdentitySourceWithSecret> IdentitySourceRepository::GetWithAppSecret(const std::string& tenant_id,
                                                                                  const std::string& idp_id_in) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.Run<IdentitySourceWithSecret>([&](pqxx::connection& c) -> absl::StatusOr<IdentitySourceWithSecret> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kColumns,
                     ", app_secret_enc FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid"),
        tenant_id, idp_id);
    if (r.empty()) return NotFound(idp_id);
    IdentitySourceWithSecret out;
    ASSIGN_OR_RETURN(out.record, RecordFromRow(r[0]));
    const pqxx::field envelope = r[0][r[0].size() - 1];
    if (!envelope.is_null()) {
      absl::StatusOr<std::string> secret =
          box_.Open(pqxx::binarystring(envelope).str(), SecretBox::Aad(tenant_id, idp_id, "app_secret"));
      if (!secret.ok()) return absl::InternalError("identity source app_secret cannot be decrypted");
      out.app_secret = std::move(*secret);
    }
    return out;
  });
}

absl::StatusOr<IdentitySourcePage> IdentitySourceRepository::List(const std::string& tenant_id, int page_size,
                                                                  const std::string& page_token) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  if (page_size < 1) return absl::InvalidArgumentError("page_size: must be positive");
  std::string after;
  bool has_after = false;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, common::DecodePageToken(kPageKind, page_token));
    has_after = true;
  }
  return pool_.Run<IdentitySourcePage>([&](pqxx::connection& c) -> absl::StatusOr<IdentitySourcePage> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kColumns,
                     " FROM identity_sources WHERE tenant_id = $1 AND (NOT $2 OR name > $3) "
                     "ORDER BY name LIMIT $4"),
        tenant_id, has_after, after, page_size + 1);
    IdentitySourcePage page;
    for (const pqxx::row& row : r) {
      if (static_cast<int>(page.items.size()) == page_size) {
        page.next_page_token = common::EncodePageToken(kPageKind, page.items.back().name);
        break;
      }
      ASSIGN_OR_RETURN(IdentitySourceRecord rec, RecordFromRow(row));
      page.items.push_back(std::move(rec));
    }
    return page;
  });
}

absl::StatusOr<IdentitySourceRecord> IdentitySourceRepository::Update(const std::string& tenant_id,
                                                                      const std::string& idp_id_in,
                                                                      int64_t expected_version,
                                                                      const Mutator& mutate) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.Run<IdentitySourceRecord>([&](pqxx::connection& c) -> absl::StatusOr<IdentitySourceRecord> {
    pqxx::work tx(c);
    pqxx::result cur = tx.exec_params(
        absl::StrCat("SELECT ", kColumns,
                     " FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid FOR UPDATE"),
        tenant_id, idp_id);
    if (cur.empty()) return NotFound(idp_id);
    ASSIGN_OR_RETURN(IdentitySourceRecord rec, RecordFromRow(cur[0]));
    if (expected_version != 0 && rec.version != expected_version) {
      return absl::AbortedError(absl::StrCat("expected_version: identity source is at version ", rec.version,
                                             ", not ", expected_version, "; re-read and retry"));
    }
    SecretChanges secrets;
    RETURN_IF_ERROR(mutate(rec, secrets));
    RETURN_IF_ERROR(CheckExtendedTargets(tx, tenant_id, rec.field_mappings));
    auto seal = [&](const std::optional<std::string>& v, std::string_view field) {
      return SealOrEmpty(box_, v.value_or(std::string()), tenant_id, idp_id, field);
    };
    ASSIGN_OR_RETURN(pqxx::binarystring app_secret, seal(secrets.app_secret, "app_secret"));
    ASSIGN_OR_RETURN(pqxx::binarystring aes_key, seal(secrets.aes_key, "aes_key"));
    ASSIGN_OR_RETURN(pqxx::binarystring token, seal(secrets.token, "token"));
    pqxx::result res;
    try {
      res = tx.exec_params(
          absl::StrCat(
              "UPDATE identity_sources SET name = $3, description = $4, status = $5, corp_id = $6, app_key = $7, "
              "dingtalk_type = $8, accept_corp_id_receiver = $9, auto_sync = $10, sync_user_info = $11, "
              "sync_cycle_hours = $12, scope_root_dept_ids = $13::bigint[], field_mappings = $14::jsonb, "
              "deletion_max_departures = $15, deletion_max_percent = $16, "
              "app_secret_enc = CASE WHEN $17 THEN NULLIF($18, ''::bytea) ELSE app_secret_enc END, "
              "aes_key_enc = CASE WHEN $19 THEN NULLIF($20, ''::bytea) ELSE aes_key_enc END, "
              "token_enc = CASE WHEN $21 THEN NULLIF($22, ''::bytea) ELSE token_enc END, "
              "login_redirect_uris = ARRAY(SELECT jsonb_array_elements_text($23::jsonb)), "
              "version = version + 1, updated_at = now() "
              "WHERE tenant_id = $1 AND idp_id = $2::uuid RETURNING ",
              kColumns),
          tenant_id, idp_id, rec.name, rec.description, rec.status, rec.corp_id, rec.app_key, rec.dingtalk_type,
          rec.accept_corp_id_receiver, rec.auto_sync, rec.sync_user_info, rec.sync_cycle_hours,
          DeptIdsLiteral(rec.scope_root_dept_ids), MappingsJson(rec.field_mappings), rec.deletion_max_departures,
          rec.deletion_max_percent, secrets.app_secret.has_value(), app_secret, secrets.aes_key.has_value(), aes_key,
          secrets.token.has_value(), token, StringsJson(rec.login_redirect_uris));
    } catch (const pqxx::unique_violation&) {
      return DuplicateName(rec.name);
    }
    if (res.empty()) return NotFound(idp_id);
    ASSIGN_OR_RETURN(IdentitySourceRecord out, RecordFromRow(res[0]));
    RecordChange(tx, tenant_id, idp_id, kChangeIdentitySourceUpdated);
    tx.commit();
    return out;
  });
}

absl::Status IdentitySourceRepository::Delete(const std::string& tenant_id, const std::string& idp_id_in) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.RunStatus([&](pqxx::connection& c) -> absl::Status {
    pqxx::work tx(c);
    pqxx::result r = tx.exec_params(
        "DELETE FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid RETURNING idp_id", tenant_id, idp_id);
    if (r.empty()) return NotFound(idp_id);
    RecordChange(tx, tenant_id, idp_id, kChangeIdentitySourceDeleted);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<CallbackKeysRecord> IdentitySourceRepository::GetCallbackKeys(const std::string& idp_id_in) {
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.Run<CallbackKeysRecord>([&](pqxx::connection& c) -> absl::StatusOr<CallbackKeysRecord> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        "SELECT tenant_id, status, app_key, corp_id, accept_corp_id_receiver, aes_key_enc, token_enc, version "
        "FROM identity_sources WHERE idp_id = $1::uuid",
        idp_id);
    if (r.empty()) return NotFound(idp_id);
    const pqxx::row& row = r[0];
    CallbackKeysRecord k;
    k.idp_id = idp_id;
    k.tenant_id = row[0].as<std::string>();
    k.status = row[1].as<int>();
    k.app_key = row[2].as<std::string>();
    k.corp_id = row[3].as<std::string>();
    k.accept_corp_id_receiver = row[4].as<bool>();
    if (!row[5].is_null()) {
      ASSIGN_OR_RETURN(k.aes_key,
                       box_.Open(pqxx::binarystring(row[5]).str(), SecretBox::Aad(k.tenant_id, idp_id, "aes_key")));
    }
    if (!row[6].is_null()) {
      ASSIGN_OR_RETURN(k.token,
                       box_.Open(pqxx::binarystring(row[6]).str(), SecretBox::Aad(k.tenant_id, idp_id, "token")));
    }
    k.version = row[7].as<int64_t>();
    return k;
  });
}

absl::StatusOr<std::string> IdentitySourceRepository::TenantOf(const std::string& idp_id_in) {
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.Run<std::string>([&](pqxx::connection& c) -> absl::StatusOr<std::string> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params("SELECT tenant_id FROM identity_sources WHERE idp_id = $1::uuid", idp_id);
    if (r.empty()) return NotFound(idp_id);
    return r[0][0].as<std::string>();
  });
}

absl::StatusOr<std::vector<std::string>> IdentitySourceRepository::ListExtensionKeys(const std::string& tenant_id,
                                                                                     const std::string& idp_id_in,
                                                                                     int limit) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", idp_id_in));
  const std::string idp_id = common::CanonicalUuid(idp_id_in);
  return pool_.Run<std::vector<std::string>>([&](pqxx::connection& c) -> absl::StatusOr<std::vector<std::string>> {
    pqxx::read_transaction tx(c);
    if (tx.exec_params("SELECT 1 FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid", tenant_id, idp_id)
            .empty()) {
      return NotFound(idp_id);
    }
    pqxx::result r = tx.exec_params(
        "SELECT k FROM ("
        "  SELECT jsonb_object_keys(attributes->'extension') AS k FROM users "
        "  WHERE tenant_id = $1 AND idp_id = $2::uuid AND jsonb_typeof(attributes->'extension') = 'object' "
        "  UNION "
        "  SELECT substr(a.k, 11) FROM users u, jsonb_object_keys(u.attributes) AS a(k) "
        "  WHERE u.tenant_id = $1 AND u.idp_id = $2::uuid AND a.k LIKE 'extension.%'"
        ") keys WHERE k <> '' ORDER BY k LIMIT $3",
        tenant_id, idp_id, limit);
    std::vector<std::string> keys;
    keys.reserve(r.size());
    for (const pqxx::row& row : r) keys.push_back(row[0].as<std::string>());
    return keys;
  });
}

}  // namespace sase::store

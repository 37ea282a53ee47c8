#include "store/extended_field_repository.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/validation.h"

namespace sase::store {
namespace {

constexpr char kColumns[] =
    "tenant_id, name, display_name, type, (extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from updated_at) * 1000000)::bigint";

ExtendedFieldRecord FromRow(const pqxx::row& row) {
  ExtendedFieldRecord r;
  r.tenant_id = row[0].as<std::string>();
  r.name = row[1].as<std::string>();
  r.display_name = row[2].as<std::string>();
  r.type = row[3].as<int>();
  r.create_time = absl::FromUnixMicros(row[4].as<int64_t>());
  r.update_time = absl::FromUnixMicros(row[5].as<int64_t>());
  return r;
}

absl::Status NotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("extended field \"", name, "\" not found"));
}

}  // namespace

absl::StatusOr<ExtendedFieldRecord> ExtendedFieldRepository::Create(const ExtendedFieldRecord& in) {
  RETURN_IF_ERROR(common::ValidateTenantId(in.tenant_id));
  return pool_.Run<ExtendedFieldRecord>([&](pqxx::connection& c) -> absl::StatusOr<ExtendedFieldRecord> {
    pqxx::work tx(c);
    pqxx::result r;
    try {
      r = tx.exec_params(absl::StrCat("INSERT INTO extended_fields (tenant_id, name, display_name, type) "
                                      "VALUES ($1, $2, $3, $4) RETURNING ",
                                      kColumns),
                         in.tenant_id, in.name, in.display_name, in.type);
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("name: an extended field named \"", in.name, "\" already exists"));
    }
    ExtendedFieldRecord out = FromRow(r.at(0));
    tx.commit();
    return out;
  });
}

absl::StatusOr<std::vector<ExtendedFieldRecord>> ExtendedFieldRepository::List(const std::string& tenant_id) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  return pool_.Run<std::vector<ExtendedFieldRecord>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::vector<ExtendedFieldRecord>> {
        pqxx::read_transaction tx(c);
        pqxx::result r = tx.exec_params(
            absl::StrCat("SELECT ", kColumns, " FROM extended_fields WHERE tenant_id = $1 ORDER BY name"), tenant_id);
        std::vector<ExtendedFieldRecord> out;
        out.reserve(r.size());
        for (const pqxx::row& row : r) out.push_back(FromRow(row));
        return out;
      });
}

absl::StatusOr<ExtendedFieldRecord> ExtendedFieldRepository::Update(const ExtendedFieldRecord& in) {
  RETURN_IF_ERROR(common::ValidateTenantId(in.tenant_id));
  return pool_.Run<ExtendedFieldRecord>([&](pqxx::connection& c) -> absl::StatusOr<ExtendedFieldRecord> {
    pqxx::work tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE extended_fields SET display_name = $3, type = $4, updated_at = now() "
                     "WHERE tenant_id = $1 AND name = $2 RETURNING ",
                     kColumns),
        in.tenant_id, in.name, in.display_name, in.type);
    if (r.empty()) return NotFound(in.name);
    ExtendedFieldRecord out = FromRow(r[0]);
    tx.commit();
    return out;
  });
}

absl::Status ExtendedFieldRepository::Delete(const std::string& tenant_id, const std::string& name) {
  RETURN_IF_ERROR(common::ValidateTenantId(tenant_id));
  return pool_.RunStatus([&](pqxx::connection& c) -> absl::Status {
    pqxx::work tx(c);
    // Deleting first takes the row lock: an identity-source write that holds the field FOR SHARE
    // commits before this continues, so the check below sees its mappings.
    pqxx::result del =
        tx.exec_params("DELETE FROM extended_fields WHERE tenant_id = $1 AND name = $2 RETURNING name", tenant_id, name);
    if (del.empty()) return NotFound(name);
    pqxx::result used = tx.exec_params(
        "SELECT s.name, s.idp_id::text, m->>'source_field' FROM identity_sources s, "
        "jsonb_array_elements(s.field_mappings) AS m "
        "WHERE s.tenant_id = $1 AND m->>'target_field' = $2 ORDER BY s.name LIMIT 1",
        tenant_id, absl::StrCat("ext.", name));
    if (!used.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "extended field \"", name, "\" is used by identity source \"", used[0][0].as<std::string>(), "\" (",
          used[0][1].as<std::string>(), "), mapping ", used[0][2].as<std::string>(), " -> ext.", name,
          "; remove the mapping first"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

}  // namespace sase::store

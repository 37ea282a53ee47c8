#include "store/change_log.h"

namespace sase::store {
namespace {
constexpr long long kChangeLogLockId = 0x5a5e0002;
}  // namespace

void LockChangeLog(pqxx::transaction_base& tx) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kChangeLogLockId);
}

int64_t AppendChange(pqxx::transaction_base& tx, const std::string& tenant_id, const std::string& idp_id, int kind,
                     const std::string& object_id, const std::string& origin, const std::string& payload) {
  pqxx::binarystring blob(payload);
  pqxx::row r = tx.exec_params1(
      "INSERT INTO change_log (tenant_id, idp_id, kind, object_id, origin, payload) "
      "VALUES ($1, $2::uuid, $3, $4, $5, $6) RETURNING seq",
      tenant_id, idp_id, kind, object_id, origin, blob);
  return r[0].as<int64_t>();
}

void NotifyChanges(pqxx::transaction_base& tx, const std::string& tenant_id) {
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(kChangeChannel), tenant_id);
}

}  // namespace sase::store

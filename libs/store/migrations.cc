#include "store/migrations.h"

#include <set>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "store/sql_status.h"

namespace sase::store {
namespace {
constexpr long long kMigrationLockId = 0x5a5e0001;
}  // namespace

absl::StatusOr<int> ApplyMigrations(const std::string& dsn) {
  try {
    pqxx::connection conn(dsn);
    pqxx::nontransaction(conn).exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockId, ")"));
    int applied = 0;
    {
      pqxx::work tx(conn);
      tx.exec0(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
          "applied_at timestamptz NOT NULL DEFAULT now())");
      tx.commit();
    }
    // Every migration not yet recorded, in version order: a lower-numbered file that lands after
    // a higher one (parallel branches) is still applied.
    std::set<int> done;
    {
      pqxx::read_transaction tx(conn);
      for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) done.insert(row[0].as<int>());
    }
    for (const Migration& m : AllMigrations()) {
      if (done.count(m.version) > 0) continue;
      pqxx::work tx(conn);
      tx.exec0(m.sql);
      tx.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name);
      tx.commit();
      common::LogInfo("migration applied", {{"version", m.version}, {"name", m.name}});
      ++applied;
    }
    pqxx::nontransaction(conn).exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockId, ")"));
    return applied;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    return StatusFromSqlError(e);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("migrations: ", e.what()));
  }
}

}  // namespace sase::store

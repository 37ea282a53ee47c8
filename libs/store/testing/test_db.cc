#include "store/testing/test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "store/migrations.h"

namespace sase::store::testing {

std::string WithDatabase(const std::string& uri, const std::string& db) {
  size_t q = uri.find('?');
  std::string base = uri.substr(0, q);
  std::string query = q == std::string::npos ? "" : uri.substr(q);
  size_t slash = base.rfind('/');
  if (slash == std::string::npos || slash < base.find("//") + 2) return base + "/" + db + query;
  return base.substr(0, slash + 1) + db + query;
}

std::string InsertBareSource(const std::string& dsn, const std::string& tenant, const std::string& name) {
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  std::string id = tx.exec_params1("INSERT INTO identity_sources (tenant_id, name, status, dingtalk_type, "
                                   "sync_cycle_hours) VALUES ($1, $2, 1, 1, 24) RETURNING idp_id::text",
                                   tenant, name)[0]
                       .c_str();
  tx.commit();
  return id;
}

std::string TestDatabase::AdminDsn() {
  const char* v = std::getenv("SASE_TEST_PG_DSN");
  return v == nullptr ? "" : v;
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create() {
  std::string admin = AdminDsn();
  if (admin.empty()) return absl::FailedPreconditionError("SASE_TEST_PG_DSN not set");
  static std::atomic<int> counter{0};
  std::random_device rd;
  std::string name = absl::StrCat("t_", getpid(), "_", counter++, "_", rd() % 100000);
  try {
    pqxx::connection conn(admin);
    pqxx::nontransaction(conn).exec0(absl::StrCat("CREATE DATABASE ", name));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("create test database: ", e.what()));
  }
  std::unique_ptr<TestDatabase> db(new TestDatabase(admin, name, WithDatabase(admin, name)));
  absl::StatusOr<int> applied = ApplyMigrations(db->dsn());
  if (!applied.ok()) return applied.status();
  return db;
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection conn(admin_dsn_);
    pqxx::nontransaction(conn).exec0(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception&) {
    // Best effort: the cluster is thrown away after the run anyway.
  }
}

}  // namespace sase::store::testing

#pragma once
// A fixed-size pool of libpqxx connections (a pqxx::connection is not thread-safe: one user at a
// time). Statements registered with the pool are prepared on every connection it opens.
//
//   PgPool::Options opts{.dsn = dsn, .size = 8};
//   opts.statements = {{"get_user", "SELECT ... WHERE tenant_id = $1 AND user_id = $2"}};
//   ASSIGN_OR_RETURN(auto pool, PgPool::Create(opts));
//   absl::StatusOr<Foo> r = pool->Run([&](pqxx::connection& c) -> absl::StatusOr<Foo> {
//     pqxx::read_transaction tx(c); ...
//   });
//
// Run() maps libpqxx exceptions to absl::Status (store/sql_status.h) and replaces broken
// connections, so no pqxx exception escapes.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/sql_status.h"

namespace sase::store {

class PgPool {
 public:
  struct Options {
    std::string dsn;
    int size = 8;
    std::chrono::milliseconds acquire_timeout{5000};
    std::vector<std::pair<std::string, std::string>> statements;  // name, SQL
  };

  // Opens one connection eagerly to fail fast on a bad DSN; the rest open on demand.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(Options options);
  ~PgPool();

  // Runs fn with exclusive use of one connection.
  template <typename T>
  absl::StatusOr<T> Run(const std::function<absl::StatusOr<T>(pqxx::connection&)>& fn);
  absl::Status RunStatus(const std::function<absl::Status(pqxx::connection&)>& fn);

  // "SELECT 1" on a pooled connection: OK while the database answers (readiness checks).
  absl::Status Ping();

  const std::string& dsn() const { return options_.dsn; }
  int size() const { return options_.size; }

 private:
  explicit PgPool(Options options) : options_(std::move(options)) {}
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Open();
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  void Release(std::unique_ptr<pqxx::connection> conn, bool broken);

  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;
};

template <typename T>
absl::StatusOr<T> PgPool::Run(const std::function<absl::StatusOr<T>(pqxx::connection&)>& fn) {
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Acquire();
  if (!conn.ok()) return conn.status();
  bool broken = false;
  absl::StatusOr<T> result = absl::InternalError("not run");
  try {
    result = fn(**conn);
  } catch (const pqxx::broken_connection& e) {
    broken = true;
    result = absl::UnavailableError(std::string("database connection lost: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    result = StatusFromSqlError(e);
  } catch (const std::exception& e) {
    result = absl::InternalError(std::string("database: ") + e.what());
  }
  if (!broken && !(*conn)->is_open()) broken = true;
  Release(std::move(*conn), broken);
  return result;
}

}  // namespace sase::store

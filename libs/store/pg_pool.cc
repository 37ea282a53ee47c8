#include "store/pg_pool.h"

#include "absl/strings/str_cat.h"

namespace sase::store {

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(Options options) {
  if (options.size < 1) return absl::InvalidArgumentError("pool size must be at least 1");
  std::unique_ptr<PgPool> pool(new PgPool(std::move(options)));
  absl::StatusOr<std::unique_ptr<pqxx::connection>> first = pool->Open();
  if (!first.ok()) return first.status();
  {
    std::lock_guard<std::mutex> lock(pool->mu_);
    pool->open_ = 1;
    pool->idle_.push_back(std::move(*first));
  }
  return pool;
}

PgPool::~PgPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Open() {
  try {
    auto conn = std::make_unique<pqxx::connection>(options_.dsn);
    for (const auto& [name, sql] : options_.statements) conn->prepare(name, sql);
    return conn;
  } catch (const pqxx::broken_connection& e) {
    // The message may echo connection parameters but libpq never includes the password.
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    return StatusFromSqlError(e);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  while (true) {
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    if (open_ < options_.size) {
      ++open_;
      lock.unlock();
      absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Open();
      if (!conn.ok()) {
        lock.lock();
        --open_;
        cv_.notify_one();
      }
      return conn;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= options_.size) {
      return absl::UnavailableError("no database connection available (pool exhausted)");
    }
  }
}

void PgPool::Release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

absl::Status PgPool::Ping() {
  return RunStatus([](pqxx::connection& c) -> absl::Status {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

absl::Status PgPool::RunStatus(const std::function<absl::Status(pqxx::connection&)>& fn) {
  absl::StatusOr<bool> r = Run<bool>([&](pqxx::connection& c) -> absl::StatusOr<bool> {
    absl::Status s = fn(c);
    if (!s.ok()) return s;
    return true;
  });
  return r.status();
}

}  // namespace sase::store

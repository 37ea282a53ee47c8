#pragma once
// Versioned SQL migrations (libs/store/schema/NNN_name.sql, embedded at build time).

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sase::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

const std::vector<Migration>& AllMigrations();

// Applies every migration newer than the database's version, each in its own transaction, under
// a session advisory lock so concurrent starters serialise. Idempotent. Returns the number applied.
absl::StatusOr<int> ApplyMigrations(const std::string& dsn);

}  // namespace sase::store

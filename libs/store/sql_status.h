#pragma once
#include <pqxx/except>

#include "absl/status/status.h"

namespace sase::store {

// 23505 → AlreadyExists, 23503 → FailedPrecondition, 40001/40P01 → Aborted,
// 57014 (statement timeout) → DeadlineExceeded, 08xxx → Unavailable, else Internal.
absl::Status StatusFromSqlError(const pqxx::sql_error& e);

}  // namespace sase::store

#include "store/sql_status.h"

#include <string>

namespace sase::store {

absl::Status StatusFromSqlError(const pqxx::sql_error& e) {
  const std::string state = e.sqlstate();
  std::string msg = "database error " + state;
  if (state == "23505") return absl::AlreadyExistsError(msg + ": unique violation");
  if (state == "23503") return absl::FailedPreconditionError(msg + ": foreign key violation");
  if (state == "23514") return absl::InvalidArgumentError(msg + ": check violation");
  if (state == "40001" || state == "40P01") return absl::AbortedError(msg + ": serialization failure");
  if (state == "57014") return absl::DeadlineExceededError(msg + ": statement timeout");
  if (state.rfind("08", 0) == 0 || state == "57P01") return absl::UnavailableError(msg + ": connection");
  return absl::InternalError(msg + ": " + e.what());
}

}  // namespace sase::store

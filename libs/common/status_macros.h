#pragma once
// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil ships no status macros.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SASE_CONCAT_INNER_(a, b) a##b
#define SASE_CONCAT_(a, b) SASE_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status sase_status_ = (expr);            \
    if (!sase_status_.ok()) return sase_status_;     \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  SASE_ASSIGN_OR_RETURN_IMPL_(SASE_CONCAT_(sase_statusor_, __LINE__), lhs, expr)

#define SASE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

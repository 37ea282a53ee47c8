#include "sync_worker/full_sync/deletion_guard.h"

namespace sase::sync_worker {

DeletionGuardSettings ResolveDeletionGuard(int source_max_departures, double source_max_percent,
                                           const DeletionGuardSettings& defaults) {
  DeletionGuardSettings s;
  s.max_departures = source_max_departures > 0 ? source_max_departures : defaults.max_departures;
  s.max_departure_percent = source_max_percent > 0 ? source_max_percent : defaults.max_departure_percent;
  return s;
}

bool HoldDepartures(int64_t directory_users_before, int64_t departing, const DeletionGuardSettings& guard) {
  if (departing <= 0) return false;
  if (departing > guard.max_departures) return true;
  const double before = static_cast<double>(directory_users_before);
  return before > 0 && static_cast<double>(departing) * 100.0 > guard.max_departure_percent * before;
}

}  // namespace sase::sync_worker

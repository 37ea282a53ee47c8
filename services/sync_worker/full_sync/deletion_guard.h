#pragma once
// The full sync's deletion guard as a pure function, free of the engine, pqxx and gRPC:
// given how many active users the directory held before the run and how many a complete snapshot
// would depart, decide whether the departures are applied or held for an administrator's approval.

#include <cstdint>

namespace sase::sync_worker {

// The thresholds in force for one run. A source's own setting wins when positive; otherwise the
// service default applies.
struct DeletionGuardSettings {
  int max_departures = 500;
  double max_departure_percent = 10;
};

DeletionGuardSettings ResolveDeletionGuard(int source_max_departures, double source_max_percent,
                                           const DeletionGuardSettings& defaults);

// True when the departures must be held: there is at least one, and either the count exceeds
// max_departures or (for a non-empty directory) the share of directory_users_before exceeds
// max_departure_percent. Exactly at a threshold is allowed through.
bool HoldDepartures(int64_t directory_users_before, int64_t departing, const DeletionGuardSettings& guard);

}  // namespace sase::sync_worker

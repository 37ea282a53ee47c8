#include "sync_worker/full_sync/deletion_guard.h"

#include <gtest/gtest.h>

namespace sase::sync_worker {
namespace {

const DeletionGuardSettings kDefaults{500, 10};

TEST(DeletionGuardTest, SourceSettingWinsWhenPositive) {
  DeletionGuardSettings s = ResolveDeletionGuard(20, 2.5, kDefaults);
  EXPECT_EQ(s.max_departures, 20);
  EXPECT_DOUBLE_EQ(s.max_departure_percent, 2.5);
  s = ResolveDeletionGuard(0, 0, kDefaults);
  EXPECT_EQ(s.max_departures, 500);
  EXPECT_DOUBLE_EQ(s.max_departure_percent, 10);
  s = ResolveDeletionGuard(-1, -3, kDefaults);  // never below zero in practice; still the default
  EXPECT_EQ(s.max_departures, 500);
  EXPECT_DOUBLE_EQ(s.max_departure_percent, 10);
}

TEST(DeletionGuardTest, NothingDepartingIsNeverHeld) {
  EXPECT_FALSE(HoldDepartures(0, 0, kDefaults));
  EXPECT_FALSE(HoldDepartures(100, 0, {0, 0}));
}

TEST(DeletionGuardTest, CountThresholdIsInclusive) {
  const DeletionGuardSettings g{5, 100};
  EXPECT_FALSE(HoldDepartures(1000, 5, g));
  EXPECT_TRUE(HoldDepartures(1000, 6, g));
}

TEST(DeletionGuardTest, PercentThresholdIsInclusive) {
  const DeletionGuardSettings g{1000, 10};
  EXPECT_FALSE(HoldDepartures(200, 20, g));  // exactly 10 %
  EXPECT_TRUE(HoldDepartures(200, 21, g));   // 10.5 %
  EXPECT_FALSE(HoldDepartures(3, 0, g));
  EXPECT_TRUE(HoldDepartures(3, 1, g));      // 33 % of a tiny directory
}

TEST(DeletionGuardTest, EmptyDirectoryIsJudgedByCountOnly) {
  // A first sync departs nobody, but a directory emptied before the run has no base for a share.
  EXPECT_FALSE(HoldDepartures(0, 3, {5, 1}));
  EXPECT_TRUE(HoldDepartures(0, 6, {5, 1}));
}

}  // namespace
}  // namespace sase::sync_worker

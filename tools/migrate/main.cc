// sase_migrate: applies the directory schema migrations. Idempotent; safe to run concurrently
// (an advisory lock serialises runners).
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"
#include "store/migrations.h"

int main(int argc, char** argv) {
  sase::common::InitLogging("migrate");
  std::string pg_dsn;
  sase::common::ConfigParser parser("sase_migrate");
  parser.String("pg_dsn", &pg_dsn, "", "PostgreSQL connection URI", {.required = true, .secret = true});
  if (absl::Status s = parser.Parse(argc, argv, std::getenv); !s.ok()) {
    if (absl::IsCancelled(s)) {
      std::cout << s.message();
      return 0;
    }
    std::cerr << "sase_migrate: " << s.message() << "\n";
    return 2;
  }
  absl::StatusOr<int> applied = sase::store::ApplyMigrations(pg_dsn);
  if (!applied.ok()) {
    sase::common::LogError("migrations failed", {{"reason", applied.status().ToString()}});
    return 1;
  }
  sase::common::LogInfo("schema up to date", {{"applied", *applied},
                                               {"version", sase::store::AllMigrations().back().version}});
  return 0;
}

#pragma once
// A fresh PostgreSQL database per test (migrated), dropped afterwards. Tests run in parallel
// processes under CTest, so each gets its own database on the cluster at SASE_TEST_PG_DSN.
//
//   class FooPgTest : public ::testing::Test {
//    protected:
//     void SetUp() override { SASE_SETUP_TEST_DB(db_); }
//     std::unique_ptr<store::testing::TestDatabase> db_;
//   };
//
// Without SASE_TEST_PG_DSN the test is skipped locally, and fails when CI is set.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sase::store::testing {

class TestDatabase {
 public:
  // Empty string when SASE_TEST_PG_DSN is unset.
  static std::string AdminDsn();
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create();
  ~TestDatabase();

  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  TestDatabase(std::string admin_dsn, std::string name, std::string dsn)
      : admin_dsn_(std::move(admin_dsn)), name_(std::move(name)), dsn_(std::move(dsn)) {}
  std::string admin_dsn_, name_, dsn_;
};

// An ENABLED identity source row with defaults only (no credentials), for tests of the tables
// that reference it; its idp_id.
std::string InsertBareSource(const std::string& dsn, const std::string& tenant, const std::string& name = "src");

// Replaces the database name of a postgresql:// URI.
std::string WithDatabase(const std::string& uri, const std::string& db);

}  // namespace sase::store::testing

#define SASE_SETUP_TEST_DB(member)                                                       \
  do {                                                                                   \
    if (::sase::store::testing::TestDatabase::AdminDsn().empty()) {                      \
      if (std::getenv("CI") != nullptr) FAIL() << "SASE_TEST_PG_DSN must be set in CI";  \
      GTEST_SKIP() << "SASE_TEST_PG_DSN not set: run through scripts/test.sh";           \
    }                                                                                    \
    auto sase_db_ = ::sase::store::testing::TestDatabase::Create();                      \
    ASSERT_TRUE(sase_db_.ok()) << sase_db_.status();                                     \
    member = std::move(*sase_db_);                                                       \
  } while (false)

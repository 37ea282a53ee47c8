#include "store/migrations.h"

#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "store/pg_pool.h"
#include "store/testing/test_db.h"

namespace sase::store {
namespace {

class MigrationsPgTest : public ::testing::Test {
 protected:
  void SetUp() override { SASE_SETUP_TEST_DB(db_); }
  std::unique_ptr<testing::TestDatabase> db_;
};

TEST_F(MigrationsPgTest, AppliedOnceAndIdempotent) {
  absl::StatusOr<int> again = ApplyMigrations(db_->dsn());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);
  pqxx::connection c(db_->dsn());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>(),
            static_cast<int>(AllMigrations().size()));
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_tables WHERE tablename = 'change_log'")[0].as<int>(), 1);
}

TEST_F(MigrationsPgTest, PoolMapsErrorsAndSurvivesThem) {
  PgPool::Options opts;
  opts.dsn = db_->dsn();
  opts.size = 2;
  opts.statements = {{"one", "SELECT 1"}};
  auto pool = PgPool::Create(opts);
  ASSERT_TRUE(pool.ok()) << pool.status();
  absl::Status bad = (*pool)->RunStatus([](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec0("INSERT INTO extended_fields (tenant_id, name, display_name, type) VALUES ('t', 'a', 'A', 1)");
    tx.exec0("INSERT INTO extended_fields (tenant_id, name, display_name, type) VALUES ('t', 'a', 'A', 1)");
    tx.commit();
    return absl::OkStatus();
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<int> v = (*pool)->Run<int>([](pqxx::connection& c) -> absl::StatusOr<int> {
    pqxx::read_transaction tx(c);
    return tx.exec_prepared1("one")[0].as<int>();
  });
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 1);
}

TEST(PgPoolTest, BadDsnIsUnavailable) {
  PgPool::Options opts;
  opts.dsn = "postgresql://nobody@127.0.0.1:1/none";
  auto pool = PgPool::Create(opts);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable);
}

TEST(TestDbTest, WithDatabase) {
  EXPECT_EQ(testing::WithDatabase("postgresql://a:b@h:1/sase", "x"), "postgresql://a:b@h:1/x");
  EXPECT_EQ(testing::WithDatabase("postgresql://a:b@h:1/sase?sslmode=disable", "x"),
            "postgresql://a:b@h:1/x?sslmode=disable");
}

}  // namespace
}  // namespace sase::store

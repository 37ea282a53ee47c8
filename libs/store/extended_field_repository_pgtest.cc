#include "store/extended_field_repository.h"

#include <memory>

#include <gtest/gtest.h>

#include "store/testing/test_db.h"

namespace sase::store {
namespace {

class ExtendedFieldRepositoryPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    PgPool::Options opts;
    opts.dsn = db_->dsn();
    opts.size = 2;
    auto pool = PgPool::Create(opts);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    repo_ = std::make_unique<ExtendedFieldRepository>(*pool_);
  }
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<ExtendedFieldRepository> repo_;
};

TEST_F(ExtendedFieldRepositoryPgTest, CrudAndTenantIsolation) {
  auto a = repo_->Create({.tenant_id = "t1", .name = "level", .display_name = "Level", .type = 2});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->type, 2);
  ASSERT_TRUE(repo_->Create({.tenant_id = "t1", .name = "cost", .display_name = "Cost", .type = 1}).ok());
  EXPECT_EQ(repo_->Create({.tenant_id = "t1", .name = "cost", .display_name = "x", .type = 1}).status().code(),
            absl::StatusCode::kAlreadyExists);
  auto list = repo_->List("t1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "cost");
  EXPECT_TRUE(repo_->List("t2")->empty());

  auto upd = repo_->Update({.tenant_id = "t1", .name = "level", .display_name = "Grade", .type = 1});
  ASSERT_TRUE(upd.ok()) << upd.status();
  EXPECT_EQ(upd->display_name, "Grade");
  EXPECT_EQ(repo_->Update({.tenant_id = "t2", .name = "level", .display_name = "x", .type = 1}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->Delete("t2", "level").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(repo_->Delete("t1", "level").ok());
  EXPECT_EQ(repo_->Delete("t1", "level").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->List("t1")->size(), 1u);
}

}  // namespace
}  // namespace sase::store

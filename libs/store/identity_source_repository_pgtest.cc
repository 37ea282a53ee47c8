#include "store/identity_source_repository.h"

#include <memory>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "store/extended_field_repository.h"
#include "store/testing/test_db.h"

namespace sase::store {
namespace {

constexpr char kKek[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

IdentitySourceRecord Sample(const std::string& tenant, const std::string& name) {
  IdentitySourceRecord r;
  r.tenant_id = tenant;
  r.name = name;
  r.status = 1;
  r.corp_id = "dingcorp";
  r.app_key = "dingappkey";
  r.app_secret = "APP-SECRET-PLAINTEXT";
  r.aes_key = "AESKEYPLAINTEXTabcdefghijklmnopqrstuvwxyz01";
  r.token = "TOKEN-PLAINTEXT";
  r.dingtalk_type = 1;
  r.sync_cycle_hours = 6;
  r.scope_root_dept_ids = {2, 3};
  r.field_mappings = {{"job_number", "job_number"}};
  return r;
}

class IdentitySourceRepositoryPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    PgPool::Options opts;
    opts.dsn = db_->dsn();
    opts.size = 2;
    auto pool = PgPool::Create(opts);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    auto box = SecretBox::FromEncodedKey(kKek);
    ASSERT_TRUE(box.ok());
    box_ = std::make_unique<SecretBox>(*box);
    repo_ = std::make_unique<IdentitySourceRepository>(*pool_, *box_);
  }
  int64_t Count(const std::string& sql) {
    pqxx::connection c(db_->dsn());
    return pqxx::read_transaction(c).exec1(sql)[0].as<int64_t>();
  }

  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<SecretBox> box_;
  std::unique_ptr<IdentitySourceRepository> repo_;
};

TEST_F(IdentitySourceRepositoryPgTest, CreateGetMasksSecrets) {
  auto created = repo_->Create(Sample("t1", "src-a"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->idp_id.size(), 36u);
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->app_secret, kSecretMask);
  EXPECT_TRUE(created->app_secret_set && created->aes_key_set && created->token_set);
  auto got = repo_->Get("t1", created->idp_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "src-a");
  EXPECT_EQ(got->aes_key, kSecretMask);
  EXPECT_EQ(got->token, kSecretMask);
  EXPECT_EQ(got->scope_root_dept_ids, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(got->field_mappings.size(), 1u);
  EXPECT_EQ(got->field_mappings[0].target_field, "job_number");
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE kind = 8"), 1);

  auto keys = repo_->GetCallbackKeys(created->idp_id);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->tenant_id, "t1");
  EXPECT_EQ(keys->aes_key, "AESKEYPLAINTEXTabcdefghijklmnopqrstuvwxyz01");
  EXPECT_EQ(keys->token, "TOKEN-PLAINTEXT");
  EXPECT_EQ(keys->app_key, "dingappkey");
}

// Secrets are bound to the id: an upper-case spelling of it must read, decrypt and re-seal as the
// canonical one (before, GetCallbackKeys and GetWithAppSecret could not open the envelopes, and an
// Update sealed new secrets under the upper-case id, unreadable afterwards).
TEST_F(IdentitySourceRepositoryPgTest, UpperCaseIdIsTheSameSourceForEveryMethod) {
  auto created = repo_->Create(Sample("t1", "src-a"));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string upper = absl::AsciiStrToUpper(created->idp_id);
  ASSERT_NE(upper, created->idp_id);
  auto got = repo_->Get("t1", upper);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->idp_id, created->idp_id);
  auto keys = repo_->GetCallbackKeys(upper);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->idp_id, created->idp_id);
  EXPECT_EQ(keys->token, "TOKEN-PLAINTEXT");
  auto with_secret = repo_->GetWithAppSecret("t1", upper);
  ASSERT_TRUE(with_secret.ok()) << with_secret.status();
  EXPECT_EQ(with_secret->app_secret, "APP-SECRET-PLAINTEXT");
  EXPECT_EQ(repo_->TenantOf(upper).value_or(""), "t1");
  EXPECT_TRUE(repo_->ListExtensionKeys("t1", upper, 10).ok());

  auto updated = repo_->Update("t1", upper, 0, [](IdentitySourceRecord&, SecretChanges& s) {
    s.token = "NEW-TOKEN";
    s.app_secret = "NEW-SECRET";
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(repo_->GetCallbackKeys(created->idp_id).value().token, "NEW-TOKEN");
  EXPECT_EQ(repo_->GetWithAppSecret("t1", created->idp_id).value().app_secret, "NEW-SECRET");
  EXPECT_TRUE(repo_->Delete("t1", upper).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM identity_sources"), 0);
}

TEST_F(IdentitySourceRepositoryPgTest, TenantIsolationAndNotFound) {
  auto a = repo_->Create(Sample("ta", "same-name"));
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = repo_->Create(Sample("tb", "same-name"));  // names are unique per tenant only
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(repo_->Get("tb", a->idp_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->Delete("tb", a->idp_id).code(), absl::StatusCode::kNotFound);
  auto upd = repo_->Update("tb", a->idp_id, 0, [](IdentitySourceRecord& r, SecretChanges&) {
    r.name = "hijack";
    return absl::OkStatus();
  });
  EXPECT_EQ(upd.status().code(), absl::StatusCode::kNotFound);
  auto list = repo_->List("tb", 10, "");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].idp_id, b->idp_id);
  EXPECT_EQ(repo_->Get("ta", a->idp_id)->name, "same-name");
}

TEST_F(IdentitySourceRepositoryPgTest, DuplicateNameIsAlreadyExists) {
  ASSERT_TRUE(repo_->Create(Sample("t1", "dup")).ok());
  auto again = repo_->Create(Sample("t1", "dup"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Count("SELECT count(*) FROM identity_sources"), 1);
}

TEST_F(IdentitySourceRepositoryPgTest, ListPaginates) {
  for (const char* n : {"c-src", "a-src", "e-src", "b-src", "d-src"}) ASSERT_TRUE(repo_->Create(Sample("t1", n)).ok());
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    auto page = repo_->List("t1", 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& r : page->items) names.push_back(r.name);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::vector<std::string>{"a-src", "b-src", "c-src", "d-src", "e-src"}));
  EXPECT_EQ(repo_->List("t1", 2, "garbage!").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(IdentitySourceRepositoryPgTest, UpdateVersionsAndSecrets) {
  auto created = repo_->Create(Sample("t1", "src"));
  ASSERT_TRUE(created.ok());
  auto updated = repo_->Update("t1", created->idp_id, created->version, [](IdentitySourceRecord& r, SecretChanges& s) {
    r.description = "hello";
    s.token = "NEW-TOKEN";
    s.aes_key = "";  // clear
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->description, "hello");
  EXPECT_FALSE(updated->aes_key_set);
  EXPECT_TRUE(updated->app_secret_set);
  auto keys = repo_->GetCallbackKeys(created->idp_id);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->token, "NEW-TOKEN");
  EXPECT_EQ(keys->aes_key, "");
  EXPECT_EQ(keys->version, 2);

  // Stale version: ABORTED, nothing written.
  auto stale = repo_->Update("t1", created->idp_id, 1, [](IdentitySourceRecord& r, SecretChanges&) {
    r.description = "stale";
    return absl::OkStatus();
  });
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  // A failing mutator writes nothing.
  auto refused = repo_->Update("t1", created->idp_id, 0, [](IdentitySourceRecord& r, SecretChanges&) {
    r.description = "refused";
    return absl::InvalidArgumentError("nope");
  });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  auto now = repo_->Get("t1", created->idp_id);
  EXPECT_EQ(now->description, "hello");
  EXPECT_EQ(now->version, 2);
}

TEST_F(IdentitySourceRepositoryPgTest, RawRowHoldsNoPlaintextAndRowsAreBound) {
  auto created = repo_->Create(Sample("t1", "src"));
  ASSERT_TRUE(created.ok());
  pqxx::connection c(db_->dsn());
  pqxx::work tx(c);
  pqxx::row row = tx.exec1("SELECT row_to_json(s)::text FROM identity_sources s");
  std::string raw = row[0].as<std::string>();
  for (const char* secret : {"APP-SECRET-PLAINTEXT", "AESKEYPLAINTEXT", "TOKEN-PLAINTEXT"}) {
    EXPECT_EQ(raw.find(secret), std::string::npos) << secret;
  }
  pqxx::row bytes = tx.exec1("SELECT app_secret_enc, aes_key_enc, token_enc FROM identity_sources");
  for (int i = 0; i < 3; ++i) {
    std::string blob = pqxx::binarystring(bytes[i]).str();
    EXPECT_EQ(blob.find("PLAINTEXT"), std::string::npos);
  }
  // Moving an envelope to another column breaks it (AAD binds the column).
  tx.exec0("UPDATE identity_sources SET token_enc = aes_key_enc");
  tx.commit();
  EXPECT_EQ(repo_->GetCallbackKeys(created->idp_id).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(IdentitySourceRepositoryPgTest, DeleteCascadesAndLogs) {
  auto created = repo_->Create(Sample("t1", "src"));
  ASSERT_TRUE(created.ok());
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec_params0("INSERT INTO users (idp_id, tenant_id, dingtalk_userid) VALUES ($1::uuid, 't1', 'u1')",
                    created->idp_id);
    tx.exec_params0(
        "INSERT INTO event_inbox (idp_id, tenant_id, dedupe_key, event_type) VALUES ($1::uuid, 't1', 'k', 'x')",
        created->idp_id);
    tx.commit();
  }
  ASSERT_TRUE(repo_->Delete("t1", created->idp_id).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM identity_sources"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM users"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM event_inbox"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE kind = 9"), 1);
  EXPECT_EQ(repo_->Delete("t1", created->idp_id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo_->GetCallbackKeys(created->idp_id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(IdentitySourceRepositoryPgTest, ExtendedTargetsMustExistAndBlockDeletion) {
  ExtendedFieldRepository fields(*pool_);
  IdentitySourceRecord rec = Sample("t1", "src");
  rec.field_mappings = {{"extension.cost", "ext.cost_center"}};
  EXPECT_EQ(repo_->Create(rec).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(fields.Create({.tenant_id = "t1", .name = "cost_center", .display_name = "Cost", .type = 1}).ok());
  auto created = repo_->Create(rec);
  ASSERT_TRUE(created.ok()) << created.status();
  absl::Status del = fields.Delete("t1", "cost_center");
  EXPECT_EQ(del.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(del.message().find("src"), absl::string_view::npos);
  EXPECT_NE(del.message().find("extension.cost -> ext.cost_center"), absl::string_view::npos);
  EXPECT_EQ(fields.List("t1")->size(), 1u);
  // Another tenant's field of the same name is independent.
  ASSERT_TRUE(fields.Create({.tenant_id = "t2", .name = "cost_center", .display_name = "Cost", .type = 1}).ok());
  EXPECT_TRUE(fields.Delete("t2", "cost_center").ok());
}

TEST_F(IdentitySourceRepositoryPgTest, ListExtensionKeys) {
  auto created = repo_->Create(Sample("t1", "src"));
  ASSERT_TRUE(created.ok());
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec_params0(
        "INSERT INTO users (idp_id, tenant_id, dingtalk_userid, attributes) VALUES "
        "($1::uuid, 't1', 'u1', '{\"extension\": {\"工号\": \"1\", \"level\": \"2\"}}'), "
        "($1::uuid, 't1', 'u2', '{\"extension.site\": \"x\", \"email\": \"y\"}')",
        created->idp_id);
    tx.commit();
  }
  auto keys = repo_->ListExtensionKeys("t1", created->idp_id, 100);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (std::vector<std::string>{"level", "site", "工号"}));
  EXPECT_EQ(repo_->ListExtensionKeys("t2", created->idp_id, 100).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sase::store

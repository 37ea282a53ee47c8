// IdentitySourceService over a real gRPC server, real stub and real PostgreSQL.
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "sync_worker/testing/service_test_fixture.h"

namespace sase::sync_worker::testing {
namespace {

using ::grpc::ClientContext;
using ::grpc::StatusCode;

class IdentitySourceServiceTest : public ServiceTest {
 protected:
  grpc::Status Create(const std::string& tenant, const pb::IdentitySource& src, pb::IdentitySource* out = nullptr) {
    pb::CreateIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_identity_source() = src;
    pb::IdentitySource tmp;
    ClientContext ctx;
    return idsrc_->CreateIdentitySource(&ctx, req, out ? out : &tmp);
  }
  grpc::Status Get(const std::string& tenant, const std::string& idp, pb::IdentitySource* out = nullptr) {
    pb::GetIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(idp);
    pb::IdentitySource tmp;
    ClientContext ctx;
    return idsrc_->GetIdentitySource(&ctx, req, out ? out : &tmp);
  }
  grpc::Status List(const std::string& tenant, int page_size, const std::string& token,
                    pb::ListIdentitySourcesResponse* out = nullptr) {
    pb::ListIdentitySourcesRequest req;
    req.set_tenant_id(tenant);
    req.set_page_size(page_size);
    req.set_page_token(token);
    pb::ListIdentitySourcesResponse tmp;
    ClientContext ctx;
    return idsrc_->ListIdentitySources(&ctx, req, out ? out : &tmp);
  }
  grpc::Status Update(const std::string& tenant, const pb::IdentitySource& src, const std::vector<std::string>& paths,
                      int64_t expected_version = 0, pb::IdentitySource* out = nullptr) {
    pb::UpdateIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_identity_source() = src;
    for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
    req.set_expected_version(expected_version);
    pb::IdentitySource tmp;
    ClientContext ctx;
    return idsrc_->UpdateIdentitySource(&ctx, req, out ? out : &tmp);
  }
  grpc::Status Delete(const std::string& tenant, const std::string& idp) {
    pb::DeleteIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(idp);
    pb::DeleteIdentitySourceResponse resp;
    ClientContext ctx;
    return idsrc_->DeleteIdentitySource(&ctx, req, &resp);
  }
  grpc::Status CreateField(const std::string& tenant, const std::string& name, const std::string& display,
                           pb::FieldType type, pb::ExtendedField* out = nullptr) {
    pb::CreateExtendedFieldRequest req;
    req.set_tenant_id(tenant);
    req.mutable_field()->set_name(name);
    req.mutable_field()->set_display_name(display);
    req.mutable_field()->set_type(type);
    pb::ExtendedField tmp;
    ClientContext ctx;
    return idsrc_->CreateExtendedField(&ctx, req, out ? out : &tmp);
  }
};

void ExpectMasked(const pb::IdentitySource& s) {
  EXPECT_EQ(s.app_secret(), "********");
  EXPECT_EQ(s.aes_key(), "********");
  EXPECT_EQ(s.token(), "********");
  EXPECT_TRUE(s.app_secret_set());
  EXPECT_TRUE(s.aes_key_set());
  EXPECT_TRUE(s.token_set());
  std::string wire = s.SerializeAsString();
  for (const char* secret : {kAppSecret, kAesKey, kToken}) {
    EXPECT_EQ(wire.find(secret), std::string::npos) << "response carries a secret";
  }
}

TEST_F(IdentitySourceServiceTest, CreateGetListUpdateDelete) {
  pb::IdentitySource created;
  ASSERT_TRUE(Create("tenant-a", ValidSource("钉钉-主"), &created).ok());
  EXPECT_EQ(created.tenant_id(), "tenant-a");
  EXPECT_EQ(created.idp_id().size(), 36u);
  EXPECT_EQ(created.name(), "钉钉-主");
  EXPECT_EQ(created.version(), 1);
  EXPECT_EQ(created.sync_cycle_hours(), 6);
  EXPECT_EQ(created.status(), pb::ENABLED);
  EXPECT_EQ(created.dingtalk_type(), pb::STANDARD);
  EXPECT_EQ(created.scope().root_department_ids_size(), 1);
  EXPECT_EQ(created.deletion_guard().max_departures(), 100);
  EXPECT_GT(created.create_time().seconds(), 1600000000);
  ExpectMasked(created);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE kind = 8 AND payload = ''::bytea AND tenant_id = 'tenant-a'"),
            1);

  pb::IdentitySource got;
  ASSERT_TRUE(Get("tenant-a", created.idp_id(), &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());
  ExpectMasked(got);

  pb::ListIdentitySourcesResponse list;
  ASSERT_TRUE(List("tenant-a", 0, "", &list).ok());
  ASSERT_EQ(list.identity_sources_size(), 1);
  ExpectMasked(list.identity_sources(0));
  EXPECT_TRUE(list.next_page_token().empty());

  pb::IdentitySource patch;
  patch.set_idp_id(created.idp_id());
  patch.set_status(pb::CLOSED);
  patch.set_sync_cycle_hours(24);
  patch.set_description("ignored: not in the mask");
  pb::IdentitySource updated;
  ASSERT_TRUE(Update("tenant-a", patch, {"status", "sync_cycle_hours"}, 1, &updated).ok());
  EXPECT_EQ(updated.status(), pb::CLOSED);
  EXPECT_EQ(updated.sync_cycle_hours(), 24);
  EXPECT_EQ(updated.description(), "Log on with DingTalk");
  EXPECT_EQ(updated.version(), 2);
  ExpectMasked(updated);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE kind = 8"), 2);

  ASSERT_TRUE(Delete("tenant-a", created.idp_id()).ok());
  EXPECT_EQ(Get("tenant-a", created.idp_id()).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete("tenant-a", created.idp_id()).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log WHERE kind = 9 AND payload = ''::bytea"), 1);
}

TEST_F(IdentitySourceServiceTest, CreateRejectsBadInputAndWritesNothing) {
  ASSERT_TRUE(CreateField("t1", "emp_no", "Employee no", pb::FIELD_STRING).ok());
  std::string before = Snapshot();
  struct Case {
    std::string tenant;
    std::function<void(pb::IdentitySource&)> mutate;
    std::string field;
  };
  auto keep = [](pb::IdentitySource&) {};
  std::vector<Case> cases = {
      {"", keep, "tenant_id"},
      {"bad tenant!", keep, "tenant_id"},
      {std::string(65, 't'), keep, "tenant_id"},
      {"t1", [](pb::IdentitySource& s) { s.set_tenant_id("t2"); }, "identity_source.tenant_id"},
      {"t1", [](pb::IdentitySource& s) { s.clear_name(); }, "name"},
      {"t1", [](pb::IdentitySource& s) { s.set_name("x"); }, "name"},
      {"t1", [](pb::IdentitySource& s) { s.set_name("中"); }, "name"},
      {"t1", [](pb::IdentitySource& s) { s.set_name(std::string(101, 'a')); }, "name"},
      {"t1", [](pb::IdentitySource& s) { s.set_name("with space"); }, "name"},
      {"t1", [](pb::IdentitySource& s) { s.set_name("smile\xf0\x9f\x98\x80"); }, "name"},
      {"t1", [](pb::IdentitySource& s) { s.set_description(std::string(501, 'd')); }, "description"},
      {"t1", [](pb::IdentitySource& s) { s.clear_corp_id(); }, "corp_id"},
      {"t1", [](pb::IdentitySource& s) { s.clear_app_key(); }, "app_key"},
      {"t1", [](pb::IdentitySource& s) { s.clear_app_secret(); }, "app_secret"},
      {"t1", [](pb::IdentitySource& s) { s.set_app_secret("********"); }, "app_secret"},
      {"t1", [](pb::IdentitySource& s) { s.clear_status(); }, "status"},
      {"t1", [](pb::IdentitySource& s) { s.set_status(static_cast<pb::IdentitySourceStatus>(7)); }, "status"},
      {"t1", [](pb::IdentitySource& s) { s.clear_dingtalk_type(); }, "dingtalk_type"},
      {"t1", [](pb::IdentitySource& s) { s.set_dingtalk_type(static_cast<pb::DingTalkType>(9)); }, "dingtalk_type"},
      {"t1", [](pb::IdentitySource& s) { s.clear_sync_cycle_hours(); }, "sync_cycle_hours"},
      {"t1", [](pb::IdentitySource& s) { s.set_sync_cycle_hours(25); }, "sync_cycle_hours"},
      {"t1", [](pb::IdentitySource& s) { s.set_sync_cycle_hours(-1); }, "sync_cycle_hours"},
      {"t1", [](pb::IdentitySource& s) { s.set_aes_key(std::string(42, 'a')); }, "aes_key"},
      {"t1", [](pb::IdentitySource& s) { s.set_aes_key(std::string(44, 'a')); }, "aes_key"},
      {"t1", [](pb::IdentitySource& s) { s.set_aes_key(std::string(42, 'a') + "/"); }, "aes_key"},
      {"t1", [](pb::IdentitySource& s) { s.set_token("has space"); }, "token"},
      {"t1", [](pb::IdentitySource& s) { s.mutable_scope()->add_root_department_ids(-5); }, "scope.root_department_ids"},
      {"t1",
       [](pb::IdentitySource& s) { s.mutable_field_mappings(0)->set_source_field("password"); },
       "field_mappings[0].source_field"},
      {"t1",
       [](pb::IdentitySource& s) { s.mutable_field_mappings(0)->set_target_field("salary"); },
       "field_mappings[0].target_field"},
      {"t1",
       [](pb::IdentitySource& s) { s.mutable_field_mappings(0)->set_target_field("ext.missing"); },
       "field_mappings[0].target_field"},
      {"t1",
       [](pb::IdentitySource& s) { s.mutable_deletion_guard()->set_max_departure_percent(150); },
       "deletion_guard.max_departure_percent"},
      {"t1", [](pb::IdentitySource& s) { s.mutable_deletion_guard()->set_max_departures(-1); },
       "deletion_guard.max_departures"},
  };
  for (const Case& c : cases) {
    pb::IdentitySource src = ValidSource("valid-name");
    c.mutate(src);
    grpc::Status s = Create(c.tenant, src);
    EXPECT_TRUE(IsInvalid(s, c.field)) << "case " << c.field;
    EXPECT_EQ(s.error_message().find(kAppSecret), std::string::npos);
  }
  {  // A missing identity_source message.
    pb::CreateIdentitySourceRequest req;
    req.set_tenant_id("t1");
    pb::IdentitySource out;
    ClientContext ctx;
    EXPECT_TRUE(IsInvalid(idsrc_->CreateIdentitySource(&ctx, req, &out), "identity_source"));
  }
  EXPECT_EQ(Snapshot(), before);

  // aes_key and token are optional; an "ext." target of an existing field is fine.
  pb::IdentitySource optional = ValidSource("optional-keys");
  optional.clear_aes_key();
  optional.clear_token();
  optional.mutable_field_mappings(0)->set_target_field("ext.emp_no");
  pb::IdentitySource out;
  ASSERT_TRUE(Create("t1", optional, &out).ok());
  EXPECT_FALSE(out.aes_key_set());
  EXPECT_FALSE(out.token_set());
  EXPECT_EQ(out.aes_key(), "");
}

TEST_F(IdentitySourceServiceTest, DuplicateNameWithinTenantIsAlreadyExists) {
  pb::IdentitySource first = MustCreate("t1", "corp-dd");
  std::string before = Snapshot();
  EXPECT_EQ(Create("t1", ValidSource("corp-dd")).error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Snapshot(), before);
  // The same name in another tenant is allowed.
  EXPECT_TRUE(Create("t2", ValidSource("corp-dd")).ok());
  // Renaming onto an existing name is refused as well.
  pb::IdentitySource other = MustCreate("t1", "corp-other");
  before = Snapshot();
  pb::IdentitySource patch;
  patch.set_idp_id(other.idp_id());
  patch.set_name("corp-dd");
  EXPECT_EQ(Update("t1", patch, {"name"}).error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(IdentitySourceServiceTest, UpdateRejectsBadInputAndWritesNothing) {
  pb::IdentitySource src = MustCreate("t1", "src-one");
  std::string before = Snapshot();
  struct Case {
    std::function<void(pb::IdentitySource&)> mutate;
    std::vector<std::string> paths;
    std::string field;
  };
  auto keep = [](pb::IdentitySource&) {};
  std::vector<Case> cases = {
      {keep, {}, "update_mask"},
      {keep, {"version"}, "update_mask"},
      {keep, {"idp_id"}, "update_mask"},
      {keep, {"create_time"}, "update_mask"},
      {keep, {"no_such_field"}, "update_mask"},
      {keep, {"name", "bogus"}, "update_mask"},
      {[](pb::IdentitySource& s) { s.set_idp_id("not-a-uuid"); }, {"name"}, "idp_id"},
      {[](pb::IdentitySource& s) { s.clear_idp_id(); }, {"name"}, "idp_id"},
      {[](pb::IdentitySource& s) { s.set_name("a"); }, {"name"}, "name"},
      {[](pb::IdentitySource& s) { s.set_name("bad/name"); }, {"name"}, "name"},
      {[](pb::IdentitySource& s) { s.set_sync_cycle_hours(0); }, {"sync_cycle_hours"}, "sync_cycle_hours"},
      {[](pb::IdentitySource& s) { s.set_sync_cycle_hours(30); }, {"sync_cycle_hours"}, "sync_cycle_hours"},
      {[](pb::IdentitySource& s) { s.set_aes_key("short"); }, {"aes_key"}, "aes_key"},
      {[](pb::IdentitySource& s) { s.set_app_secret(""); }, {"app_secret"}, "app_secret"},
      {[](pb::IdentitySource& s) { s.set_app_secret("********"); }, {"app_secret"}, "app_secret"},
      {[](pb::IdentitySource& s) { s.set_token("********"); }, {"token"}, "token"},
      {[](pb::IdentitySource& s) { s.set_status(pb::IDENTITY_SOURCE_STATUS_UNSPECIFIED); }, {"status"}, "status"},
      {[](pb::IdentitySource& s) { s.set_status(static_cast<pb::IdentitySourceStatus>(3)); }, {"status"}, "status"},
      {[](pb::IdentitySource& s) { s.set_dingtalk_type(static_cast<pb::DingTalkType>(5)); },
       {"dingtalk_type"},
       "dingtalk_type"},
      {[](pb::IdentitySource& s) { s.clear_corp_id(); }, {"corp_id"}, "corp_id"},
      {[](pb::IdentitySource& s) {
         auto* m = s.add_field_mappings();
         m->set_source_field("email");
         m->set_target_field("ext.nope");
       },
       {"field_mappings"},
       "field_mappings[0].target_field"},
  };
  for (const Case& c : cases) {
    pb::IdentitySource patch;
    patch.set_idp_id(src.idp_id());
    c.mutate(patch);
    EXPECT_TRUE(IsInvalid(Update("t1", patch, c.paths), c.field)) << "case " << c.field;
  }
  pb::IdentitySource patch;
  patch.set_idp_id(src.idp_id());
  patch.set_description("x");
  EXPECT_TRUE(IsInvalid(Update("", patch, {"description"}), "tenant_id"));
  EXPECT_TRUE(IsInvalid(Update("t1", patch, {"description"}, -1), "expected_version"));
  EXPECT_EQ(Update("t1", patch, {"description"}, 7).error_code(), StatusCode::ABORTED);
  pb::IdentitySource unknown = patch;
  unknown.set_idp_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(Update("t1", unknown, {"description"}).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(IdentitySourceServiceTest, UpdateChangesOnlyMaskedFieldsAndSecretsOnlyWhenNamed) {
  pb::IdentitySource src = MustCreate("t1", "src-one");
  auto envelopes = [&]() {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    pqxx::row r = tx.exec1("SELECT encode(app_secret_enc, 'hex'), encode(aes_key_enc, 'hex'), "
                           "coalesce(encode(token_enc, 'hex'), 'NULL') FROM identity_sources");
    return std::vector<std::string>{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()};
  };
  std::vector<std::string> env0 = envelopes();

  // A full object echoed back (masks included) with only "description" named changes only that.
  pb::IdentitySource echo = src;
  echo.set_description("new title");
  echo.set_name("ignored-name");
  pb::IdentitySource out;
  ASSERT_TRUE(Update("t1", echo, {"description"}, src.version(), &out).ok());
  EXPECT_EQ(out.description(), "new title");
  EXPECT_EQ(out.name(), "src-one");
  EXPECT_EQ(envelopes(), env0);

  // Naming app_secret replaces it; naming token with "" clears it.
  pb::IdentitySource patch;
  patch.set_idp_id(src.idp_id());
  patch.set_app_secret("rotated-secret");
  ASSERT_TRUE(Update("t1", patch, {"app_secret", "token"}, 0, &out).ok());
  EXPECT_TRUE(out.app_secret_set());
  EXPECT_FALSE(out.token_set());
  EXPECT_EQ(out.token(), "");
  std::vector<std::string> env1 = envelopes();
  EXPECT_NE(env1[0], env0[0]);
  EXPECT_EQ(env1[1], env0[1]);
  EXPECT_EQ(env1[2], "NULL");
  EXPECT_EQ(out.version(), 3);

  // Sub-paths and nested messages.
  patch.Clear();
  patch.set_idp_id(src.idp_id());
  patch.mutable_scope()->add_root_department_ids(42);
  patch.mutable_scope()->add_root_department_ids(43);
  patch.mutable_deletion_guard()->set_max_departures(7);
  patch.mutable_deletion_guard()->set_max_departure_percent(99);
  ASSERT_TRUE(Update("t1", patch, {"scope.root_department_ids", "deletion_guard.max_departures"}, 0, &out).ok());
  EXPECT_EQ(out.scope().root_department_ids_size(), 2);
  EXPECT_EQ(out.deletion_guard().max_departures(), 7);
  EXPECT_EQ(out.deletion_guard().max_departure_percent(), 5);  // not named

  // Optimistic concurrency: the current version passes, a stale one is ABORTED.
  patch.Clear();
  patch.set_idp_id(src.idp_id());
  patch.set_auto_sync(false);
  EXPECT_EQ(Update("t1", patch, {"auto_sync"}, 1).error_code(), StatusCode::ABORTED);
  ASSERT_TRUE(Update("t1", patch, {"auto_sync"}, out.version(), &out).ok());
  EXPECT_FALSE(out.auto_sync());
}

TEST_F(IdentitySourceServiceTest, GetListDeleteRejectBadInput) {
  MustCreate("t1", "src-one");
  std::string before = Snapshot();
  EXPECT_TRUE(IsInvalid(Get("", "00000000-0000-4000-8000-000000000000"), "tenant_id"));
  EXPECT_TRUE(IsInvalid(Get("t1", "nope"), "idp_id"));
  EXPECT_TRUE(IsInvalid(Get("t1", ""), "idp_id"));
  EXPECT_EQ(Get("t1", "00000000-0000-4000-8000-000000000000").error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(IsInvalid(List("", 0, ""), "tenant_id"));
  EXPECT_TRUE(IsInvalid(List("t1", 501, ""), "page_size"));
  EXPECT_TRUE(IsInvalid(List("t1", -1, ""), "page_size"));
  EXPECT_TRUE(IsInvalid(List("t1", 10, "%%%"), "page_token"));
  EXPECT_TRUE(List("t1", 500, "").ok());
  EXPECT_TRUE(IsInvalid(Delete("t1", "xyz"), "idp_id"));
  EXPECT_TRUE(IsInvalid(Delete("t 1", "00000000-0000-4000-8000-000000000000"), "tenant_id"));
  EXPECT_EQ(Delete("t1", "00000000-0000-4000-8000-000000000000").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(IdentitySourceServiceTest, ListPaginatesWithKeysetTokens) {
  for (int i = 0; i < 7; ++i) MustCreate("t1", "src-" + std::to_string(i));
  MustCreate("t2", "src-other");
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    pb::ListIdentitySourcesResponse resp;
    ASSERT_TRUE(List("t1", 3, token, &resp).ok());
    for (const auto& s : resp.identity_sources()) {
      names.push_back(s.name());
      EXPECT_EQ(s.tenant_id(), "t1");
      ExpectMasked(s);
    }
    token = resp.next_page_token();
  } while (!token.empty() && ++pages < 10);
  EXPECT_EQ(names, (std::vector<std::string>{"src-0", "src-1", "src-2", "src-3", "src-4", "src-5", "src-6"}));
}

TEST_F(IdentitySourceServiceTest, TenantIsolation) {
  pb::IdentitySource a = MustCreate("tenant-a", "shared-name");
  std::string before = Snapshot();
  EXPECT_EQ(Get("tenant-b", a.idp_id()).error_code(), StatusCode::NOT_FOUND);
  pb::ListIdentitySourcesResponse list;
  ASSERT_TRUE(List("tenant-b", 0, "", &list).ok());
  EXPECT_EQ(list.identity_sources_size(), 0);
  pb::IdentitySource patch;
  patch.set_idp_id(a.idp_id());
  patch.set_status(pb::CLOSED);
  EXPECT_EQ(Update("tenant-b", patch, {"status"}).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete("tenant-b", a.idp_id()).error_code(), StatusCode::NOT_FOUND);
  {
    pb::GetIntegrationLinksRequest req;
    req.set_tenant_id("tenant-b");
    req.set_idp_id(a.idp_id());
    pb::IntegrationLinks links;
    ClientContext ctx;
    EXPECT_EQ(idsrc_->GetIntegrationLinks(&ctx, req, &links).error_code(), StatusCode::NOT_FOUND);
  }
  {
    pb::ListMappableFieldsRequest req;
    req.set_tenant_id("tenant-b");
    req.set_idp_id(a.idp_id());
    pb::ListMappableFieldsResponse resp;
    ClientContext ctx;
    EXPECT_EQ(idsrc_->ListMappableFields(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(Snapshot(), before);
  pb::IdentitySource still;
  ASSERT_TRUE(Get("tenant-a", a.idp_id(), &still).ok());
  EXPECT_EQ(still.status(), pb::ENABLED);
}

TEST_F(IdentitySourceServiceTest, RawRowHoldsNoPlaintextSecret) {
  pb::IdentitySource a = MustCreate("t1", "src-one");
  pqxx::connection c(db_->dsn());
  pqxx::read_transaction tx(c);
  std::string row = tx.exec1("SELECT row_to_json(s)::text FROM identity_sources s")[0].as<std::string>();
  pqxx::row blobs = tx.exec1("SELECT app_secret_enc, aes_key_enc, token_enc FROM identity_sources");
  std::string bytes;
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(blobs[i].is_null());
    bytes += pqxx::binarystring(blobs[i]).str();
  }
  for (const std::string secret : {kAppSecret, kAesKey, kToken}) {
    EXPECT_EQ(row.find(secret), std::string::npos);
    EXPECT_EQ(row.find(absl::BytesToHexString(secret)), std::string::npos);
    EXPECT_EQ(bytes.find(secret), std::string::npos);
  }
  // The envelopes are version 1, 12-byte nonce, ciphertext, 16-byte tag.
  EXPECT_EQ(pqxx::binarystring(blobs[0]).size(), 1 + 12 + std::string(kAppSecret).size() + 16);
}

TEST_F(IdentitySourceServiceTest, ExtendedFields) {
  pb::ExtendedField f;
  ASSERT_TRUE(CreateField("t1", "cost_center", "成本中心", pb::FIELD_STRING, &f).ok());
  EXPECT_EQ(f.name(), "cost_center");
  EXPECT_EQ(f.tenant_id(), "t1");
  std::string before = Snapshot();
  EXPECT_EQ(CreateField("t1", "cost_center", "again", pb::FIELD_STRING).error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(IsInvalid(CreateField("", "x1", "X", pb::FIELD_STRING), "tenant_id"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "Bad", "X", pb::FIELD_STRING), "name"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "1bad", "X", pb::FIELD_STRING), "name"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "", "X", pb::FIELD_STRING), "name"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "ok_name", "", pb::FIELD_STRING), "display_name"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "ok_name", std::string(101, 'd'), pb::FIELD_STRING), "display_name"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "ok_name", "X", pb::FIELD_TYPE_UNSPECIFIED), "type"));
  EXPECT_TRUE(IsInvalid(CreateField("t1", "ok_name", "X", static_cast<pb::FieldType>(17)), "type"));
  EXPECT_EQ(Snapshot(), before);

  ASSERT_TRUE(CreateField("t1", "level", "Level", pb::FIELD_NUMBER).ok());
  ASSERT_TRUE(CreateField("t2", "other", "Other", pb::FIELD_BOOL).ok());
  {
    pb::ListExtendedFieldsRequest req;
    req.set_tenant_id("t1");
    pb::ListExtendedFieldsResponse resp;
    ClientContext ctx;
    ASSERT_TRUE(idsrc_->ListExtendedFields(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.fields_size(), 2);
    EXPECT_EQ(resp.fields(0).name(), "cost_center");
    EXPECT_EQ(resp.fields(1).type(), pb::FIELD_NUMBER);
  }
  auto update = [&](const std::string& tenant, const std::string& name, const std::string& display,
                    pb::FieldType type, pb::ExtendedField* out) {
    pb::UpdateExtendedFieldRequest req;
    req.set_tenant_id(tenant);
    req.mutable_field()->set_name(name);
    req.mutable_field()->set_display_name(display);
    req.mutable_field()->set_type(type);
    ClientContext ctx;
    return idsrc_->UpdateExtendedField(&ctx, req, out);
  };
  pb::ExtendedField updated;
  ASSERT_TRUE(update("t1", "level", "Grade", pb::FIELD_STRING, &updated).ok());
  EXPECT_EQ(updated.display_name(), "Grade");
  EXPECT_EQ(updated.type(), pb::FIELD_STRING);
  before = Snapshot();
  EXPECT_EQ(update("t1", "missing", "X", pb::FIELD_STRING, &updated).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(update("t2", "level", "X", pb::FIELD_STRING, &updated).error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(IsInvalid(update("t1", "level", "", pb::FIELD_STRING, &updated), "display_name"));
  EXPECT_TRUE(IsInvalid(update("t1", "level", "X", static_cast<pb::FieldType>(9), &updated), "type"));
  EXPECT_EQ(Snapshot(), before);

  // A mapping targets ext.cost_center: deletion is refused naming the source and the mapping.
  pb::IdentitySource src = ValidSource("hr-source");
  pb::FieldMapping* m = src.add_field_mappings();
  m->set_source_field("extension.成本中心");
  m->set_target_field("ext.cost_center");
  ASSERT_TRUE(Create("t1", src).ok());
  auto del = [&](const std::string& tenant, const std::string& name) {
    pb::DeleteExtendedFieldRequest req;
    req.set_tenant_id(tenant);
    req.set_name(name);
    pb::DeleteExtendedFieldResponse resp;
    ClientContext ctx;
    return idsrc_->DeleteExtendedField(&ctx, req, &resp);
  };
  before = Snapshot();
  grpc::Status refused = del("t1", "cost_center");
  EXPECT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("hr-source"), std::string::npos) << refused.error_message();
  EXPECT_NE(refused.error_message().find("extension.成本中心 -> ext.cost_center"), std::string::npos)
      << refused.error_message();
  EXPECT_TRUE(IsInvalid(del("t1", "Bad Name"), "name"));
  EXPECT_EQ(del("t1", "missing").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(del("t2", "level").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_TRUE(del("t1", "level").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM extended_fields WHERE tenant_id = 't1'"), 1);
}

TEST_F(IdentitySourceServiceTest, ListMappableFields) {
  ASSERT_TRUE(CreateField("t1", "cost_center", "Cost center", pb::FIELD_STRING).ok());
  pb::IdentitySource a = MustCreate("t1", "src-one");
  Exec("INSERT INTO users (idp_id, tenant_id, dingtalk_userid, attributes) VALUES ('" + a.idp_id() +
       "', 't1', 'u1', '{\"extension\": {\"工号\": \"7\", \"site\": \"HZ\"}}')");
  auto call = [&](const std::string& tenant, const std::string& idp, pb::ListMappableFieldsResponse* resp) {
    pb::ListMappableFieldsRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(idp);
    ClientContext ctx;
    return idsrc_->ListMappableFields(&ctx, req, resp);
  };
  auto names = [](const google::protobuf::RepeatedPtrField<pb::MappableField>& fields) {
    std::vector<std::string> out;
    for (const auto& f : fields) out.push_back(f.name());
    return out;
  };
  pb::ListMappableFieldsResponse resp;
  ASSERT_TRUE(call("t1", a.idp_id(), &resp).ok());
  std::vector<std::string> sources = names(resp.source_fields());
  for (const char* want : {"userid", "unionid", "name", "mobile", "email", "org_email", "job_number", "title",
                           "hired_date", "extension.site", "extension.工号"}) {
    EXPECT_NE(std::find(sources.begin(), sources.end(), want), sources.end()) << want;
  }
  EXPECT_EQ(names(resp.target_fields()),
            (std::vector<std::string>{"email", "mobile", "job_number", "title", "name", "org_email",
                                      "ext.cost_center"}));
  EXPECT_EQ(resp.target_fields(6).display_name(), "Cost center");

  pb::ListMappableFieldsResponse no_idp;
  ASSERT_TRUE(call("t1", "", &no_idp).ok());
  for (const auto& f : no_idp.source_fields()) EXPECT_EQ(f.name().rfind("extension.", 0), std::string::npos);
  pb::ListMappableFieldsResponse bad;
  EXPECT_TRUE(IsInvalid(call("", "", &bad), "tenant_id"));
  EXPECT_TRUE(IsInvalid(call("t1", "zzz", &bad), "idp_id"));
  EXPECT_EQ(call("t1", "00000000-0000-4000-8000-000000000000", &bad).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(IdentitySourceServiceTest, GetIntegrationLinks) {
  pb::IdentitySource a = MustCreate("t1", "src-one");
  auto call = [&](const std::string& tenant, const std::string& idp, pb::IntegrationLinks* links) {
    pb::GetIntegrationLinksRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(idp);
    ClientContext ctx;
    return idsrc_->GetIntegrationLinks(&ctx, req, links);
  };
  pb::IntegrationLinks links;
  ASSERT_TRUE(call("t1", a.idp_id(), &links).ok());
  EXPECT_EQ(links.event_request_url(), "https://sase.example.com/dingtalk/events/" + a.idp_id());
  EXPECT_EQ(links.homepage_url(), "https://sase.example.com/ui/dingAuth/?idp_id=" + a.idp_id());
  EXPECT_EQ(links.callback_url(), "https://sase.example.com/open-dev/dingtalk");
  EXPECT_EQ(links.login_url(), "https://sase.example.com/dingtalk/login/" + a.idp_id());
  EXPECT_EQ(links.qr_login_url(), "https://sase.example.com/dingtalk/login/" + a.idp_id() + "/qr");
  EXPECT_TRUE(IsInvalid(call("", a.idp_id(), &links), "tenant_id"));
  EXPECT_TRUE(IsInvalid(call("t1", "bad", &links), "idp_id"));
  EXPECT_EQ(call("t1", "00000000-0000-4000-8000-000000000000", &links).error_code(), StatusCode::NOT_FOUND);

  // Without public_host the links cannot be built.
  IdentitySourceServiceImpl unconfigured(*sources_, *fields_, *probe_, {});
  pb::GetIntegrationLinksRequest req;
  req.set_tenant_id("t1");
  req.set_idp_id(a.idp_id());
  grpc::ServerContext sctx;
  grpc::Status s = unconfigured.GetIntegrationLinks(&sctx, &req, &links);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("public_host"), std::string::npos);
}

// Against the simulator these are covered by full_sync_pgtest; here DingTalk is unreachable.
TEST_F(IdentitySourceServiceTest, DingTalkRpcsReportAnUnreachableDingTalk) {
  pb::IdentitySource a = MustCreate("t1", "src-one");
  {
    pb::TestConnectivityRequest req;
    req.set_tenant_id("t1");
    req.set_idp_id(a.idp_id());
    pb::TestConnectivityResponse resp;
    ClientContext ctx;
    ASSERT_TRUE(idsrc_->TestConnectivity(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.ok());
    ASSERT_EQ(resp.steps_size(), 1);
    EXPECT_EQ(resp.steps(0).name(), "token");
    EXPECT_EQ(resp.steps(0).reason(), "unreachable");
  }
  {
    pb::ListSourceDepartmentsRequest req;
    req.set_tenant_id("t1");
    req.set_idp_id(a.idp_id());
    pb::ListSourceDepartmentsResponse resp;
    ClientContext ctx;
    EXPECT_EQ(idsrc_->ListSourceDepartments(&ctx, req, &resp).error_code(), StatusCode::UNAVAILABLE);
  }
}

TEST_F(IdentitySourceServiceTest, DeleteCascadesToSyncedRows) {
  pb::IdentitySource a = MustCreate("t1", "src-one");
  pb::IdentitySource b = MustCreate("t1", "src-two");
  for (const auto* s : {&a, &b}) {
    Exec("INSERT INTO users (idp_id, tenant_id, dingtalk_userid) VALUES ('" + s->idp_id() + "', 't1', 'u1')");
    Exec("INSERT INTO departments (idp_id, dept_id, tenant_id, name) VALUES ('" + s->idp_id() + "', 1, 't1', 'root')");
    Exec("INSERT INTO sync_runs (idp_id, tenant_id, trigger, state) VALUES ('" + s->idp_id() + "', 't1', 1, 4)");
  }
  ASSERT_TRUE(Delete("t1", a.idp_id()).ok());
  for (const char* table : {"users", "departments", "sync_runs"}) {
    EXPECT_EQ(Count(std::string("SELECT count(*) FROM ") + table + " WHERE idp_id = '" + a.idp_id() + "'"), 0)
        << table;
    EXPECT_EQ(Count(std::string("SELECT count(*) FROM ") + table + " WHERE idp_id = '" + b.idp_id() + "'"), 1)
        << table;
  }
}

}  // namespace
}  // namespace sase::sync_worker::testing

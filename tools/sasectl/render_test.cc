#include "sasectl/render.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sasectl/errors.h"
#include "sasectl/table.h"

namespace sase::sasectl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::User MakeUser(const std::string& id, const std::string& name, const std::string& email) {
  v1::User u;
  u.set_tenant_id("demo");
  u.set_idp_id("idp-1");
  u.set_user_id(id);
  u.set_dingtalk_userid("ding-" + id);
  u.set_name(name);
  u.set_email(email);
  u.set_status(v1::USER_ACTIVE);
  u.add_department_ids(1);
  u.add_department_ids(20);
  return u;
}

TEST(SasectlJsonTest, OneLineProtoFieldNamesDefaultsIncluded) {
  v1::ListUsersResponse resp;
  *resp.add_users() = MakeUser("u1", "张三", "zs@example.com");
  resp.mutable_users(0)->set_version(12345678901234);
  resp.mutable_users(0)->mutable_update_time()->set_seconds(1714550400);
  resp.set_next_page_token("tok");
  std::string json = ToJson(resp);
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.back(), '\n');
  EXPECT_EQ(json.find('\n'), json.size() - 1) << "one line";
  nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["next_page_token"], "tok");
  ASSERT_EQ(j["users"].size(), 1u);
  const nlohmann::json& u = j["users"][0];
  EXPECT_EQ(u["user_id"], "u1");
  EXPECT_EQ(u["dingtalk_userid"], "ding-u1");
  EXPECT_EQ(u["name"], "张三");
  EXPECT_EQ(u["status"], "USER_ACTIVE");
  EXPECT_EQ(u["version"], "12345678901234");  // proto3 JSON: int64 as string
  EXPECT_EQ(u["department_ids"], nlohmann::json::array({"1", "20"}));
  EXPECT_EQ(u["active"], false);  // defaults are printed
  EXPECT_EQ(u["mobile"], "");
  EXPECT_EQ(u["update_time"], "2024-05-01T08:00:00Z");
}

TEST(SasectlJsonTest, EmptyResponseIsAnObject) {
  EXPECT_EQ(ToJson(v1::DeleteIdentitySourceResponse()), "{}\n");
}

TEST(SasectlJsonTest, SecretsAreMaskedEvenIfTheServerSentThem) {
  v1::ListIdentitySourcesResponse resp;
  v1::IdentitySource* s = resp.add_identity_sources();
  s->set_name("总部");
  s->set_app_secret("plain-secret");
  s->set_aes_key("plainaeskey");
  s->set_app_secret_set(true);
  std::string json = ToJson(resp);
  EXPECT_THAT(json, Not(HasSubstr("plain")));
  nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["identity_sources"][0]["app_secret"], kSecretMask);
  EXPECT_EQ(j["identity_sources"][0]["aes_key"], kSecretMask);
  EXPECT_EQ(j["identity_sources"][0]["token"], "");
  EXPECT_EQ(j["identity_sources"][0]["app_secret_set"], true);
  EXPECT_EQ(j["identity_sources"][0]["name"], "总部");
}

TEST(SasectlRenderTest, IdentitySourceNeverShowsSecretValues) {
  v1::IdentitySource s;
  s.set_idp_id("idp-1");
  s.set_name("钉钉总部");
  s.set_status(v1::ENABLED);
  s.set_dingtalk_type(v1::STANDARD);
  s.set_app_secret("plain-secret");
  s.set_token_set(true);
  s.set_sync_cycle_hours(6);
  s.mutable_scope()->add_root_department_ids(1);
  s.mutable_scope()->add_root_department_ids(23);
  auto* m = s.add_field_mappings();
  m->set_source_field("job_number");
  m->set_target_field("ext.badge");
  std::string detail = RenderIdentitySource(s);
  EXPECT_THAT(detail, Not(HasSubstr("plain-secret")));
  EXPECT_THAT(detail, HasSubstr("app_secret:               set (hidden)"));
  EXPECT_THAT(detail, HasSubstr("aes_key:                  not set"));
  EXPECT_THAT(detail, HasSubstr("token:                    set (hidden)"));
  EXPECT_THAT(detail, HasSubstr("scope:                    departments 1,23"));
  EXPECT_THAT(detail, HasSubstr("field_mappings:           job_number=ext.badge"));
  std::string table = RenderIdentitySources({s});
  EXPECT_THAT(table, Not(HasSubstr("plain-secret")));
  EXPECT_THAT(table, HasSubstr("app_secret,token"));
  EXPECT_THAT(table, HasSubstr("钉钉总部"));
}

TEST(SasectlRenderTest, UserTableAlignsCjkNames) {
  std::string out = RenderUsers({MakeUser("u1", "张三", "zs@example.com"), MakeUser("u2", "Bob", "bob@example.com"),
                                 MakeUser("u3", "欧阳娜娜", "ny@example.com")});
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  auto status_col = [](const std::string& line) {
    size_t pos = line.find(line.rfind("STATUS") != std::string::npos ? "STATUS" : "active");
    return DisplayWidth(line.substr(0, pos));
  };
  const int col = status_col(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(status_col(lines[i]), col) << lines[i];
  EXPECT_THAT(lines[1], HasSubstr("1,20"));
}

TEST(SasectlRenderTest, ChangeLineIsOneSanitisedLine) {
  v1::Change c;
  c.set_seq(42);
  c.set_idp_id("idp-1");
  c.set_kind(v1::CHANGE_USER_CREATED);
  c.set_origin("sync:r1");
  c.mutable_commit_time()->set_seconds(1714550400);
  *c.mutable_user() = MakeUser("u1", "张\n三\x1b[2J", "");
  EXPECT_EQ(RenderChangeLine(c),
            "42  2024-05-01T08:00:00Z  user_created  idp=idp-1  user 张?三?[2J (ding-u1, u1) active  origin=sync:r1\n");
  v1::Change d;
  d.set_seq(43);
  d.set_kind(v1::CHANGE_DEPARTMENT_DELETED);
  d.mutable_department()->set_department_id(7);
  d.mutable_department()->set_name("市场部");
  EXPECT_EQ(RenderChangeLine(d), "43  -  department_deleted  idp=-  dept 7 市场部  origin=-\n");
}

TEST(SasectlRenderTest, ProgressBar) {
  v1::SyncRun r;
  r.set_state(v1::FETCHING);
  r.mutable_progress()->set_departments_done(10);
  r.mutable_progress()->set_departments_total(10);
  r.mutable_progress()->set_users_done(40);
  r.mutable_progress()->set_users_total(90);
  EXPECT_EQ(RenderProgress(r, 10), "[#####.....] 50%  departments 10/10  users 40/90  fetching");
  r.mutable_progress()->mutable_waiting_until()->set_seconds(1'700'000'300);
  r.mutable_progress()->set_waiting_reason("ip_ban");
  EXPECT_EQ(RenderProgress(r, 10), absl::StrCat("[#####.....] 50%  departments 10/10  users 40/90  fetching",
                                                "  waiting for DingTalk until 2023-11-14T22:18:20Z (ip_ban)"));
  EXPECT_THAT(RenderSyncRun(r), HasSubstr("waiting for DingTalk until"));
  r.mutable_progress()->clear_waiting_until();
  r.mutable_progress()->clear_waiting_reason();
  r.mutable_progress()->set_users_total(0);
  r.mutable_progress()->set_users_done(0);
  r.mutable_progress()->set_departments_done(0);
  r.set_state(v1::PENDING);
  EXPECT_EQ(RenderProgress(r, 4), "[....] 0%  departments 0/10  users 0/?  pending");
  r.set_state(v1::SUCCEEDED);
  EXPECT_EQ(RenderProgress(r, 4), "[####] 100%  departments 0/10  users 0/?  succeeded");
  EXPECT_TRUE(IsTerminal(v1::SUCCEEDED));
  EXPECT_TRUE(IsTerminal(v1::AWAITING_APPROVAL));
  EXPECT_FALSE(IsTerminal(v1::APPLYING));
}

TEST(SasectlRenderTest, MembershipAndDepartments) {
  v1::CheckMembershipRequest req;
  req.set_user_id("u1");
  req.set_department_id(5);
  v1::CheckMembershipResponse resp;
  EXPECT_EQ(RenderMembership(req, resp), "u1 in department 5: not a member\n");
  resp.set_member(true);
  EXPECT_EQ(RenderMembership(req, resp), "u1 in department 5: member (via a sub-department)\n");
  resp.set_direct(true);
  EXPECT_EQ(RenderMembership(req, resp), "u1 in department 5: member (direct)\n");

  v1::Department d;
  d.set_department_id(5);
  d.set_name("研发");
  d.set_parent_id(2);
  d.add_ancestor_ids(1);
  d.add_ancestor_ids(2);
  d.set_member_count(3);
  EXPECT_EQ(RenderDepartments({d}),
            "DEPT_ID  NAME  PARENT  MEMBERS  PATH\n"
            "5        研发  2       3        1/2/5\n");
}

TEST(SasectlErrorsTest, FormatAndExitCodes) {
  EXPECT_EQ(FormatError(absl::StatusCode::kNotFound, "identity source x"), "error: NOT_FOUND: identity source x\n");
  EXPECT_EQ(FormatError(absl::StatusCode::kInvalidArgument, "bad key hunter2 here", {"hunter2"}),
            "error: INVALID_ARGUMENT: bad key ******** here\n");
  EXPECT_EQ(FormatUsageError("x\x1b"), "error: x?\n");
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kNotFound), 3);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kInvalidArgument), 4);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kUnavailable), 1);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kUnimplemented), 1);
}

TEST(SasectlRenderTest, LoginRedirectsLinksAndTenantSettings) {
  v1::IdentitySource s;
  EXPECT_THAT(RenderIdentitySource(s), HasSubstr("login_redirect_uris:      - (cannot log on)\n"));
  s.add_login_redirect_uris("app://cb");
  s.add_login_redirect_uris("https://c.example/x");
  EXPECT_THAT(RenderIdentitySource(s), HasSubstr("login_redirect_uris:      app://cb, https://c.example/x\n"));
  EXPECT_EQ(nlohmann::json::parse(ToJson(s))["login_redirect_uris"][1], "https://c.example/x");

  v1::IntegrationLinks l;
  l.set_callback_url("https://h/open-dev/dingtalk");
  EXPECT_THAT(RenderIntegrationLinks(l), HasSubstr("logon start:            -\n"));
  l.set_login_url("https://h/dingtalk/login/i");
  l.set_qr_login_url("https://h/dingtalk/login/i/qr");
  const std::string links = RenderIntegrationLinks(l);
  EXPECT_THAT(links, HasSubstr("logon start:            https://h/dingtalk/login/i?redirect_uri=<client redirect>"));
  EXPECT_THAT(links, HasSubstr("logon start (QR code):  https://h/dingtalk/login/i/qr?redirect_uri="));
  EXPECT_EQ(nlohmann::json::parse(ToJson(l))["qr_login_url"], "https://h/dingtalk/login/i/qr");

  v1::TenantSettings t;
  t.set_tenant_id("demo");
  EXPECT_THAT(RenderTenantSettings(t), HasSubstr("enterprise_id:  - (no logon discovery)\n"));
  t.set_enterprise_id("demo-corp");
  t.set_version(2);
  t.mutable_update_time()->set_seconds(1800000000);
  const std::string shown = RenderTenantSettings(t);
  EXPECT_THAT(shown, HasSubstr("enterprise_id:  demo-corp\n"));
  EXPECT_THAT(shown, HasSubstr("updated:        2027-01-15T08:00:00Z\n"));
}

}  // namespace
}  // namespace sase::sasectl

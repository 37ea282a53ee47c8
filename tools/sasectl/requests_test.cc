#include "sasectl/requests.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::sasectl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

GetEnv Env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

ReadFile Files(std::map<std::string, std::string> files) {
  return [files](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError("cannot read " + path);
    return it->second;
  };
}

Invocation MustParse(std::vector<std::string> argv, const GetEnv& env = Env({})) {
  absl::StatusOr<Invocation> inv = ParseCommandLine(argv, env);
  EXPECT_TRUE(inv.ok()) << inv.status();
  return inv.ok() ? *inv : Invocation{};
}

std::vector<std::string> MaskOf(const v1::UpdateIdentitySourceRequest& req) {
  return {req.update_mask().paths().begin(), req.update_mask().paths().end()};
}

TEST(SasectlUpdateMaskTest, OnlyTheGivenFieldsInMessageOrder) {
  Invocation inv = MustParse({"idp", "update", "idp-1", "--cycle-hours", "6", "--name", "总部", "--no-auto-sync"});
  auto req = BuildUpdateIdentitySource(inv, Env({}), Files({}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->tenant_id(), "demo");
  EXPECT_EQ(req->identity_source().idp_id(), "idp-1");
  EXPECT_THAT(MaskOf(*req), ElementsAre("name", "auto_sync", "sync_cycle_hours"));
  EXPECT_EQ(req->identity_source().name(), "总部");
  EXPECT_FALSE(req->identity_source().auto_sync());
  EXPECT_EQ(req->identity_source().sync_cycle_hours(), 6);
  EXPECT_EQ(req->expected_version(), 0);
}

TEST(SasectlUpdateMaskTest, EveryField) {
  Invocation inv = MustParse({"idp", "update", "i", "--name", "n", "--description", "d", "--status", "closed",
                              "--corp-id", "c", "--app-key", "k", "--app-secret", "s", "--type", "dedicated",
                              "--aes-key", "a", "--token", "t", "--accept-corp-id-receiver", "--auto-sync",
                              "--sync-user-info=false", "--cycle-hours", "3", "--scope", "1,23", "--map",
                              "job_number=ext.badge", "--map", "extension.工号=ext.emp", "--expected-version", "7"});
  auto req = BuildUpdateIdentitySource(inv, Env({}), Files({}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(MaskOf(*req),
              ElementsAre("name", "description", "status", "corp_id", "app_key", "app_secret", "dingtalk_type",
                          "aes_key", "token", "accept_corp_id_receiver", "auto_sync", "sync_user_info",
                          "sync_cycle_hours", "scope", "field_mappings"));
  const v1::IdentitySource& s = req->identity_source();
  EXPECT_EQ(s.status(), v1::CLOSED);
  EXPECT_EQ(s.dingtalk_type(), v1::DEDICATED);
  EXPECT_EQ(s.app_secret(), "s");
  EXPECT_EQ(s.aes_key(), "a");
  EXPECT_EQ(s.token(), "t");
  EXPECT_TRUE(s.accept_corp_id_receiver());
  EXPECT_FALSE(s.sync_user_info());
  EXPECT_THAT(s.scope().root_department_ids(), ElementsAre(1, 23));
  ASSERT_EQ(s.field_mappings_size(), 2);
  EXPECT_EQ(s.field_mappings(1).source_field(), "extension.工号");
  EXPECT_EQ(s.field_mappings(1).target_field(), "ext.emp");
  EXPECT_EQ(req->expected_version(), 7);
}

TEST(SasectlUpdateMaskTest, ScopeAllAndClearMapsSendEmptyValues) {
  Invocation inv = MustParse({"idp", "update", "i", "--scope", "all", "--clear-maps"});
  auto req = BuildUpdateIdentitySource(inv, Env({}), Files({}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(MaskOf(*req), ElementsAre("scope", "field_mappings"));
  EXPECT_THAT(req->identity_source().scope().root_department_ids(), IsEmpty());
  EXPECT_THAT(req->identity_source().field_mappings(), IsEmpty());
}

TEST(SasectlUpdateMaskTest, SecretSources) {
  const auto files = Files({{"/s", "from-file\n"}});
  // From a file (newline dropped).
  auto req = BuildUpdateIdentitySource(MustParse({"idp", "update", "i", "--app-secret-file", "/s"}),
                                       Env({}), files);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(MaskOf(*req), ElementsAre("app_secret"));
  EXPECT_EQ(req->identity_source().app_secret(), "from-file");
  // The environment is not sent on update unless asked for...
  const auto env = Env({{"SASE_APP_SECRET", "from-env"}});
  req = BuildUpdateIdentitySource(MustParse({"idp", "update", "i", "--name", "n"}, env), env, files);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(MaskOf(*req), ElementsAre("name"));
  EXPECT_EQ(req->identity_source().app_secret(), "");
  // ...and is with --app-secret-env.
  req = BuildUpdateIdentitySource(MustParse({"idp", "update", "i", "--app-secret-env"}, env), env, files);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(MaskOf(*req), ElementsAre("app_secret"));
  EXPECT_EQ(req->identity_source().app_secret(), "from-env");
}

TEST(SasectlUpdateMaskTest, Errors) {
  auto nothing = BuildUpdateIdentitySource(MustParse({"idp", "update", "i"}), Env({}), Files({}));
  EXPECT_THAT(std::string(nothing.status().message()), HasSubstr("nothing to change"));
  auto both = BuildUpdateIdentitySource(
      MustParse({"idp", "update", "i", "--app-secret", "topsecret", "--app-secret-file", "/x"}), Env({}), Files({}));
  EXPECT_THAT(std::string(both.status().message()), HasSubstr("only one of --app-secret and --app-secret-file"));
  EXPECT_THAT(std::string(both.status().message()), Not(HasSubstr("topsecret")));
  auto missing = BuildUpdateIdentitySource(MustParse({"idp", "update", "i", "--aes-key-file", "/nope"}), Env({}),
                                           Files({}));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("--aes-key-file: cannot read /nope"));
  auto no_env = BuildUpdateIdentitySource(MustParse({"idp", "update", "i", "--app-secret-env"}), Env({}), Files({}));
  EXPECT_THAT(std::string(no_env.status().message()), HasSubstr("SASE_APP_SECRET is not set"));
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"idp", "update", "i", "--status", "open"},
           {"idp", "update", "i", "--type", "x"},
           {"idp", "update", "i", "--cycle-hours", "1.5"},
           {"idp", "update", "i", "--cycle-hours", "99999999999"},
           {"idp", "update", "i", "--scope", "1,x"},
           {"idp", "update", "i", "--scope", "0"},
           {"idp", "update", "i", "--map", "nosep"},
           {"idp", "update", "i", "--map", "=x"},
           {"idp", "update", "i", "--map", "a=b", "--clear-maps"},
           {"idp", "update", "i", "--name", "n", "--expected-version", "v"},
       }) {
    auto req = BuildUpdateIdentitySource(MustParse(argv), Env({}), Files({}));
    EXPECT_EQ(req.status().code(), absl::StatusCode::kInvalidArgument) << ::testing::PrintToString(argv);
  }
}

TEST(SasectlCreateTest, DefaultsAndEnvironmentSecret) {
  const auto env = Env({{"SASE_APP_SECRET", "env-secret"}, {"SASE_TENANT", "acme"}});
  auto req = BuildCreateIdentitySource(
      MustParse({"idp", "create", "--name", "钉钉", "--corp-id", "ding1", "--app-key", "k"}, env), env, Files({}));
  ASSERT_TRUE(req.ok()) << req.status();
  const v1::IdentitySource& s = req->identity_source();
  EXPECT_EQ(req->tenant_id(), "acme");
  EXPECT_EQ(s.name(), "钉钉");
  EXPECT_EQ(s.status(), v1::ENABLED);
  EXPECT_EQ(s.dingtalk_type(), v1::STANDARD);
  EXPECT_TRUE(s.sync_user_info());
  EXPECT_FALSE(s.auto_sync());
  EXPECT_EQ(s.sync_cycle_hours(), 24);
  EXPECT_EQ(s.app_secret(), "env-secret");
  // A command-line secret wins over the environment.
  req = BuildCreateIdentitySource(MustParse({"idp", "create", "--app-secret", "cli"}, env), env, Files({}));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->identity_source().app_secret(), "cli");
}

TEST(SasectlDirectoryRequestsTest, LookupNeedsExactlyOneKey) {
  auto req = BuildLookupUser(MustParse({"user", "lookup", "--email", "a@b.c", "--idp", "i"}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->key_case(), v1::LookupUserRequest::kEmail);
  EXPECT_EQ(req->idp_id(), "i");
  req = BuildLookupUser(MustParse({"user", "lookup", "--job-number", "007"}));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->job_number(), "007");
  EXPECT_FALSE(BuildLookupUser(MustParse({"user", "lookup"})).ok());
  EXPECT_FALSE(BuildLookupUser(MustParse({"user", "lookup", "--userid", "a", "--unionid", "b"})).ok());
}

TEST(SasectlDirectoryRequestsTest, ListUsers) {
  auto req = BuildListUsers(MustParse({"user", "list", "--idp", "i", "--dept", "5", "--subtree", "--status",
                                       "departed", "--page-size", "50", "--page-token", "tok"}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->idp_id(), "i");
  EXPECT_EQ(req->department_id(), 5);
  EXPECT_TRUE(req->include_descendants());
  EXPECT_EQ(req->status(), v1::USER_DEPARTED);
  EXPECT_EQ(req->page_size(), 50);
  EXPECT_EQ(req->page_token(), "tok");
  EXPECT_FALSE(BuildListUsers(MustParse({"user", "list", "--idp", "i", "--subtree"})).ok());
  EXPECT_FALSE(BuildListUsers(MustParse({"user", "list", "--idp", "i", "--status", "gone"})).ok());
  EXPECT_FALSE(BuildListUsers(MustParse({"user", "list", "--idp", "i", "--dept", "x"})).ok());
}

TEST(SasectlDirectoryRequestsTest, DepartmentsMembershipWatch) {
  auto dept = BuildGetDepartment(MustParse({"dept", "get", "--idp", "i", "42"}));
  ASSERT_TRUE(dept.ok());
  EXPECT_EQ(dept->department_id(), 42);
  EXPECT_FALSE(BuildGetDepartment(MustParse({"dept", "get", "--idp", "i", "forty"})).ok());
  auto list = BuildListDepartments(MustParse({"dept", "list", "--idp", "i", "--parent", "3", "--subtree"}));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->parent_id(), 3);
  EXPECT_TRUE(list->subtree());
  auto check = BuildCheckMembership(MustParse({"user", "check", "u", "9"}));
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->user_id(), "u");
  EXPECT_EQ(check->department_id(), 9);
  auto watch = BuildWatchChanges(MustParse({"watch", "--after", "17"}));
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ(watch->after_seq(), 17);
  EXPECT_FALSE(watch->from_now());
  EXPECT_FALSE(BuildWatchChanges(MustParse({"watch", "--after", "1", "--from-now"})).ok());
  EXPECT_FALSE(BuildWatchChanges(MustParse({"watch", "--after", "-1"})).ok());
}

TEST(SasectlFieldRequestsTest, CreateAndUpdate) {
  auto f = BuildExtendedField(MustParse({"field", "create", "badge", "--display-name", "工牌"}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->name(), "badge");
  EXPECT_EQ(f->display_name(), "工牌");
  EXPECT_EQ(f->type(), v1::FIELD_STRING);
  f = BuildExtendedField(MustParse({"field", "update", "badge", "--type", "number"}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->type(), v1::FIELD_NUMBER);
  EXPECT_FALSE(BuildExtendedField(MustParse({"field", "update", "badge"})).ok());
  EXPECT_FALSE(BuildExtendedField(MustParse({"field", "create", "b", "--display-name", "x", "--type", "blob"})).ok());
}

TEST(SasectlUpdateMaskTest, LoginRedirectUrisReplaceOrClearTheList) {
  auto set = BuildUpdateIdentitySource(
      MustParse({"idp", "update", "i", "--login-redirect-uri", "app://cb", "--login-redirect-uri", "https://c/x",
                 "--name", "n"}),
      Env({}), Files({}));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(MaskOf(*set), ElementsAre("name", "login_redirect_uris"));
  EXPECT_THAT(std::vector<std::string>(set->identity_source().login_redirect_uris().begin(),
                                       set->identity_source().login_redirect_uris().end()),
              ElementsAre("app://cb", "https://c/x"));
  auto clear = BuildUpdateIdentitySource(MustParse({"idp", "update", "i", "--clear-login-redirect-uris"}), Env({}),
                                         Files({}));
  ASSERT_TRUE(clear.ok()) << clear.status();
  EXPECT_THAT(MaskOf(*clear), ElementsAre("login_redirect_uris"));
  EXPECT_THAT(clear->identity_source().login_redirect_uris(), IsEmpty());
  EXPECT_FALSE(BuildUpdateIdentitySource(
                   MustParse({"idp", "update", "i", "--clear-login-redirect-uris", "--login-redirect-uri", "a://b"}),
                   Env({}), Files({}))
                   .ok());
  auto create = BuildCreateIdentitySource(MustParse({"idp", "create", "--name", "n", "--login-redirect-uri", "a://b"}),
                                          Env({}), Files({}));
  ASSERT_TRUE(create.ok()) << create.status();
  EXPECT_THAT(create->identity_source().login_redirect_uris(), ElementsAre("a://b"));
}

TEST(SasectlTenantRequestsTest, SetEnterpriseId) {
  auto req = BuildUpdateTenantSettings(
      MustParse({"tenant", "set", "--tenant", "acme", "--enterprise-id", "Acme-Corp", "--expected-version", "3"}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->settings().tenant_id(), "acme");
  EXPECT_EQ(req->settings().enterprise_id(), "Acme-Corp");  // the server lower-cases and validates
  EXPECT_EQ(req->expected_version(), 3);
  auto clear = BuildUpdateTenantSettings(MustParse({"tenant", "set", "--enterprise-id="}));
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(clear->settings().enterprise_id(), "");
  EXPECT_EQ(clear->expected_version(), 0);
  EXPECT_FALSE(BuildUpdateTenantSettings(MustParse({"tenant", "set", "--enterprise-id", "x", "--expected-version",
                                                    "v"}))
                   .ok());
}

}  // namespace
}  // namespace sase::sasectl

#include "sasectl/cli_args.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::sasectl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

GetEnv Env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

absl::StatusOr<Invocation> Parse(std::vector<std::string> argv, std::map<std::string, std::string> env = {}) {
  return ParseCommandLine(argv, Env(std::move(env)));
}

TEST(SasectlCliArgsTest, DefaultsWithoutEnvironment) {
  auto inv = Parse({"idp", "list"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command->Path(), "idp list");
  EXPECT_EQ(inv->global.sync_worker_addr, "127.0.0.1:50061");
  EXPECT_EQ(inv->global.directory_addr, "127.0.0.1:50062");
  EXPECT_EQ(inv->global.tenant, "demo");
  EXPECT_FALSE(inv->global.json);
  EXPECT_DOUBLE_EQ(inv->global.timeout_seconds, 10);
}

TEST(SasectlCliArgsTest, EnvironmentThenFlagsAnywhereOnTheLine) {
  auto inv = Parse({"--json", "user", "get", "u1", "--tenant=acme", "--timeout", "2.5"},
                   {{"SASE_SYNC_WORKER_ADDR", "sw:1"}, {"SASE_DIRECTORY_ADDR", "dir:2"}, {"SASE_TENANT", "envt"}});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->global.sync_worker_addr, "sw:1");
  EXPECT_EQ(inv->global.directory_addr, "dir:2");
  EXPECT_EQ(inv->global.tenant, "acme");  // flag beats env
  EXPECT_TRUE(inv->global.json);
  EXPECT_DOUBLE_EQ(inv->global.timeout_seconds, 2.5);
  EXPECT_THAT(inv->args, ElementsAre("u1"));
}

TEST(SasectlCliArgsTest, ValueAndBooleanForms) {
  auto inv = Parse({"idp", "update", "id1", "--name", "钉钉", "--auto-sync", "--no-sync-user-info",
                    "--accept-corp-id-receiver=false", "--map", "a=b", "--map=c=ext.d"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->Get("name"), "钉钉");
  EXPECT_EQ(inv->Get("auto-sync"), "true");
  EXPECT_EQ(inv->Get("sync-user-info"), "false");
  EXPECT_EQ(inv->Get("accept-corp-id-receiver"), "false");
  EXPECT_THAT(inv->GetAll("map"), ElementsAre("a=b", "c=ext.d"));
  EXPECT_FALSE(inv->Has("description"));
}

TEST(SasectlCliArgsTest, DoubleDashEndsFlags) {
  auto inv = Parse({"user", "search", "--idp", "x", "--", "--weird"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->args, ElementsAre("--weird"));
}

TEST(SasectlCliArgsTest, VerblessWatch) {
  auto inv = Parse({"watch", "--after", "42", "--idp", "i"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command->Path(), "watch");
  EXPECT_EQ(inv->Get("after"), "42");
}

TEST(SasectlCliArgsTest, Errors) {
  struct Case {
    std::vector<std::string> argv;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "no command"},
      {{"bogus"}, "unknown command \"bogus\""},
      {{"idp"}, "needs a verb"},
      {{"idp", "frob"}, "unknown command \"idp frob\""},
      {{"idp", "get"}, "takes ID, got 0"},
      {{"idp", "get", "a", "b"}, "takes ID, got 2"},
      {{"idp", "list", "--frob"}, "unknown flag --frob for \"idp list\""},
      {{"--idp", "x", "user", "list"}, "unknown flag --idp"},
      {{"user", "list"}, "needs --idp"},
      {{"idp", "create", "--name"}, "--name needs a value"},
      {{"idp", "create", "--name", "a", "--name", "b"}, "given more than once"},
      {{"idp", "create", "--auto-sync=maybe"}, "takes true or false"},
      {{"idp", "create", "--no-name"}, "unknown flag --no-name"},
      {{"idp", "list", "--timeout", "0"}, "--timeout"},
      {{"idp", "list", "--tenant="}, "--tenant must not be empty"},
      {{"idp", "list", "-x"}, "unknown flag \"-x\""},
  };
  for (const Case& c : cases) {
    auto inv = Parse(c.argv);
    ASSERT_FALSE(inv.ok()) << ::testing::PrintToString(c.argv);
    EXPECT_EQ(inv.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(inv.status().message()), HasSubstr(c.message)) << ::testing::PrintToString(c.argv);
  }
}

TEST(SasectlCliArgsTest, SecretNeverInUsageError) {
  auto inv = Parse({"idp", "create", "--app-secret", "s3cr3t-value", "--app-secret", "other-s3cr3t"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(std::string(inv.status().message()), Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(SecretFlagNames(), ElementsAre("aes-key", "app-secret", "token"));
}

TEST(SasectlCliArgsTest, Help) {
  auto top = Parse({"--help"});
  ASSERT_TRUE(top.ok());
  EXPECT_THAT(top->help, HasSubstr("usage: sasectl"));
  EXPECT_THAT(top->help, HasSubstr("user lookup"));
  EXPECT_THAT(top->help, HasSubstr("SASE_SYNC_WORKER_ADDR"));
  EXPECT_EQ(top->command, nullptr);

  auto group = Parse({"idp", "--help"});
  ASSERT_TRUE(group.ok());
  EXPECT_THAT(group->help, HasSubstr("usage: sasectl idp <verb>"));
  EXPECT_THAT(group->help, HasSubstr("links ID"));

  auto cmd = Parse({"idp", "update", "--help"});
  ASSERT_TRUE(cmd.ok());
  EXPECT_THAT(cmd->help, HasSubstr("usage: sasectl idp update ID [flags]"));
  EXPECT_THAT(cmd->help, HasSubstr("--app-secret-file PATH"));
  EXPECT_THAT(cmd->help, HasSubstr("--map SOURCE=TARGET"));

  // Help wins over missing required flags and arguments.
  auto partial = Parse({"user", "list", "-h"});
  ASSERT_TRUE(partial.ok());
  EXPECT_THAT(partial->help, HasSubstr("(required) identity source id"));

  auto word = Parse({"help", "sync", "start"});
  ASSERT_TRUE(word.ok());
  EXPECT_THAT(word->help, HasSubstr("usage: sasectl sync start"));
  EXPECT_THAT(word->help, HasSubstr("--wait"));
}

TEST(SasectlCliArgsTest, TenantAndLoginTestCommands) {
  auto set = Parse({"--tenant", "acme", "tenant", "set", "--enterprise-id", "acme-corp"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->command->Path(), "tenant set");
  EXPECT_EQ(set->global.tenant, "acme");
  EXPECT_EQ(set->Get("enterprise-id"), "acme-corp");
  EXPECT_FALSE(Parse({"tenant", "set"}).ok());  // --enterprise-id is required ("" clears)
  EXPECT_TRUE(Parse({"tenant", "set", "--enterprise-id", ""}).ok());
  EXPECT_TRUE(Parse({"tenant", "show"}).ok());

  auto login = Parse({"login-test", "--idp", "i", "--userid", "u", "--redirect-uri", "app://cb", "--flow", "in_app",
                      "--sim", "http://127.0.0.1:1"});
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->command->Path(), "login-test");
  EXPECT_EQ(login->Get("flow"), "in_app");
  auto missing = Parse({"login-test", "--idp", "i", "--userid", "u"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("--redirect-uri"));

  auto idp = Parse({"idp", "create", "--login-redirect-uri", "a://1", "--login-redirect-uri", "https://b/2"});
  ASSERT_TRUE(idp.ok()) << idp.status();
  EXPECT_THAT(idp->GetAll("login-redirect-uri"), ElementsAre("a://1", "https://b/2"));
  EXPECT_FALSE(Parse({"idp", "create", "--clear-login-redirect-uris"}).ok());  // update only
  EXPECT_TRUE(Parse({"idp", "update", "X", "--clear-login-redirect-uris"}).ok());
}

TEST(SasectlCliArgsTest, HelpListsTheNewCommands) {
  auto top = Parse({"--help"});
  ASSERT_TRUE(top.ok());
  EXPECT_THAT(top->help, HasSubstr("  tenant show"));
  EXPECT_THAT(top->help, HasSubstr("  tenant set"));
  EXPECT_THAT(top->help, HasSubstr("  login-test"));
  auto login = Parse({"login-test", "--help"});
  ASSERT_TRUE(login.ok());
  EXPECT_THAT(login->help, HasSubstr("--flow oauth|in_app"));
  EXPECT_THAT(login->help, HasSubstr("default http://127.0.0.1:8080"));
  EXPECT_THAT(login->help, HasSubstr("default http://127.0.0.1:18090"));
  auto update = Parse({"help", "idp", "update"});
  ASSERT_TRUE(update.ok());
  EXPECT_THAT(update->help, HasSubstr("--login-redirect-uri URI"));
  EXPECT_THAT(update->help, HasSubstr("--clear-login-redirect-uris"));
}

}  // namespace
}  // namespace sase::sasectl

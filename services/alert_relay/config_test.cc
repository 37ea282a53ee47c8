// alert_relay's configuration: defaults, secrets from files or named environment variables, and a
// refusal naming its key for every bad value.
#include "alert_relay/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::alert_relay {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/alert_relay_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }

  absl::StatusOr<AlertRelayConfig> Load(std::vector<std::string> args) {
    std::vector<char*> argv = {const_cast<char*>("alert_relay")};
    for (std::string& a : args) argv.push_back(a.data());
    return LoadAlertRelayConfig(static_cast<int>(argv.size()), argv.data(), [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }
  // The two secrets from environment variables, plus `extra`.
  absl::StatusOr<AlertRelayConfig> LoadWithSecrets(std::vector<std::string> extra = {}) {
    env_["ROBOT_TOKEN"] = "token-from-env";
    env_["ROBOT_SECRET"] = "SECfromenv";
    extra.push_back("--robot_token_env=ROBOT_TOKEN");
    extra.push_back("--robot_secret_env=ROBOT_SECRET");
    return Load(extra);
  }
  void ExpectKey(const absl::StatusOr<AlertRelayConfig>& c, const std::string& key) {
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(key));
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, Defaults) {
  absl::StatusOr<AlertRelayConfig> c = LoadWithSecrets();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen_addr, "127.0.0.1:8060");
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8060);
  EXPECT_EQ(c->metrics_addr, "127.0.0.1:9463");
  EXPECT_EQ(c->robot_url, "https://oapi.dingtalk.com/robot/send");
  EXPECT_EQ(c->robot_token, "token-from-env");
  EXPECT_EQ(c->robot_secret, "SECfromenv");
  EXPECT_EQ(c->rate_per_minute, 8);
  EXPECT_EQ(c->rate_burst, 10);
  EXPECT_EQ(c->monthly_budget, 5000);
  EXPECT_EQ(c->max_text_bytes, 4000);
  EXPECT_EQ(c->max_body_bytes, 1 << 20);
  EXPECT_LE(c->rate_burst + c->rate_per_minute, kRobotMessagesPerMinute);
}

TEST_F(ConfigTest, SecretsFromFilesAreTrimmedAndNeverDescribed) {
  const std::string token = WriteFile("token", "file-token-123\n");
  const std::string secret = WriteFile("secret", "  SECfilesecret456\n");
  absl::StatusOr<AlertRelayConfig> c =
      Load({"--robot_token_file=" + token, "--robot_secret_file=" + secret, "--listen_addr=0.0.0.0:0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->robot_token, "file-token-123");
  EXPECT_EQ(c->robot_secret, "SECfilesecret456");
  EXPECT_EQ(c->listen_port, 0);
  EXPECT_THAT(c->describe, HasSubstr("robot_token_file=" + token));
  EXPECT_THAT(c->describe, Not(HasSubstr("file-token-123")));
  EXPECT_THAT(c->describe, Not(HasSubstr("SECfilesecret456")));
}

TEST_F(ConfigTest, EnvironmentThenFlags) {
  env_["SASE_RATE_PER_MINUTE"] = "5";
  env_["SASE_MONTHLY_BUDGET"] = "100";
  absl::StatusOr<AlertRelayConfig> c = LoadWithSecrets({"--monthly_budget=0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->rate_per_minute, 5);
  EXPECT_EQ(c->monthly_budget, 0);
}

TEST_F(ConfigTest, EachBadValueNamesItsKey) {
  ExpectKey(Load({}), "robot_token_file");
  ExpectKey(LoadWithSecrets({"--robot_token_file=/x"}), "robot_token_file");  // both file and env
  env_.clear();
  ExpectKey(Load({"--robot_token_env=MISSING", "--robot_secret_env=MISSING"}), "robot_token_env");
  ExpectKey(Load({"--robot_token_file=" + dir_ + "/absent", "--robot_secret_env=X"}), "robot_token_file");
  env_["T"] = "t";
  ExpectKey(Load({"--robot_token_env=T"}), "robot_secret_file");
  ExpectKey(Load({"--robot_token_env=T", "--robot_secret_file=" + WriteFile("empty", "\n")}), "robot_secret_file");
  ExpectKey(LoadWithSecrets({"--rate_burst=15", "--rate_per_minute=6"}), "rate_burst");
  ExpectKey(LoadWithSecrets({"--rate_per_minute=21"}), "rate_per_minute");
  ExpectKey(LoadWithSecrets({"--rate_burst=0"}), "rate_burst");
  ExpectKey(LoadWithSecrets({"--robot_url=ftp://robot.test/send"}), "robot_url");
  ExpectKey(LoadWithSecrets({"--robot_url=not a url"}), "robot_url");
  ExpectKey(LoadWithSecrets({"--robot_url=https://oapi.dingtalk.com/robot/send?access_token=abc"}), "robot_url");
  ExpectKey(LoadWithSecrets({"--listen_addr=8060"}), "listen_addr");
  ExpectKey(LoadWithSecrets({"--listen_addr=127.0.0.1:99999"}), "listen_addr");
  ExpectKey(LoadWithSecrets({"--max_text_bytes=30000"}), "max_text_bytes");
  ExpectKey(LoadWithSecrets({"--max_body_bytes=12"}), "max_body_bytes");
  ExpectKey(LoadWithSecrets({"--monthly_budget=-1"}), "monthly_budget");
  ExpectKey(LoadWithSecrets({"--no_such_key=1"}), "no_such_key");
}

TEST_F(ConfigTest, HelpListsEveryKey) {
  absl::StatusOr<AlertRelayConfig> c = Load({"--help"});
  ASSERT_EQ(c.status().code(), absl::StatusCode::kCancelled);
  const std::string usage(c.status().message());
  for (const char* key : {"listen_addr", "metrics_addr", "robot_url", "robot_token_file", "robot_token_env",
                          "robot_secret_file", "robot_secret_env", "max_body_bytes", "max_text_bytes",
                          "rate_per_minute", "rate_burst", "monthly_budget", "too_fast_pause_s", "http_threads",
                          "robot_timeout_ms"}) {
    EXPECT_THAT(usage, HasSubstr(key));
  }
}

}  // namespace
}  // namespace sase::alert_relay

#include "sync_worker/config.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sase::sync_worker {
namespace {

absl::StatusOr<SyncWorkerConfig> Load(std::vector<std::string> args, std::map<std::string, std::string> env) {
  std::vector<char*> argv;
  static std::string prog = "sync_worker";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  auto getenv = [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  return LoadSyncWorkerConfig(static_cast<int>(argv.size()), argv.data(), getenv);
}

// The same, for a local run: explicit loopback plaintext unless the test sets grpc_* itself.
absl::StatusOr<SyncWorkerConfig> LoadLocal(std::vector<std::string> args, std::map<std::string, std::string> env) {
  env.emplace("SASE_GRPC_PLAINTEXT", "true");
  return Load(std::move(args), std::move(env));
}

TEST(SyncWorkerConfigTest, DefaultsAndRedaction) {
  auto cfg = LoadLocal({"--kek_env=MY_KEK"}, {{"SASE_PG_DSN", "postgresql://u:hunter2@h/db"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->listen_addr, "127.0.0.1:50061");
  EXPECT_EQ(cfg->metrics_addr, "127.0.0.1:9461");
  EXPECT_EQ(cfg->pg_pool_size, 8);
  EXPECT_FALSE(cfg->migrate_on_start);
  EXPECT_EQ(cfg->description.find("hunter2"), std::string::npos);
  EXPECT_NE(cfg->description.find("kek_env=MY_KEK"), std::string::npos);
}

TEST(SyncWorkerConfigTest, FlagsWin) {
  auto cfg = LoadLocal({"--pg_dsn=x", "--kek_file=/k", "--listen_addr=127.0.0.2:1", "--public_host=sase.example.com:8443",
                   "--migrate_on_start=true", "--pg_pool_size=3"},
                  {{"SASE_LISTEN_ADDR", "1.1.1.1:2"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->listen_addr, "127.0.0.2:1");
  EXPECT_EQ(cfg->public_host, "sase.example.com:8443");
  EXPECT_TRUE(cfg->migrate_on_start);
  EXPECT_EQ(cfg->pg_pool_size, 3);
}

TEST(SyncWorkerConfigTest, BadConfigNamesTheKey) {
  auto expect_key = [](const absl::StatusOr<SyncWorkerConfig>& r, const std::string& key) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(key), absl::string_view::npos) << r.status();
  };
  expect_key(LoadLocal({"--kek_env=K"}, {}), "pg_dsn");
  expect_key(LoadLocal({"--pg_dsn=x"}, {}), "kek_file");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--kek_file=/f"}, {}), "kek_file");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--pg_pool_size=0"}, {}), "pg_pool_size");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--migrate_on_start=maybe"}, {}), "migrate_on_start");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--public_host=https://sase.example.com"}, {}), "public_host");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--public_host=h/path"}, {}), "public_host");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--bogus=1"}, {}), "bogus");
  // Internal gRPC: mutual TLS unless plaintext is asked for, and plaintext only on loopback.
  expect_key(Load({"--pg_dsn=x", "--kek_env=K"}, {}), "config key grpc_tls_cert_file");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--listen_addr=0.0.0.0:50061"}, {}), "config key grpc_plaintext");
  expect_key(LoadLocal({"--pg_dsn=x", "--kek_env=K", "--grpc_tls_refresh_s=0"}, {}), "grpc_tls_refresh_s");
}

}  // namespace
}  // namespace sase::sync_worker

// End to end: a throwaway database, the real sync_worker and directory binaries on free
// loopback ports, the demo organisation loaded by directory_demo_load, and the sasectl binary
// run as a subprocess exactly as an admin would (output, exit codes, no secret echoed).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/testing/test_db.h"
#include "common/testing/subprocess.h"
#include "common/testing/test_pki.h"

extern char** environ;

namespace sase::sasectl {
namespace {

using ::testing::HasSubstr;
using ::testing::ContainsRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kKek[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr char kAppSecret[] = "e2e-app-secret-9f8e7d";
constexpr char kAesKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";  // 43 characters
constexpr char kToken[] = "e2e-token-4c3b2a";

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a binary with extra environment variables; stdout and stderr captured separately.
Result RunBinary(const std::string& binary, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env, const std::string& dir) {
  static int counter = 0;
  const std::string out_path = absl::StrCat(dir, "/cmd", ++counter, ".out");
  const std::string err_path = absl::StrCat(dir, "/cmd", counter, ".err");
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    if (env.count(kv.substr(0, kv.find('='))) == 0) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv, cenv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (std::string& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, nullptr);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  Result r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "timed out: " << binary;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadAll(out_path);
  r.err = ReadAll(err_path);
  return r;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string ArgsText(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) absl::StrAppend(&s, " ", a);
  return s;
}

class SasectlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    char tmpl[] = "/tmp/sasectl_e2e.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Mutual TLS as deployed: each service its certificate; sasectl the admin's, watch a reader's.
    pki_ = std::make_unique<sase::testing::TestPki>(dir_ + "/pki");
    admin_cert_ = pki_->Issue("admin", sase::testing::SpiffeId("admin/e2e"));
    reader_cert_ = pki_->Issue("reader", sase::testing::SpiffeId("reader/e2e"));
    setenv("SASE_E2E_KEK", kKek, 1);
    const int sw_port = sase::testing::FreePort();
    const int dir_port = sase::testing::FreePort();
    std::vector<std::string> sw_argv = {sase::testing::BinaryPath("services/sync_worker/sync_worker"),
                                        absl::StrCat("--listen_addr=127.0.0.1:", sw_port), "--metrics_addr=127.0.0.1:0",
                                        "--pg_dsn=" + db_->dsn(), "--kek_env=SASE_E2E_KEK",
                                        "--public_host=sase.example.test"};
    sw_argv.insert(sw_argv.end(), sync_worker_extra_.begin(), sync_worker_extra_.end());
    for (std::string& f : pki_->Flags(pki_->Issue("sync-worker", sase::testing::SpiffeId("sync-worker")))) {
      sw_argv.push_back(std::move(f));
    }
    sync_worker_ = std::make_unique<sase::testing::Subprocess>(sw_argv, dir_ + "/sync_worker.log");
    dir_port_ = dir_port;
    StartDirectory();
    ASSERT_TRUE(sase::testing::WaitForPort(sw_port)) << sync_worker_->Log();
    ASSERT_TRUE(sase::testing::WaitForPort(dir_port)) << directory_->Log();
    sw_addr_ = absl::StrCat("127.0.0.1:", sw_port);
    dir_addr_ = absl::StrCat("127.0.0.1:", dir_port);
  }

  void StartDirectory() {
    std::vector<std::string> argv = {sase::testing::BinaryPath("services/directory/directory"),
                                     absl::StrCat("--listen_addr=127.0.0.1:", dir_port_), "--metrics_addr=127.0.0.1:0",
                                     "--pg_dsn=" + db_->dsn(), "--poll_interval_ms=100"};
    for (std::string& f : pki_->Flags(pki_->Issue("directory", sase::testing::SpiffeId("directory")))) {
      argv.push_back(std::move(f));
    }
    directory_ = std::make_unique<sase::testing::Subprocess>(
        std::move(argv), absl::StrCat(dir_, "/directory.", ++directory_starts_, ".log"));
  }

  // sasectl's flags presenting `cert`.
  std::vector<std::string> TlsFlags(const sase::testing::TestCert& cert) const {
    return {"--tls-cert", cert.cert_file, "--tls-key", cert.key_file, "--tls-ca", pki_->ca_file()};
  }

  void TearDown() override {
    directory_.reset();
    sync_worker_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  Result Cli(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
    env.emplace("SASE_SYNC_WORKER_ADDR", sw_addr_);
    env.emplace("SASE_DIRECTORY_ADDR", dir_addr_);
    env.emplace("SASE_TENANT", "demo");
    env.emplace("SASE_APP_SECRET", "");
    env.emplace("SASE_TLS_CERT_FILE", admin_cert_.cert_file);
    env.emplace("SASE_TLS_KEY_FILE", admin_cert_.key_file);
    env.emplace("SASE_TLS_CA_FILE", pki_->ca_file());
    Result r = RunBinary(sase::testing::BinaryPath("tools/sasectl/sasectl"), args, env, dir_);
    // Whatever the command, no secret ever reaches the terminal.
    for (const char* secret : {kAppSecret, kAesKey, kToken}) {
      EXPECT_THAT(r.out + r.err, Not(HasSubstr(secret))) << ArgsText(args);
    }
    return r;
  }

  nlohmann::json Json(const std::vector<std::string>& args) {
    std::vector<std::string> a = args;
    a.push_back("--json");
    Result r = Cli(a);
    EXPECT_EQ(r.code, 0) << ArgsText(args) << "\n" << r.err;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one JSON document on one line";
    return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }

  void LoadDemo(const std::string& idp_name, int users) {
    Result r = RunBinary(sase::testing::BinaryPath("services/directory/directory_demo_load"),
                         {"--pg_dsn=" + db_->dsn(), "--tenant=demo", "--idp_name=" + idp_name,
                          absl::StrCat("--users=", users), "--migrate=false"},
                         {}, dir_);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::string dir_;
  std::unique_ptr<sase::testing::TestPki> pki_;
  sase::testing::TestCert admin_cert_, reader_cert_;
  std::vector<std::string> sync_worker_extra_;  // set before SetUp by derived fixtures
  std::unique_ptr<sase::testing::Subprocess> sync_worker_, directory_;
  std::string sw_addr_, dir_addr_;
  int dir_port_ = 0;
  int directory_starts_ = 0;
};

TEST_F(SasectlE2eTest, IdentitySourcesAndExtendedFields) {
  const std::string secret_file = dir_ + "/app_secret";
  std::ofstream(secret_file) << kAppSecret << "\n";
  nlohmann::json created = Json({"idp", "create", "--name", "演示钉钉", "--description", "钉钉登录", "--corp-id",
                                 "dingcorp1", "--app-key", "dingkey1", "--app-secret-file", secret_file, "--aes-key",
                                 kAesKey, "--token", kToken, "--scope", "1", "--cycle-hours", "12"});
  const std::string idp = created.value("idp_id", "");
  ASSERT_FALSE(idp.empty()) << created.dump();
  EXPECT_EQ(created["name"], "演示钉钉");
  EXPECT_EQ(created["app_secret_set"], true);
  EXPECT_EQ(created["sync_cycle_hours"], 12);

  Result list = Cli({"idp", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, StartsWith("IDP_ID"));
  EXPECT_THAT(list.out, HasSubstr("演示钉钉"));
  EXPECT_THAT(list.out, HasSubstr("app_secret,aes_key,token"));

  Result get = Cli({"idp", "get", idp});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_THAT(get.out, HasSubstr("set (hidden)"));
  EXPECT_THAT(get.out, HasSubstr("scope:"));

  // update_mask: only the cycle changes; the secret stays set.
  nlohmann::json updated = Json({"idp", "update", idp, "--cycle-hours", "6", "--status", "closed"});
  EXPECT_EQ(updated["sync_cycle_hours"], 6);
  EXPECT_EQ(updated["status"], "CLOSED");
  EXPECT_EQ(updated["name"], "演示钉钉");
  EXPECT_EQ(updated["app_secret_set"], true);
  EXPECT_EQ(updated["corp_id"], "dingcorp1");

  Result bad = Cli({"idp", "update", idp, "--cycle-hours", "30"});
  EXPECT_EQ(bad.code, 4);
  EXPECT_THAT(bad.err, StartsWith("error: INVALID_ARGUMENT: "));
  EXPECT_THAT(bad.err, HasSubstr("sync_cycle_hours"));
  Result dup = Cli({"idp", "create", "--name", "演示钉钉", "--corp-id", "dingcorp2", "--app-key", "dingkey2",
                    "--app-secret-file", secret_file});
  EXPECT_EQ(dup.code, 1);
  EXPECT_THAT(dup.err, StartsWith("error: ALREADY_EXISTS: "));
  Result missing = Cli({"idp", "get", "00000000-0000-0000-0000-000000000000"});
  EXPECT_EQ(missing.code, 3);
  EXPECT_THAT(missing.err, StartsWith("error: NOT_FOUND: "));
  Result usage = Cli({"idp", "get"});
  EXPECT_EQ(usage.code, 2);

  Result links = Cli({"idp", "links", idp});
  ASSERT_EQ(links.code, 0) << links.err;
  EXPECT_THAT(links.out, HasSubstr("https://sase.example.test/dingtalk/events/" + idp));
  EXPECT_THAT(links.out, HasSubstr("https://sase.example.test/ui/dingAuth/"));

  // Extended fields, and deleting one that a mapping uses.
  nlohmann::json field = Json({"field", "create", "badge", "--display-name", "工牌", "--type", "string"});
  EXPECT_EQ(field["display_name"], "工牌");
  Result fields = Cli({"field", "list"});
  EXPECT_THAT(fields.out, HasSubstr("工牌"));
  nlohmann::json mapped = Json({"idp", "update", idp, "--map", "job_number=ext.badge"});
  ASSERT_EQ(mapped["field_mappings"].size(), 1u) << mapped.dump();
  Result refused = Cli({"field", "delete", "badge"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, StartsWith("error: FAILED_PRECONDITION: "));
  EXPECT_EQ(Json({"idp", "update", idp, "--clear-maps"})["field_mappings"].size(), 0u);
  EXPECT_EQ(Cli({"field", "delete", "badge"}).code, 0);

  // The sync RPCs may not be implemented yet: either a run starts or the error is clean.
  Result sync = Cli({"sync", "start", "--idp", idp});
  if (sync.code != 0) {
    EXPECT_THAT(sync.err, ContainsRegex("^error: [A-Z_]+: ")) << sync.err;
  }

  Result deleted = Cli({"idp", "delete", idp});
  EXPECT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_EQ(Cli({"idp", "get", idp}).code, 3);
}

// The certificate decides what sasectl may do: a reader reads the directory but not the admin
// API; without certificates sasectl cannot connect, and says which flags it lacks.
TEST_F(SasectlE2eTest, TheCertificateDecidesWhatSasectlMayDo) {
  LoadDemo("demo-dingtalk", 3);
  nlohmann::json sources = Json({"idp", "list"});  // the admin's certificate
  ASSERT_EQ(sources["identity_sources"].size(), 1u);
  const std::string idp = sources["identity_sources"][0]["idp_id"];
  Result denied = Cli({"idp", "list"}, {{"SASE_TLS_CERT_FILE", reader_cert_.cert_file},
                                        {"SASE_TLS_KEY_FILE", reader_cert_.key_file}});
  EXPECT_EQ(denied.code, 1) << denied.err;
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED: spiffe://sase.internal/reader/e2e may not call "
                                    "/sase.dingtalk.v1.IdentitySourceService/ListIdentitySources"));
  Result users = Cli({"user", "list", "--idp", idp}, {{"SASE_TLS_CERT_FILE", reader_cert_.cert_file},
                                                                 {"SASE_TLS_KEY_FILE", reader_cert_.key_file}});
  EXPECT_EQ(users.code, 0) << users.err;
  EXPECT_THAT(users.out, HasSubstr("u0002"));

  Result plaintext = Cli({"idp", "list"}, {{"SASE_TLS_CERT_FILE", ""}, {"SASE_TLS_KEY_FILE", ""}, {"SASE_TLS_CA_FILE", ""}});
  EXPECT_EQ(plaintext.code, 1);
  EXPECT_THAT(plaintext.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(plaintext.err, HasSubstr("does it need --tls-cert, --tls-key and --tls-ca?"));

  Result half = Cli({"idp", "list"}, {{"SASE_TLS_CA_FILE", ""}});
  EXPECT_EQ(half.code, 2);
  EXPECT_THAT(half.err, HasSubstr("--tls-ca is needed too"));
}

TEST_F(SasectlE2eTest, DirectoryQueriesAndWatch) {
  LoadDemo("demo-dingtalk", 30);
  nlohmann::json sources = Json({"idp", "list"});
  ASSERT_EQ(sources["identity_sources"].size(), 1u);
  const std::string idp = sources["identity_sources"][0]["idp_id"];

  nlohmann::json all = Json({"user", "list", "--idp", idp, "--all", "--page-size", "7"});
  EXPECT_EQ(all["users"].size(), 30u);
  EXPECT_EQ(all["next_page_token"], "");
  Result page = Cli({"user", "list", "--idp", idp, "--page-size", "7"});
  ASSERT_EQ(page.code, 0) << page.err;
  std::vector<std::string> lines = absl::StrSplit(page.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 8u);  // header + 7
  EXPECT_THAT(page.err, HasSubstr("--page-token"));

  nlohmann::json found = Json({"user", "lookup", "--userid", "u0001", "--idp", idp});
  ASSERT_EQ(found["users"].size(), 1u);
  const std::string user_id = found["users"][0]["user_id"];
  const std::string dept = found["users"][0]["department_ids"][0];
  Result user = Cli({"user", "get", user_id});
  ASSERT_EQ(user.code, 0) << user.err;
  EXPECT_THAT(user.out, HasSubstr("dingtalk_userid:"));
  EXPECT_THAT(user.out, HasSubstr("u0001"));
  EXPECT_EQ(Cli({"user", "lookup", "--email", "nobody@example.com", "--idp", idp}).code, 3);

  Result check = Cli({"user", "check", user_id, "1"});
  ASSERT_EQ(check.code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("in department 1: member"));
  EXPECT_EQ(Json({"user", "check", user_id, dept})["direct"], true);
  Result depts = Cli({"user", "depts", user_id});
  EXPECT_THAT(depts.out, HasSubstr("direct"));

  Result root = Cli({"dept", "get", "--idp", idp, "1"});
  ASSERT_EQ(root.code, 0) << root.err;
  EXPECT_THAT(root.out, HasSubstr("演示科技"));
  nlohmann::json tree = Json({"dept", "list", "--idp", idp, "--subtree", "--all"});
  EXPECT_GE(tree["departments"].size(), 7u);
  Result children = Cli({"dept", "list", "--idp", idp});
  EXPECT_EQ(children.code, 0) << children.err;
  EXPECT_THAT(children.out, StartsWith("DEPT_ID"));
  nlohmann::json search = Json({"user", "search", "--idp", idp, "user.u000"});
  EXPECT_GE(search["users"].size(), 1u);

  // watch --json from the start: one JSON object per line, increasing seq, until SIGTERM.
  const std::string log = dir_ + "/watch.log";
  auto watch = std::make_unique<sase::testing::Subprocess>(
      Concat({sase::testing::BinaryPath("tools/sasectl/sasectl"), "--directory", dir_addr_, "--tenant", "demo", "--json",
              "watch", "--after", "0"},
             TlsFlags(reader_cert_)),
      log);
  auto count_lines = [&] {
    std::string text = ReadAll(log);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  // The demo load wrote 8 departments and 30 users (plus a departure and a disabled user).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count_lines() < 38 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int before = count_lines();
  EXPECT_GE(before, 38) << ReadAll(log);
  // A live change reaches the running watch: one more user.
  LoadDemo("demo-dingtalk", 31);
  while (ReadAll(log).find("\"u0030\"") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(watch->Stop(), 0) << "Ctrl-C/SIGTERM ends watch cleanly";
  std::vector<std::string> changes = absl::StrSplit(ReadAll(log), '\n', absl::SkipEmpty());
  ASSERT_GT(changes.size(), static_cast<size_t>(before)) << ReadAll(log);
  int64_t last = 0;
  bool saw_new_user = false;
  for (const std::string& line : changes) {
    nlohmann::json c = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(c.is_discarded()) << line;
    int64_t seq = std::stoll(c["seq"].get<std::string>());
    EXPECT_GT(seq, last);
    last = seq;
    if (c.contains("user") && c["user"]["dingtalk_userid"] == "u0030") saw_new_user = true;
  }
  EXPECT_TRUE(saw_new_user);
}

// watch --from-now keeps its place when the directory restarts before the first change arrives:
// it resumes from the position it started at, so the change made after the restart arrives and
// nothing from before the start does.
TEST_F(SasectlE2eTest, WatchFromNowResumesAcrossADirectoryRestartBeforeAnyChange) {
  LoadDemo("demo-dingtalk", 30);
  const std::string log = dir_ + "/watch-now.log";
  auto watch = std::make_unique<sase::testing::Subprocess>(
      Concat({sase::testing::BinaryPath("tools/sasectl/sasectl"), "--directory", dir_addr_, "--tenant", "demo", "--json",
              "watch", "--from-now"},
             TlsFlags(reader_cert_)),
      log);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the stream is open (real process)
  ASSERT_TRUE(watch->Running()) << ReadAll(log);
  ASSERT_EQ(directory_->Stop(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  StartDirectory();
  ASSERT_TRUE(sase::testing::WaitForPort(dir_port_)) << directory_->Log();
  LoadDemo("demo-dingtalk", 31);  // one more user, u0030
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ReadAll(log).find("\"u0030\"") == std::string::npos && watch->Running() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string text = ReadAll(log);
  EXPECT_TRUE(watch->Running()) << "watch gave up: " << text;
  EXPECT_THAT(text, HasSubstr("\"u0030\""));
  EXPECT_THAT(text, HasSubstr("connection lost"));
  EXPECT_THAT(text, Not(HasSubstr("\"u0000\""))) << "nothing committed before the watch started";
  EXPECT_EQ(watch->Stop(), 0);
}

// Logon: the DingTalk simulator plays DingTalk for sync_worker and the authorize page, ingress
// serves the logon routes, and sasectl sets everything up and runs login-test against them.
class SasectlLoginE2eTest : public SasectlE2eTest {
 protected:
  static constexpr char kCorpId[] = "dinge2ecorp";
  static constexpr char kAppKey[] = "dinge2eappkey";

  void SetUp() override {
    if (store::testing::TestDatabase::AdminDsn().empty()) return SasectlE2eTest::SetUp();  // skips
    sim_ = std::make_unique<sase::testing::Subprocess>(
        std::vector<std::string>{sase::testing::BinaryPath("tools/dingtalk_sim/dingtalk_sim"), "--listen=127.0.0.1:0",
                                 "--seed=5", "--users=12", "--departments=3", "--max_depth=2",
                                 absl::StrCat("--app_key=", kAppKey), absl::StrCat("--app_secret=", kAppSecret),
                                 absl::StrCat("--corp_id=", kCorpId)},
        absl::StrCat(::testing::TempDir(), "/sasectl_e2e_sim_", getpid(), "_", ++sim_starts_, ".log"));
    const int sim_port = sim_->WaitForLoggedInt("port");
    ASSERT_GT(sim_port, 0) << sim_->Log();
    sim_url_ = absl::StrCat("http://127.0.0.1:", sim_port);
    sync_worker_extra_ = {"--dingtalk_oapi_base=" + sim_url_, "--dingtalk_api_base=" + sim_url_};
    SasectlE2eTest::SetUp();
    if (HasFatalFailure()) return;
    ingress_ = std::make_unique<sase::testing::Subprocess>(
        Concat({sase::testing::BinaryPath("services/ingress/ingress"), "--listen_addr=127.0.0.1:0",
                "--metrics_addr=127.0.0.1:0", "--sync_worker_addr=" + sw_addr_,
                "--dingtalk_authorize_url=" + sim_url_ + "/oauth2/auth",
                "--dingtalk_jsapi_script_url=" + sim_url_ + "/dingtalk.open.js", "--login_jwks_cache_s=0"},
               pki_->Flags(pki_->Issue("ingress", sase::testing::SpiffeId("ingress")))),
        dir_ + "/ingress.log");
    const int http_port = ingress_->WaitForLoggedInt("http_port");
    ASSERT_GT(http_port, 0) << ingress_->Log();
    ingress_url_ = absl::StrCat("http://127.0.0.1:", http_port);
  }

  void TearDown() override {
    ingress_.reset();
    SasectlE2eTest::TearDown();
    sim_.reset();
  }

  // An identity source for the simulated organisation, synced; returns its id.
  std::string CreateAndSync() {
    const std::string secret_file = dir_ + "/app_secret";
    std::ofstream(secret_file) << kAppSecret << "\n";
    nlohmann::json created =
        Json({"idp", "create", "--name", "logon-e2e", "--corp-id", kCorpId, "--app-key", kAppKey,
              "--app-secret-file", secret_file, "--login-redirect-uri", Client(), "--login-redirect-uri",
              "app://e2e/cb"});
    EXPECT_EQ(created["login_redirect_uris"], nlohmann::json({Client(), "app://e2e/cb"})) << created.dump();
    const std::string idp = created.value("idp_id", "");
    Result sync = Cli({"sync", "start", "--idp", idp, "--wait"});
    EXPECT_EQ(sync.code, 0) << sync.err;
    return idp;
  }

  std::vector<std::string> LoginTest(const std::string& idp, const std::string& userid,
                                     const std::string& redirect) {
    return {"login-test", "--idp", idp, "--userid", userid, "--redirect-uri", redirect,
            "--ingress", ingress_url_, "--sim", sim_url_};
  }

  std::string Client() const { return sim_url_ + "/demo/client"; }

  std::unique_ptr<sase::testing::Subprocess> sim_, ingress_;
  std::string sim_url_, ingress_url_;
  static inline int sim_starts_ = 0;  // one log per simulator: its port is read from the log
};

TEST_F(SasectlLoginE2eTest, LinksAndTenantSettings) {
  const std::string idp = CreateAndSync();
  ASSERT_FALSE(idp.empty());
  nlohmann::json links = Json({"idp", "links", idp});
  EXPECT_THAT(links.value("login_url", ""), ::testing::EndsWith("/dingtalk/login/" + idp));
  EXPECT_THAT(links.value("qr_login_url", ""), ::testing::EndsWith("/dingtalk/login/" + idp + "/qr"));
  EXPECT_THAT(Cli({"idp", "links", idp}).out, HasSubstr("logon start:"));

  EXPECT_EQ(Json({"tenant", "set", "--enterprise-id", "E2E-Corp"})["enterprise_id"], "e2e-corp");
  Result shown = Cli({"tenant", "show"});
  EXPECT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("enterprise_id:  e2e-corp"));
  Result taken = Cli({"--tenant", "other", "tenant", "set", "--enterprise-id", "e2e-corp"});
  EXPECT_EQ(taken.code, 1);
  EXPECT_THAT(taken.err, StartsWith("error: ALREADY_EXISTS: "));
  Result bad = Cli({"tenant", "set", "--enterprise-id", "-x"});
  EXPECT_EQ(bad.code, 4) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("enterprise_id"));
}

TEST_F(SasectlLoginE2eTest, LoginTestVerifiesBothFlowsAndNamesRefusals) {
  const std::string idp = CreateAndSync();
  ASSERT_FALSE(idp.empty());
  nlohmann::json users = Json({"user", "list", "--idp", idp, "--status", "active"});
  ASSERT_FALSE(users["users"].empty()) << users.dump();
  const std::string userid = users["users"][0]["dingtalk_userid"];

  Result oauth = Cli(LoginTest(idp, userid, Client()));
  ASSERT_EQ(oauth.code, 0) << oauth.err << oauth.out;
  EXPECT_THAT(oauth.out, HasSubstr("flow:             oauth\n"));
  EXPECT_THAT(oauth.out, HasSubstr("dingtalk_userid:  " + userid + "\n"));
  EXPECT_THAT(oauth.out, HasSubstr("idp:              " + idp + "\n"));
  EXPECT_THAT(oauth.out, ContainsRegex("\nsignature: verified with kid [A-Za-z0-9_-]+\n$"));
  EXPECT_THAT(oauth.out, Not(ContainsRegex("eyJ[A-Za-z0-9_-]{20,}\\.[A-Za-z0-9_-]{20,}")));  // no whole JWS

  std::vector<std::string> in_app = LoginTest(idp, userid, "app://e2e/cb");
  in_app.insert(in_app.end(), {"--flow", "in_app"});
  nlohmann::json j = Json(in_app);
  EXPECT_EQ(j["claims"]["dingtalk_userid"], userid);
  EXPECT_EQ(j["signature"]["verified"], true);
  EXPECT_EQ(j["flow"], "in_app");

  Result evil = Cli(LoginTest(idp, userid, "https://evil.example/cb"));
  EXPECT_EQ(evil.code, 4);
  EXPECT_THAT(evil.err, StartsWith("login refused: redirect_not_allowed ("));
  Result nobody = Cli(LoginTest(idp, "nobody-such-user", Client()));
  EXPECT_EQ(nobody.code, 3) << nobody.err;

  ASSERT_EQ(Cli({"idp", "update", idp, "--clear-login-redirect-uris"}).code, 0);
  Result cleared = Cli(LoginTest(idp, userid, Client()));
  EXPECT_THAT(cleared.err, StartsWith("login refused: redirect_not_allowed ("));
  ASSERT_EQ(Cli({"idp", "update", idp, "--status", "closed"}).code, 0);
  Result closed = Cli(LoginTest(idp, userid, Client()));
  EXPECT_THAT(closed.err, StartsWith("login refused: idp_closed ("));
}

}  // namespace
}  // namespace sase::sasectl

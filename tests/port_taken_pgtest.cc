// A service whose listen or metrics address is taken exits non-zero with one line naming the key and
// the address, and never crashes (gRPC's BuildAndStart() returns null on a taken port; the half-built
// server host used to dereference it on destruction: SIGSEGV, exit status 139).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "store/testing/test_db.h"
#include "common/testing/subprocess.h"

namespace sase {
namespace {

constexpr char kKek[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";  // base64 of 32 bytes

// Holds a listening socket on 127.0.0.1 for the test's lifetime.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~HeldPort() { close(fd_); }
  std::string addr() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Case {
  std::string name;
  std::string binary;
  std::string taken_key;  // the key given the taken address
  std::vector<std::string> other_flags;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class PortTakenTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { SASE_SETUP_TEST_DB(db_); }
  std::unique_ptr<store::testing::TestDatabase> db_;
};

TEST_P(PortTakenTest, ExitsNonZeroNamingTheKeyAndAddress) {
  const Case& c = GetParam();
  HeldPort held;
  setenv("SASE_TEST_KEK", kKek, 1);
  std::vector<std::string> argv{testing::BinaryPath(c.binary), absl::StrCat("--", c.taken_key, "=", held.addr())};
  for (const std::string& f : c.other_flags) {
    argv.push_back(f == "PG_DSN" ? absl::StrCat("--pg_dsn=", db_->dsn()) : f);
  }
  std::string log = absl::StrCat(::testing::TempDir(), "/port_taken_", c.name, "_", getpid(), ".log");
  testing::Subprocess proc(argv, log);
  // Bounded wait for the process to give up (it does so at once; the bound only keeps a hang from
  // hanging the suite).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (proc.Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(proc.Running()) << "still running with a taken " << c.taken_key << "\n" << proc.Log();
  int status = proc.Stop();
  EXPECT_GT(status, 0) << "exit status (negative = killed by that signal)\n" << proc.Log();
  std::string out = proc.Log();
  std::string key_field = absl::StrCat("\"", c.taken_key, "\":\"", held.addr(), "\"");
  EXPECT_NE(out.find(key_field), std::string::npos) << "no line names " << key_field << "\n" << out;
}

const std::vector<std::string> kDirectory = {"PG_DSN", "--user_cache_warm_wait_ms=0"};
const std::vector<std::string> kSyncWorker = {"PG_DSN", "--kek_env=SASE_TEST_KEK", "--sync_scheduler=false"};
const std::string kPlaintext = "--grpc_plaintext=true";

INSTANTIATE_TEST_SUITE_P(
    Services, PortTakenTest,
    ::testing::Values(
        Case{"directory_grpc", "services/directory/directory", "listen_addr",
             {"--metrics_addr=127.0.0.1:0", kDirectory[0], kDirectory[1], kPlaintext}},
        Case{"directory_metrics", "services/directory/directory", "metrics_addr",
             {"--listen_addr=127.0.0.1:0", kDirectory[0], kDirectory[1], kPlaintext}},
        Case{"sync_worker_grpc", "services/sync_worker/sync_worker", "listen_addr",
             {"--metrics_addr=127.0.0.1:0", kSyncWorker[0], kSyncWorker[1], kSyncWorker[2], kPlaintext}},
        Case{"sync_worker_metrics", "services/sync_worker/sync_worker", "metrics_addr",
             {"--listen_addr=127.0.0.1:0", kSyncWorker[0], kSyncWorker[1], kSyncWorker[2], kPlaintext}},
        Case{"ingress_http", "services/ingress/ingress", "listen_addr", {"--metrics_addr=127.0.0.1:0", kPlaintext}},
        Case{"ingress_metrics", "services/ingress/ingress", "metrics_addr", {"--listen_addr=127.0.0.1:0", kPlaintext}}),
    [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

// Internal gRPC is mutual TLS unless plaintext is asked for, and plaintext only on loopback: a
// service given neither, or plaintext on a public address, exits 2 with one line naming the key.
struct SecurityCase {
  std::string name;
  std::string binary;
  std::vector<std::string> flags;
  std::string expected;
};
class GrpcSecurityStartupTest : public ::testing::TestWithParam<SecurityCase> {
 protected:
  void SetUp() override { SASE_SETUP_TEST_DB(db_); }
  std::unique_ptr<store::testing::TestDatabase> db_;
};

TEST_P(GrpcSecurityStartupTest, ExitsTwoNamingTheKey) {
  const SecurityCase& c = GetParam();
  setenv("SASE_TEST_KEK", kKek, 1);
  std::vector<std::string> argv{testing::BinaryPath(c.binary), "--metrics_addr=127.0.0.1:0"};
  for (const std::string& f : c.flags) argv.push_back(f == "PG_DSN" ? absl::StrCat("--pg_dsn=", db_->dsn()) : f);
  testing::Subprocess proc(argv, absl::StrCat(::testing::TempDir(), "/grpc_security_", c.name, "_", getpid(), ".log"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (proc.Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(proc.Running()) << proc.Log();
  EXPECT_EQ(proc.Stop(), 2) << proc.Log();
  EXPECT_NE(proc.Log().find(c.expected), std::string::npos) << proc.Log();
}

const std::string kNoTls = "config key grpc_tls_cert_file: required unless grpc_plaintext=true";
const std::string kPublicPlaintext = "config key grpc_plaintext: plaintext gRPC only on loopback addresses";
INSTANTIATE_TEST_SUITE_P(
    Services, GrpcSecurityStartupTest,
    ::testing::Values(
        SecurityCase{"directory_no_tls", "services/directory/directory", {"--listen_addr=127.0.0.1:0", "PG_DSN"}, kNoTls},
        SecurityCase{"directory_public_plaintext", "services/directory/directory",
                     {"--listen_addr=0.0.0.0:0", "PG_DSN", kPlaintext}, kPublicPlaintext},
        SecurityCase{"sync_worker_no_tls", "services/sync_worker/sync_worker",
                     {"--listen_addr=127.0.0.1:0", kSyncWorker[0], kSyncWorker[1]}, kNoTls},
        SecurityCase{"sync_worker_public_plaintext", "services/sync_worker/sync_worker",
                     {"--listen_addr=0.0.0.0:0", kSyncWorker[0], kSyncWorker[1], kPlaintext}, kPublicPlaintext},
        SecurityCase{"ingress_no_tls", "services/ingress/ingress", {"--listen_addr=127.0.0.1:0"}, kNoTls},
        SecurityCase{"ingress_public_plaintext", "services/ingress/ingress",
                     {"--listen_addr=127.0.0.1:0", "--sync_worker_addr=10.0.0.1:50061", kPlaintext},
                     "config key grpc_plaintext: plaintext gRPC only on loopback addresses, but sync_worker_addr is "
                     "10.0.0.1:50061"},
        SecurityCase{"ingress_missing_key_file", "services/ingress/ingress",
                     {"--listen_addr=127.0.0.1:0", "--grpc_tls_cert_file=/nonexistent/ingress.pem",
                      "--grpc_tls_key_file=/nonexistent/ingress.key", "--grpc_tls_ca_file=/nonexistent/ca.pem"},
                     "config key grpc_tls_cert_file: cannot read /nonexistent/ingress.pem"}),
    [](const ::testing::TestParamInfo<SecurityCase>& i) { return i.param.name; });

}  // namespace
}  // namespace sase

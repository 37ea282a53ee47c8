// Every metric name an alert rule, a recording rule or a Grafana panel reads is exported by a running
// binary: real sync_worker, directory and ingress over PostgreSQL, with the DingTalk simulator as
// DingTalk (internal gRPC in plaintext on loopback, as the other end-to-end tests run it). Families whose series appear on first use (DingTalk calls, sync runs, stored events,
// logon routes, directory RPCs) are brought out by a full sync, a signed push, a logon request and a
// directory call before /metrics is compared with the rules (deploy/prometheus/rules/) and the
// dashboards (deploy/grafana/dashboards/).
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "callback/crypto.h"
#include "common/testing/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ops/ops_checks.h"
#include "sase/dingtalk/v1/directory.grpc.pb.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "store/testing/test_db.h"

namespace sase::ops {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::IsEmpty;

constexpr char kKek[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";  // base64 of 32 bytes
constexpr char kAppKey[] = "dingopsappkey0001";
constexpr char kAppSecret[] = "ops-app-secret";
constexpr char kCorpId[] = "dingopscorp0001";
constexpr char kAesKey[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
constexpr char kToken[] = "opstoken";

std::string SourceDir() {
  const char* dir = std::getenv("SASE_SOURCE_DIR");
  return dir != nullptr ? dir : SASE_SOURCE_DIR;
}

struct Service {
  std::unique_ptr<testing::Subprocess> process;
  int port = 0;          // gRPC or HTTP
  int metrics_port = 0;
};

class MetricsExportedPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    const std::string log = absl::StrCat(::testing::TempDir(), "/ops_metrics_", getpid(), "_");
    sim_.process = std::make_unique<testing::Subprocess>(
        std::vector<std::string>{testing::BinaryPath("tools/dingtalk_sim/dingtalk_sim"), "--listen=127.0.0.1:0",
                                 "--seed=5", "--users=20", "--departments=4", "--max_depth=2",
                                 absl::StrCat("--app_key=", kAppKey), absl::StrCat("--app_secret=", kAppSecret),
                                 absl::StrCat("--corp_id=", kCorpId)},
        log + "sim.log");
    sim_.port = sim_.process->WaitForLoggedInt("port");
    ASSERT_GT(sim_.port, 0) << sim_.process->Log();
    const std::string sim_url = absl::StrCat("http://127.0.0.1:", sim_.port);

    setenv("SASE_TEST_KEK", kKek, 1);
    Start(&sync_, "grpc_port",
          {testing::BinaryPath("services/sync_worker/sync_worker"), "--listen_addr=127.0.0.1:0",
           "--metrics_addr=127.0.0.1:0", absl::StrCat("--pg_dsn=", db_->dsn()), "--kek_env=SASE_TEST_KEK",
           "--public_host=sase.example.com", absl::StrCat("--dingtalk_oapi_base=", sim_url),
           absl::StrCat("--dingtalk_api_base=", sim_url), "--grpc_plaintext=true"},
          log + "sync_worker.log");
    Start(&directory_, "grpc_port",
          {testing::BinaryPath("services/directory/directory"), "--listen_addr=127.0.0.1:0",
           "--metrics_addr=127.0.0.1:0", absl::StrCat("--pg_dsn=", db_->dsn()), "--grpc_plaintext=true"},
          log + "directory.log");
    Start(&ingress_, "http_port",
          {testing::BinaryPath("services/ingress/ingress"), "--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
           absl::StrCat("--sync_worker_addr=127.0.0.1:", sync_.port), "--rpc_timeout_ms=2000",
           "--grpc_plaintext=true"},
          log + "ingress.log");
  }

  void Start(Service* s, const std::string& port_key, std::vector<std::string> argv, const std::string& log) {
    s->process = std::make_unique<testing::Subprocess>(std::move(argv), log);
    s->port = s->process->WaitForLoggedInt(port_key);
    s->metrics_port = s->process->WaitForLoggedInt("metrics_port");
    ASSERT_GT(s->port, 0) << s->process->Log();
    ASSERT_GT(s->metrics_port, 0) << s->process->Log();
  }

  // An identity source on the simulator, fully synced; returns its idp_id.
  std::string CreateSourceAndSync() {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", sync_.port), grpc::InsecureChannelCredentials());
    auto idp = v1::IdentitySourceService::NewStub(channel);
    v1::CreateIdentitySourceRequest req;
    req.set_tenant_id("acme");
    v1::IdentitySource* s = req.mutable_identity_source();
    s->set_name("dingtalk-ops");
    s->set_status(v1::ENABLED);
    s->set_corp_id(kCorpId);
    s->set_app_key(kAppKey);
    s->set_app_secret(kAppSecret);
    s->set_dingtalk_type(v1::STANDARD);
    s->set_aes_key(kAesKey);
    s->set_token(kToken);
    s->set_sync_cycle_hours(24);
    v1::IdentitySource created;
    grpc::ClientContext ctx;
    grpc::Status st = idp->CreateIdentitySource(&ctx, req, &created);
    EXPECT_TRUE(st.ok()) << st.error_message();

    auto sync = v1::SyncService::NewStub(channel);
    v1::StartSyncRequest start;
    start.set_tenant_id("acme");
    start.set_idp_id(created.idp_id());
    v1::SyncRun run;
    grpc::ClientContext ctx2;
    st = sync->StartSync(&ctx2, start, &run);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (int i = 0; i < 300 && st.ok() && run.state() != v1::SUCCEEDED && run.state() != v1::FAILED; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      v1::GetSyncRunRequest get;
      get.set_tenant_id("acme");
      get.set_run_id(run.run_id());
      grpc::ClientContext c;
      st = sync->GetSyncRun(&c, get, &run);
    }
    EXPECT_EQ(run.state(), v1::SUCCEEDED) << sync_.process->Log();
    return created.idp_id();
  }

  // A signed, encrypted DingTalk push naming a synced user; DingTalk's answer is 200.
  void PushUserModified(const std::string& idp_id) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    const std::string user = tx.exec1("SELECT dingtalk_userid FROM users ORDER BY dingtalk_userid LIMIT 1")[0].as<std::string>();
    const std::string json = nlohmann::json{{"EventType", "user_modify_org"},
                                            {"eventId", "ops-evt-1"},
                                            {"EventTime", absl::ToUnixMillis(absl::Now())},
                                            {"userId", {user}}}
                                 .dump();
    auto cipher = callback::CallbackCipher::Create(kAesKey);
    ASSERT_TRUE(cipher.ok()) << cipher.status();
    absl::StatusOr<std::string> encrypt = cipher->Encrypt(json, kAppKey);
    ASSERT_TRUE(encrypt.ok()) << encrypt.status();
    const std::string ts = absl::StrCat(absl::ToUnixMillis(absl::Now()));
    const std::string sig = callback::ComputeSignature(kToken, ts, "nonce1", *encrypt);
    httplib::Client http("127.0.0.1", ingress_.port);
    auto res = http.Post(absl::StrCat("/dingtalk/events/", idp_id, "?msg_signature=", sig, "&timestamp=", ts,
                                      "&nonce=nonce1")
                             .c_str(),
                         nlohmann::json{{"encrypt", *encrypt}}.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body << "\n" << ingress_.process->Log();
  }

  // A logon discovery request (route "discovery") and a directory read (NOT_FOUND is fine).
  void LogonAndDirectoryTraffic() {
    httplib::Client http("127.0.0.1", ingress_.port);
    auto res = http.Get("/dingtalk/login?enterprise=nobody-here");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;

    auto dir = v1::DirectoryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", directory_.port), grpc::InsecureChannelCredentials()));
    v1::GetUserRequest req;
    req.set_tenant_id("acme");
    req.set_user_id("00000000-0000-0000-0000-000000000000");
    v1::User user;
    grpc::ClientContext ctx;
    EXPECT_EQ(dir->GetUser(&ctx, req, &user).error_code(), grpc::NOT_FOUND);
  }

  std::map<std::string, std::set<std::string>> Scrape() {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& [job, s] : std::map<std::string, const Service*>{
             {"sync_worker", &sync_}, {"directory", &directory_}, {"ingress", &ingress_}}) {
      httplib::Client http("127.0.0.1", s->metrics_port);
      auto res = http.Get("/metrics");
      out[job] = res && res->status == 200 ? ExportedNames(res->body) : std::set<std::string>{};
    }
    return out;
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  Service sim_, sync_, directory_, ingress_;
};

// The expressions of every rule file and dashboard, and the names the rules record.
void LoadExprs(std::vector<Expr>* exprs, std::set<std::string>* recorded) {
  for (const std::string& file : ListFiles(SourceDir() + "/deploy/prometheus/rules", ".yml")) {
    absl::StatusOr<std::vector<Rule>> rules = ParseRuleFile(ReadFile(file));
    ASSERT_TRUE(rules.ok()) << file << ": " << rules.status();
    for (const Rule& r : *rules) {
      exprs->push_back({absl::StrCat(file, ": ", r.name), r.expr});
      if (!r.alert) recorded->insert(r.name);
    }
  }
  for (const std::string& file : ListFiles(SourceDir() + "/deploy/grafana/dashboards", ".json")) {
    nlohmann::json d = nlohmann::json::parse(ReadFile(file), nullptr, false);
    ASSERT_FALSE(d.is_discarded()) << file;
    for (const std::string& e : DashboardExprs(d)) exprs->push_back({absl::StrCat(file, ": ", e), e});
  }
}

TEST_F(MetricsExportedPgTest, EveryMetricOfTheRulesAndDashboardsIsExported) {
  std::vector<Expr> exprs;
  std::set<std::string> recorded;
  LoadExprs(&exprs, &recorded);
  ASSERT_GT(exprs.size(), 20u);

  // Not vacuous: the expressions name metrics of every binary.
  std::set<std::string> referenced;
  for (const Expr& e : exprs) {
    absl::StatusOr<std::vector<MetricRef>> refs = MetricRefs(e.promql);
    ASSERT_TRUE(refs.ok()) << e.where << ": " << refs.status();
    for (const MetricRef& r : *refs) {
      if (!IsRecordingRuleName(r.name)) referenced.insert(r.name);
    }
  }
  for (const char* name : {"sase_event_rows_total", "sase_grpc_server_handling_seconds_bucket",
                           "sase_ingress_requests_total", "sase_dingtalk_requests_total", "up"}) {
    EXPECT_TRUE(referenced.contains(name)) << name;
  }

  const std::string idp_id = CreateSourceAndSync();
  ASSERT_FALSE(HasFailure());
  PushUserModified(idp_id);
  LogonAndDirectoryTraffic();
  ASSERT_FALSE(HasFailure());

  // Series of a first use appear asynchronously (the pushed event is applied by the processor).
  const std::set<std::string> prometheus_names = {"up"};
  std::vector<std::string> problems;
  std::map<std::string, std::set<std::string>> exported;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);;) {
    exported = Scrape();
    problems = UnexportedNames(exprs, exported, recorded, prometheus_names);
    if (problems.empty() || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (const auto& [job, names] : exported) EXPECT_THAT(names, ::testing::Contains("sase_build_info")) << job;
  EXPECT_THAT(problems, IsEmpty()) << "referenced: " << absl::StrJoin(referenced, " ") << "\nsync_worker: "
                                   << absl::StrJoin(exported["sync_worker"], " ") << "\ndirectory: "
                                   << absl::StrJoin(exported["directory"], " ") << "\ningress: "
                                   << absl::StrJoin(exported["ingress"], " ");
}

}  // namespace
}  // namespace sase::ops

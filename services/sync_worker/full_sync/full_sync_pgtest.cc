// End-to-end full sync: the in-process DingTalk simulator, the real HttpClient, the SyncEngine and
// the SyncService/IdentitySourceService behind a real gRPC server on 127.0.0.1:0, and a fresh
// PostgreSQL database per test. After every sync the directory is compared with the simulator's
// /admin/org dump.

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "dingtalk/http_client.h"
#include "dingtalk_sim/sim_server.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "store/extended_field_repository.h"
#include "store/identity_source_repository.h"
#include "store/testing/test_db.h"
#include "sync_worker/admin/identity_source_service.h"
#include "sync_worker/admin/sync_service.h"
#include "sync_worker/events/event_inbox.h"
#include "sync_worker/events/event_processor.h"
#include "sync_worker/full_sync/sync_engine.h"
#include "sync_worker/source/source_probe.h"
#include "sync_worker/testing/service_test_fixture.h"

namespace sase::sync_worker {
namespace {

namespace pb = ::sase::dingtalk::v1;
using nlohmann::json;

constexpr char kTenant[] = "t-sync";
using testing::TestRegistry;

std::vector<int64_t> SortedInts(const json& arr) {
  std::vector<int64_t> v;
  if (arr.is_array()) {
    for (const auto& x : arr) v.push_back(x.get<int64_t>());
  }
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<int64_t> ParsePgArray(const std::string& text) {
  std::vector<int64_t> v;
  std::string cur;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      cur += c;
    } else if (!cur.empty()) {
      v.push_back(std::stoll(cur));
      cur.clear();
    }
  }
  std::sort(v.begin(), v.end());
  return v;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || !it->is_string() ? "" : it->get<std::string>();
}

class FullSyncTest : public testing::ServiceTest {
 protected:
  FullSyncTest() : ServiceTest(8, /*start_in_setup=*/false) {}

  void StartSim(int64_t users = 200, int64_t depts = 20, int64_t qps = 0) {
    dingtalk_sim::SimOptions o;
    o.generator.seed = 7;
    o.generator.users = users;
    o.generator.departments = depts;
    o.generator.max_depth = 4;
    o.qps = qps;
    auto sim = dingtalk_sim::SimServer::Start(o);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    sim_opts_ = o;
  }

  SyncEngineOptions EngineOptions(const std::string& owner) {
    SyncEngineOptions e;
    e.owner = owner;
    e.lease = absl::Seconds(2);
    e.poll_interval = absl::Milliseconds(50);
    e.progress_interval = absl::Milliseconds(100);
    e.scheduler_enabled = scheduler_;
    e.apply_batch = 64;
    // Outage pauses in milliseconds rather than minutes (outage_gate_test.cc checks the defaults).
    e.outage.first_wait = absl::Milliseconds(100);
    e.outage.max_wait = absl::Seconds(1);
    e.outage.ip_ban_wait = absl::Seconds(1);
    e.outage.budget = outage_budget_;
    e.retry = retry_;
    return e;
  }
  bool scheduler_ = false;
  absl::Duration outage_budget_ = absl::Seconds(60);
  store::RetryBackoff retry_{absl::Seconds(1), absl::Seconds(2)};

  ClientFactory Factory() {
    const int port = sim_->port();
    return [port](const SourceConfig& src) -> absl::StatusOr<std::shared_ptr<dingtalk::Client>> {
      dingtalk::ClientConfig cfg;
      cfg.app_key = src.record.app_key;
      cfg.app_secret = src.app_secret;
      cfg.oapi_base_url = absl::StrCat("http://127.0.0.1:", port);
      cfg.api_base_url = cfg.oapi_base_url;
      cfg.retry.throttle_backoff = absl::Milliseconds(200);
      cfg.retry.transient_backoff = absl::Milliseconds(20);
      cfg.retry.max_attempts = 6;
      cfg.rate_limit.qps_per_api = 50;
      dingtalk::ClientDeps deps;
      deps.registry = TestRegistry().get();
      auto c = dingtalk::HttpClient::Create(cfg, deps);
      if (!c.ok()) return c.status();
      return std::shared_ptr<dingtalk::Client>(std::move(*c));
    };
  }

  void StartServices() { ServiceTest::StartServices(Factory(), EngineOptions("worker-a"), ""); }

  void TearDown() override {
    ServiceTest::TearDown();
    if (engine_b_) engine_b_->Stop();
  }

  std::string CreateSource(std::vector<int64_t> scope = {}, std::vector<store::FieldMappingRecord> mappings = {},
                           const std::string& secret = "") {
    store::IdentitySourceRecord r;
    r.tenant_id = kTenant;
    r.name = absl::StrCat("钉钉-", ++source_counter_);
    r.status = pb::ENABLED;
    r.corp_id = sim_opts_.corp_id;
    r.app_key = sim_opts_.app_key;
    r.app_secret = secret.empty() ? sim_opts_.app_secret : secret;
    r.dingtalk_type = pb::STANDARD;
    r.sync_cycle_hours = 6;
    r.scope_root_dept_ids = std::move(scope);
    r.field_mappings = std::move(mappings);
    auto created = sources_->Create(r);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->idp_id : "";
  }

  grpc::Status StartSync(const std::string& idp, pb::SyncRun* run, bool departments_only = false) {
    pb::StartSyncRequest req;
    req.set_tenant_id(kTenant);
    req.set_idp_id(idp);
    req.set_departments_only(departments_only);
    grpc::ClientContext ctx;
    return sync_->StartSync(&ctx, req, run);
  }

  pb::SyncRun GetRun(const std::string& run_id) {
    pb::GetSyncRunRequest req;
    req.set_tenant_id(kTenant);
    req.set_run_id(run_id);
    pb::SyncRun run;
    grpc::ClientContext ctx;
    grpc::Status s = sync_->GetSyncRun(&ctx, req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return run;
  }

  // Polls until the run leaves PENDING/FETCHING/APPLYING.
  pb::SyncRun WaitDone(const std::string& run_id, int timeout_s = 90) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    pb::SyncRun run;
    while (std::chrono::steady_clock::now() < deadline) {
      run = GetRun(run_id);
      if (run.state() != pb::PENDING && run.state() != pb::FETCHING && run.state() != pb::APPLYING) return run;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "run " << run_id << " did not finish; state " << run.state();
    return run;
  }

  pb::SyncRun SyncOnce(const std::string& idp) {
    pb::SyncRun started;
    grpc::Status s = StartSync(idp, &started);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return WaitDone(started.run_id());
  }

  json SimGet(const std::string& path) {
    httplib::Client c("127.0.0.1", sim_->port());
    auto res = c.Get(path.c_str());
    if (!res || res->status != 200) {
      ADD_FAILURE() << "sim GET " << path;
      return json();
    }
    return json::parse(res->body);
  }
  void SimPost(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", sim_->port());
    auto res = c.Post(path.c_str(), body.dump(), "application/json");
    ASSERT_TRUE(res) << path;
    ASSERT_EQ(res->status, 200) << path << ": " << res->body;
  }

  // Asserts that the directory of `idp` equals the simulator's organisation restricted to the
  // subtrees of `scope` (empty: everything): departments (name, parent, ancestor path), active
  // users (every synced field), memberships and the ancestor closure. `expected_attrs` adds
  // mapped attributes: attribute name -> extension key.
  void ExpectDirectoryMatchesSim(const std::string& idp, const std::vector<int64_t>& scope = {},
                                 const std::map<std::string, std::string>& expected_attrs = {}) {
    json org = SimGet("/admin/org");
    std::map<int64_t, json> depts;
    for (const auto& d : org["departments"]) depts[d["dept_id"].get<int64_t>()] = d;
    auto parent_of = [&](int64_t id) -> int64_t {
      const json& d = depts.at(id);
      return d.contains("parent_id") ? d["parent_id"].get<int64_t>() : 0;
    };
    auto path_of = [&](int64_t id) {  // root .. parent
      std::vector<int64_t> path;
      for (int64_t p = parent_of(id); p != 0; p = parent_of(p)) path.push_back(p);
      std::reverse(path.begin(), path.end());
      return path;
    };
    std::set<int64_t> in_scope;
    for (const auto& [id, d] : depts) {
      if (scope.empty()) {
        in_scope.insert(id);
        continue;
      }
      for (int64_t root : scope) {
        std::vector<int64_t> path = path_of(id);
        if (id == root || std::find(path.begin(), path.end(), root) != path.end()) in_scope.insert(id);
      }
    }
    // Ancestors as the directory stores them: only departments in the snapshot form the path.
    auto stored_path = [&](int64_t id) {
      std::vector<int64_t> path;
      for (int64_t p : path_of(id)) {
        if (in_scope.contains(p)) path.push_back(p);
      }
      return path;
    };

    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    // Departments.
    std::map<int64_t, std::tuple<std::string, int64_t, std::vector<int64_t>>> got_depts;
    for (const auto& row : tx.exec_params(
             "SELECT dept_id, name, parent_id, ancestor_ids::text FROM departments WHERE idp_id = $1::uuid", idp)) {
      std::vector<int64_t> anc;
      std::string text = row[3].c_str();
      std::string cur;
      for (char ch : text) {
        if (ch >= '0' && ch <= '9') {
          cur += ch;
        } else if (!cur.empty()) {
          anc.push_back(std::stoll(cur));
          cur.clear();
        }
      }
      got_depts[row[0].as<int64_t>()] = {row[1].c_str(), row[2].as<int64_t>(), anc};
    }
    ASSERT_EQ(got_depts.size(), in_scope.size());
    for (int64_t id : in_scope) {
      ASSERT_TRUE(got_depts.contains(id)) << "department " << id;
      const auto& [name, parent, anc] = got_depts.at(id);
      EXPECT_EQ(name, Str(depts.at(id), "name")) << id;
      EXPECT_EQ(parent, parent_of(id)) << id;
      EXPECT_EQ(anc, stored_path(id)) << id;
    }

    // Users.
    struct Row {
      std::string unionid, name, email, org_email, mobile, job, title, avatar;
      bool active;
      int status;
      std::vector<int64_t> depts, leaders, closure;
      json attrs;
    };
    std::map<std::string, Row> got;
    for (const auto& row : tx.exec_params(
             "SELECT dingtalk_userid, unionid, name, email, org_email, mobile, job_number, title, avatar, active,"
             " status, dept_ids::text, leader_dept_ids::text, dept_closure::text, attributes::text"
             " FROM users WHERE idp_id = $1::uuid AND status <> 3",
             idp)) {
      got[row[0].c_str()] = Row{row[1].c_str(), row[2].c_str(), row[3].c_str(), row[4].c_str(),
                                row[5].c_str(), row[6].c_str(), row[7].c_str(), row[8].c_str(),
                                row[9].as<bool>(), row[10].as<int>(), ParsePgArray(row[11].c_str()),
                                ParsePgArray(row[12].c_str()), ParsePgArray(row[13].c_str()),
                                json::parse(row[14].c_str())};
    }
    size_t expected_users = 0;
    int64_t expected_closure_rows = 0;
    for (const auto& u : org["users"]) {
      std::vector<int64_t> du;
      for (int64_t d : SortedInts(u["dept_id_list"])) {
        if (in_scope.contains(d)) du.push_back(d);
      }
      if (du.empty()) continue;
      ++expected_users;
      const std::string userid = Str(u, "userid");
      ASSERT_TRUE(got.contains(userid)) << "user " << userid;
      const Row& r = got.at(userid);
      EXPECT_EQ(r.unionid, Str(u, "unionid")) << userid;
      EXPECT_EQ(r.name, Str(u, "name")) << userid;
      EXPECT_EQ(r.email, Str(u, "email")) << userid;
      EXPECT_EQ(r.org_email, Str(u, "org_email")) << userid;
      EXPECT_EQ(r.mobile, Str(u, "mobile")) << userid;
      EXPECT_EQ(r.job, Str(u, "job_number")) << userid;
      EXPECT_EQ(r.title, Str(u, "title")) << userid;
      EXPECT_EQ(r.avatar, Str(u, "avatar")) << userid;
      EXPECT_EQ(r.active, u.value("active", false)) << userid;
      EXPECT_EQ(r.status, pb::USER_ACTIVE) << userid;
      EXPECT_EQ(r.depts, du) << userid;
      std::vector<int64_t> leaders;
      for (const auto& l : u["leader_in_dept"]) {
        if (l["leader"].get<bool>() && in_scope.contains(l["dept_id"].get<int64_t>())) {
          leaders.push_back(l["dept_id"].get<int64_t>());
        }
      }
      std::sort(leaders.begin(), leaders.end());
      EXPECT_EQ(r.leaders, leaders) << userid;
      std::set<int64_t> closure(du.begin(), du.end());
      for (int64_t d : du) {
        for (int64_t a : stored_path(d)) closure.insert(a);
      }
      EXPECT_EQ(r.closure, std::vector<int64_t>(closure.begin(), closure.end())) << userid;
      expected_closure_rows += static_cast<int64_t>(closure.size());
      // Extension keys kept as attributes; mapped attributes.
      json ext = u.contains("extension") ? json::parse(u["extension"].get<std::string>()) : json::object();
      for (auto it = ext.begin(); it != ext.end(); ++it) {
        EXPECT_EQ(r.attrs.value("extension." + it.key(), ""), it->get<std::string>()) << userid;
      }
      for (const auto& [attr, key] : expected_attrs) {
        if (ext.contains(key)) {
          EXPECT_EQ(r.attrs.value(attr, ""), ext[key].get<std::string>()) << userid << " " << attr;
        } else {
          EXPECT_FALSE(r.attrs.contains(attr)) << userid << " " << attr;
        }
      }
    }
    EXPECT_EQ(got.size(), expected_users);
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM user_dept_closure WHERE idp_id = $1::uuid", idp)[0].as<int64_t>(),
              expected_closure_rows);
  }

  int source_counter_ = 0;
  std::unique_ptr<dingtalk_sim::SimServer> sim_;
  dingtalk_sim::SimOptions sim_opts_;
  prometheus::Registry registry_b_;           // worker B is another process: its own metrics
  std::unique_ptr<SourceClients> clients_b_;  // and its own clients
  std::unique_ptr<SyncEngine> engine_b_;
};

TEST_F(FullSyncTest, DirectoryEqualsSimulatorAndUnchangedResyncWritesNothing) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  pb::SyncRun run = SyncOnce(idp);
  ASSERT_EQ(run.state(), pb::SUCCEEDED) << run.failure_reason() << " " << run.failure_detail();
  EXPECT_EQ(run.trigger(), pb::MANUAL);
  EXPECT_TRUE(run.has_end_time());
  EXPECT_EQ(run.counts().users_fetched(), 200);
  EXPECT_EQ(run.counts().users_created(), 200);
  EXPECT_EQ(run.counts().departments_fetched(), 20);
  EXPECT_EQ(run.counts().departments_created(), 20);
  EXPECT_GT(run.counts().api_calls(), 0);
  // Never one call per user: one token + one count + one department/get + 20 listsub + user pages.
  EXPECT_LT(run.counts().api_calls(), 200 / 2);
  EXPECT_EQ(run.progress().departments_done(), 20);
  EXPECT_EQ(run.progress().users_done(), 200);
  ExpectDirectoryMatchesSim(idp);

  const int64_t changes = Count("SELECT count(*) FROM change_log");
  EXPECT_GE(changes, 220);
  pb::SyncRun again = SyncOnce(idp);
  ASSERT_EQ(again.state(), pb::SUCCEEDED);
  EXPECT_EQ(again.counts().users_created() + again.counts().users_updated(), 0);
  EXPECT_EQ(again.counts().departments_created() + again.counts().departments_updated(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes);

  // A change in DingTalk is picked up, and only that change is written.
  json org = SimGet("/admin/org");
  const std::string victim = org["users"][5]["userid"].get<std::string>();
  SimPost("/admin/users/modify", {{"userid", victim}, {"title", "首席架构师"}});
  pb::SyncRun third = SyncOnce(idp);
  ASSERT_EQ(third.state(), pb::SUCCEEDED);
  EXPECT_EQ(third.counts().users_updated(), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes + 1);
  ExpectDirectoryMatchesSim(idp);

  // ListSyncRuns: newest first, keyset pages.
  pb::ListSyncRunsRequest lreq;
  lreq.set_tenant_id(kTenant);
  lreq.set_idp_id(idp);
  lreq.set_page_size(2);
  pb::ListSyncRunsResponse page1, page2;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(sync_->ListSyncRuns(&ctx, lreq, &page1).ok());
  }
  ASSERT_EQ(page1.runs_size(), 2);
  EXPECT_EQ(page1.runs(0).run_id(), third.run_id());
  EXPECT_EQ(page1.runs(1).run_id(), again.run_id());
  ASSERT_FALSE(page1.next_page_token().empty());
  lreq.set_page_token(page1.next_page_token());
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(sync_->ListSyncRuns(&ctx, lreq, &page2).ok());
  }
  ASSERT_EQ(page2.runs_size(), 1);
  EXPECT_EQ(page2.runs(0).run_id(), run.run_id());
  EXPECT_TRUE(page2.next_page_token().empty());
}

// User batches are written on a writer thread while the next is fetched: a write that fails midway
// fails the run (no hang, no later batch written) and leaves the batches committed before it.
// v2/user/list carries no manager_userid and department/listsub neither order nor the managers:
// what the event re-fetches (user/get, department/get) stored survives a full sync, which counts
// no change for fields it cannot know.
TEST_F(FullSyncTest, FullSyncKeepsWhatOnlyUserGetAndDepartmentGetCarry) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  pb::SyncRun first = SyncOnce(idp);
  ASSERT_EQ(first.state(), pb::SUCCEEDED) << first.failure_reason();
  json org = SimGet("/admin/org");
  std::string userid, manager;
  for (const auto& u : org["users"]) {
    if (!Str(u, "manager_userid").empty()) {
      userid = Str(u, "userid");
      manager = Str(u, "manager_userid");
      break;
    }
  }
  ASSERT_FALSE(userid.empty()) << "the simulated organisation has users with a manager";
  int64_t dept = 0, order = 0;
  std::vector<std::string> managers;
  for (const auto& d : org["departments"]) {
    if (d.value("order", 0) > 0 && !d["dept_manager_userid_list"].empty()) {
      dept = d["dept_id"].get<int64_t>();
      order = d["order"].get<int64_t>();
      managers = d["dept_manager_userid_list"].get<std::vector<std::string>>();
      break;
    }
  }
  ASSERT_NE(dept, 0) << "the simulated organisation has a department with an order and managers";
  auto text = [&](const std::string& sql) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string() : std::string(r[0][0].c_str());
  };
  const std::string user_sql =
      absl::StrCat("SELECT manager_userid FROM users WHERE idp_id = '", idp, "' AND dingtalk_userid = '", userid, "'");
  const std::string order_sql =
      absl::StrCat("SELECT sort_order FROM departments WHERE idp_id = '", idp, "' AND dept_id = ", dept);
  const std::string managers_sql =
      absl::StrCat("SELECT array_to_json(manager_userids)::text FROM departments WHERE idp_id = '", idp,
                   "' AND dept_id = ", dept);
  EXPECT_EQ(text(user_sql), "") << "v2/user/list does not carry manager_userid";
  EXPECT_EQ(text(managers_sql), "[]") << "department/listsub does not carry the managers";

  // Events re-fetch the user and the department.
  prometheus::Registry events_registry;
  EventProcessor processor(*pool_, *clients_, events_registry, common::SystemClock(),
                           EventProcessorOptions{.batch = 50, .max_attempts = 3,
                                                 .breaker_pause = absl::ZeroDuration()});
  auto submitted = inbox_->Submit(kTenant, idp,
                                  {InboxEvent{"m1", "user_modify_org", 1, {userid}, {}, "{}"},
                                   InboxEvent{"d1", "org_dept_modify", 1, {}, {dept}, "{}"}});
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  auto handled = processor.RunOnce();
  ASSERT_TRUE(handled.ok()) << handled.status();
  EXPECT_EQ(*handled, 2);
  EXPECT_EQ(text(user_sql), manager);
  EXPECT_EQ(text(order_sql), std::to_string(order));
  EXPECT_EQ(text(managers_sql), json(managers).dump());
  const int64_t changes = Count("SELECT count(*) FROM change_log");

  // A full sync keeps them and writes nothing: nothing it can see has changed.
  pb::SyncRun again = SyncOnce(idp);
  ASSERT_EQ(again.state(), pb::SUCCEEDED) << again.failure_reason();
  EXPECT_EQ(again.counts().users_created() + again.counts().users_updated(), 0);
  EXPECT_EQ(again.counts().departments_created() + again.counts().departments_updated(), 0);
  EXPECT_EQ(text(user_sql), manager);
  EXPECT_EQ(text(order_sql), std::to_string(order));
  EXPECT_EQ(text(managers_sql), json(managers).dump());
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes);
  // No enrichment: the sync made no user/get or department/get call per user or department.
  EXPECT_LT(again.counts().api_calls(), 200 / 2);
  ExpectDirectoryMatchesSim(idp);

  // A change the list call does carry is written, and the row keeps its manager.
  SimPost("/admin/users/modify", {{"userid", userid}, {"title", "新职位"}});
  pb::SyncRun third = SyncOnce(idp);
  ASSERT_EQ(third.state(), pb::SUCCEEDED) << third.failure_reason();
  EXPECT_EQ(third.counts().users_updated(), 1);
  EXPECT_EQ(text(user_sql), manager);
  EXPECT_EQ(Count("SELECT count(*) FROM change_log"), changes + 1);
}

TEST_F(FullSyncTest, FailedUserWriteFailsTheRun) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec(
        "CREATE FUNCTION refuse_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF (SELECT count(*) FROM users) >= 100 THEN RAISE EXCEPTION 'disk full (test)'; END IF;"
        " RETURN NULL; END $$");
    tx.exec("CREATE TRIGGER refuse_users BEFORE INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION refuse_users()");
    tx.commit();
  }
  pb::SyncRun run = SyncOnce(idp);
  EXPECT_EQ(run.state(), pb::FAILED);
  EXPECT_EQ(run.failure_reason(), "internal");
  const int64_t users = Count("SELECT count(*) FROM users");
  EXPECT_GE(users, 100);
  EXPECT_LT(users, 200);
  EXPECT_EQ(users, Count("SELECT count(*) FROM change_log WHERE kind = 1"));  // only committed batches logged
}

TEST_F(FullSyncTest, PartialScopeAndFieldMappingsWithExtensionKeys) {
  StartSim();
  StartServices();
  ASSERT_TRUE(fields_->Create({kTenant, "cost_center", "成本中心", pb::FIELD_STRING}).ok());
  ASSERT_TRUE(fields_->Create({kTenant, "hobby", "爱好", pb::FIELD_STRING}).ok());
  json org = SimGet("/admin/org");
  // The scope roots: two children of the root (one subtree each).
  std::vector<int64_t> scope;
  for (const auto& d : org["departments"]) {
    if (d.value("parent_id", 0) == 1 && scope.size() < 2) scope.push_back(d["dept_id"].get<int64_t>());
  }
  ASSERT_EQ(scope.size(), 2u);
  const std::string idp = CreateSource(
      scope, {{"extension.cost_center", "ext.cost_center"}, {"extension.爱好", "ext.hobby"}, {"job_number", "title"}});
  pb::SyncRun run = SyncOnce(idp);
  ASSERT_EQ(run.state(), pb::SUCCEEDED) << run.failure_reason() << " " << run.failure_detail();
  EXPECT_GT(run.counts().users_fetched(), 0);
  EXPECT_LT(run.counts().users_fetched(), 200);
  // Titles come from job_number through the mapping; extension keys fill extended fields.
  pqxx::connection c(db_->dsn());
  pqxx::read_transaction tx(c);
  int checked = 0;
  for (const auto& u : org["users"]) {
    pqxx::result r = tx.exec_params(
        "SELECT title, attributes::text FROM users WHERE idp_id = $1::uuid AND dingtalk_userid = $2", idp,
        u["userid"].get<std::string>());
    if (r.empty()) continue;
    EXPECT_EQ(r[0][0].c_str(), Str(u, "job_number"));
    json attrs = json::parse(r[0][1].c_str());
    json ext = u.contains("extension") ? json::parse(u["extension"].get<std::string>()) : json::object();
    EXPECT_EQ(attrs.value("cost_center", "<none>"), ext.value("cost_center", "<none>"));
    EXPECT_EQ(attrs.value("hobby", "<none>"), ext.value("爱好", "<none>"));
    ++checked;
  }
  EXPECT_EQ(checked, run.counts().users_fetched());
}

TEST_F(FullSyncTest, PartialScopeDirectoryEqualsSubtree) {
  StartSim();
  StartServices();
  ASSERT_TRUE(fields_->Create({kTenant, "cost_center", "成本中心", pb::FIELD_STRING}).ok());
  json org = SimGet("/admin/org");
  int64_t root = 0;
  for (const auto& d : org["departments"]) {
    if (d.value("parent_id", 0) == 1) {
      root = d["dept_id"].get<int64_t>();
      break;
    }
  }
  ASSERT_GT(root, 0);
  const std::string idp = CreateSource({root}, {{"extension.cost_center", "ext.cost_center"}});
  pb::SyncRun run = SyncOnce(idp);
  ASSERT_EQ(run.state(), pb::SUCCEEDED) << run.failure_reason() << " " << run.failure_detail();
  ExpectDirectoryMatchesSim(idp, {root}, {{"cost_center", "cost_center"}});
}

TEST_F(FullSyncTest, TruncatedSourceTripsDeletionGuardUntilApproved) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  ASSERT_EQ(SyncOnce(idp).state(), pb::SUCCEEDED);
  json org = SimGet("/admin/org");
  std::vector<std::string> removed;
  for (int i = 0; i < 30; ++i) {
    std::string userid = org["users"][static_cast<size_t>(i * 3)]["userid"].get<std::string>();
    SimPost("/admin/users/remove", {{"userid", userid}});
    removed.push_back(userid);
  }
  pb::SyncRun held = SyncOnce(idp);  // 30 of 200 = 15 % > 10 %
  ASSERT_EQ(held.state(), pb::AWAITING_APPROVAL) << held.failure_reason();
  EXPECT_EQ(held.counts().users_held(), 30);
  EXPECT_EQ(held.counts().users_departed(), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM users WHERE status = 3"), 0);

  // A second StartSync is allowed (AWAITING_APPROVAL is not running) but ApproveDeletions of an
  // unknown run is NOT_FOUND and of a run in another state FAILED_PRECONDITION.
  pb::ApproveDeletionsRequest areq;
  areq.set_tenant_id(kTenant);
  areq.set_run_id("00000000-0000-0000-0000-000000000001");
  pb::SyncRun approved;
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(sync_->ApproveDeletions(&ctx, areq, &approved).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  areq.set_run_id(held.run_id());
  {
    grpc::ClientContext ctx;
    grpc::Status s = sync_->ApproveDeletions(&ctx, areq, &approved);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(approved.state(), pb::SUCCEEDED);
  EXPECT_EQ(approved.counts().users_departed(), 30);
  EXPECT_EQ(Count("SELECT count(*) FROM users WHERE status = 3"), 30);
  ExpectDirectoryMatchesSim(idp);
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(sync_->ApproveDeletions(&ctx, areq, &approved).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  // Small departures below the guard apply at once.
  SimPost("/admin/users/remove", {{"userid", org["users"][1]["userid"]}});
  pb::SyncRun small = SyncOnce(idp);
  EXPECT_EQ(small.state(), pb::SUCCEEDED);
  EXPECT_EQ(small.counts().users_departed(), 1);
  ExpectDirectoryMatchesSim(idp);
}

TEST_F(FullSyncTest, ThrottlingTokenExpiryAndFaultsConverge) {
  StartSim(200, 20, /*qps=*/5);
  StartServices();
  const std::string idp = CreateSource();
  SimPost("/admin/faults", {{"error_rate", 0.15}, {"busy_rate", 0.05}});
  pb::SyncRun started;
  ASSERT_TRUE(StartSync(idp, &started).ok());
  // Expire every token once the run is under way.
  for (int i = 0; i < 200; ++i) {
    pb::SyncRun r = GetRun(started.run_id());
    if (r.progress().departments_done() > 2 || r.state() != pb::PENDING) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  SimPost("/admin/tokens/expire", json::object());
  pb::SyncRun run = WaitDone(started.run_id(), 180);
  ASSERT_EQ(run.state(), pb::SUCCEEDED) << run.failure_reason() << " " << run.failure_detail();
  EXPECT_GT(run.counts().throttles(), 0);
  SimPost("/admin/faults", {{"error_rate", 0}, {"busy_rate", 0}});
  ExpectDirectoryMatchesSim(idp);
}

// An IP ban (DingTalk's punish page on every call) pauses the run instead of failing it; the run
// says until when it waits, and converges once the ban is lifted.
TEST_F(FullSyncTest, AnIpBanPausesTheRunWhichResumesAndConverges) {
  StartSim(300, 20);
  StartServices();
  const std::string idp = CreateSource();
  SimPost("/admin/faults", {{"ip_ban_rate", 1.0}});
  pb::SyncRun started;
  ASSERT_TRUE(StartSync(idp, &started).ok());
  pb::SyncRun waiting;
  for (int i = 0; i < 600; ++i) {
    waiting = GetRun(started.run_id());
    if (waiting.progress().has_waiting_until() || waiting.state() == pb::FAILED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(waiting.progress().has_waiting_until()) << "state " << waiting.state() << " "
                                                      << waiting.failure_reason() << " " << waiting.failure_detail();
  EXPECT_EQ(waiting.progress().waiting_reason(), "ip_ban");
  EXPECT_EQ(waiting.state(), pb::FETCHING);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the outage lasts a few pauses
  EXPECT_EQ(GetRun(started.run_id()).state(), pb::FETCHING) << "still waiting, not failed";
  SimPost("/admin/faults", {{"ip_ban_rate", 0}});
  pb::SyncRun run = WaitDone(started.run_id());
  ASSERT_EQ(run.state(), pb::SUCCEEDED) << run.failure_reason() << " " << run.failure_detail();
  EXPECT_FALSE(run.progress().has_waiting_until());
  ExpectDirectoryMatchesSim(idp);
}

// A run that still fails (here: no outage budget at all) is retried with capped exponential
// back-off although the source does not sync automatically; a success clears the back-off.
// Failures an admin must fix (bad credentials) are not retried.
TEST_F(FullSyncTest, AFailedRunIsRetriedWithBackoffWithoutAutoSync) {
  StartSim(200, 20);
  scheduler_ = true;
  outage_budget_ = absl::ZeroDuration();
  StartServices();
  const std::string idp = CreateSource();
  auto retry_state = [&] {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    return tx.exec_params1(
        "SELECT sync_failures, coalesce(extract(epoch FROM sync_retry_at - now()), -1)::float8, auto_sync"
        " FROM identity_sources WHERE idp_id = $1::uuid",
        idp);
  };
  SimPost("/admin/faults", {{"error_rate", 1.0}});
  pb::SyncRun failed = SyncOnce(idp);
  ASSERT_EQ(failed.state(), pb::FAILED);
  EXPECT_EQ(failed.failure_reason(), "unreachable");
  {
    pqxx::row r = retry_state();
    EXPECT_EQ(r[0].as<int>(), 1);
    EXPECT_GT(r[1].as<double>(), 0.0);
    EXPECT_LE(r[1].as<double>(), 1.0) << "first retry after the base back-off";
    EXPECT_FALSE(r[2].as<bool>()) << "the source does not sync automatically";
  }
  // The poller starts RETRY runs as they come due: the second failure doubles the back-off to
  // its 2 s cap.
  auto wait_for_run = [&](int n) {
    for (int i = 0; i < 400 && Count(absl::StrCat("SELECT count(*) FROM sync_runs WHERE idp_id = '", idp,
                                                  "' AND state IN (4, 5, 6)")) < n;
         ++i) {
      engine_->PollOnce();
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  };
  wait_for_run(2);
  {
    pqxx::row r = retry_state();
    EXPECT_EQ(r[0].as<int>(), 2);
    EXPECT_GT(r[1].as<double>(), 1.0);
    EXPECT_LE(r[1].as<double>(), 2.0);
  }
  SimPost("/admin/faults", {{"error_rate", 0}});
  wait_for_run(3);
  pqxx::connection c(db_->dsn());
  {
    pqxx::read_transaction tx(c);
    pqxx::result runs = tx.exec_params(
        "SELECT trigger, state FROM sync_runs WHERE idp_id = $1::uuid ORDER BY started_at", idp);
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[0][0].as<int>(), pb::MANUAL);
    EXPECT_EQ(runs[1][0].as<int>(), pb::RETRY);
    EXPECT_EQ(runs[2][0].as<int>(), pb::RETRY);
    EXPECT_EQ(runs[1][1].as<int>(), pb::FAILED);
    EXPECT_EQ(runs[2][1].as<int>(), pb::SUCCEEDED);
  }
  pqxx::row r = retry_state();
  EXPECT_EQ(r[0].as<int>(), 0);
  EXPECT_EQ(r[1].as<double>(), -1.0) << "no retry due after a success";
  ExpectDirectoryMatchesSim(idp);

  const std::string bad = CreateSource({}, {}, "not-the-secret");
  pb::SyncRun refused = SyncOnce(bad);
  ASSERT_EQ(refused.state(), pb::FAILED);
  EXPECT_EQ(refused.failure_reason(), "bad_credentials");
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM identity_sources WHERE idp_id = '", bad,
                               "' AND sync_retry_at IS NULL")),
            1);
}

TEST_F(FullSyncTest, StartSyncWhileRunningIsFailedPrecondition) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  SimPost("/admin/faults", {{"latency_ms", 30}});
  pb::SyncRun first;
  ASSERT_TRUE(StartSync(idp, &first).ok());
  pb::SyncRun second;
  grpc::Status s = StartSync(idp, &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  // Live progress is visible while running.
  bool saw_progress = false;
  for (int i = 0; i < 400 && !saw_progress; ++i) {
    pb::SyncRun r = GetRun(first.run_id());
    saw_progress = r.state() == pb::FETCHING && r.progress().departments_done() > 0;
    if (!saw_progress) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(saw_progress);
  SimPost("/admin/faults", {{"latency_ms", 0}});
  EXPECT_EQ(WaitDone(first.run_id()).state(), pb::SUCCEEDED);
  // Unknown source, bad ids.
  pb::SyncRun none;
  EXPECT_EQ(StartSync("00000000-0000-0000-0000-000000000001", &none).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status bad = StartSync("not-a-uuid", &none);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("idp_id"), std::string::npos);
  pb::GetSyncRunRequest greq;
  greq.set_tenant_id(kTenant);
  greq.set_run_id("nope");
  grpc::ClientContext ctx;
  grpc::Status gs = sync_->GetSyncRun(&ctx, greq, &none);
  EXPECT_EQ(gs.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(gs.error_message().find("run_id"), std::string::npos);
}

TEST_F(FullSyncTest, KilledRunIsTakenOverAndCompletes) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  SimPost("/admin/faults", {{"latency_ms", 25}});
  pb::SyncRun started;
  ASSERT_TRUE(StartSync(idp, &started).ok());
  for (int i = 0; i < 400; ++i) {
    pb::SyncRun r = GetRun(started.run_id());
    if (r.state() == pb::FETCHING && r.progress().departments_done() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // "Kill" worker A: it stops renewing the lease and writes nothing more.
  engine_->Stop(/*release_leases=*/false);
  pb::SyncRun orphan = GetRun(started.run_id());
  EXPECT_EQ(orphan.state(), pb::FETCHING);
  EXPECT_EQ(Count("SELECT count(*) FROM users WHERE status = 3"), 0);
  SimPost("/admin/faults", {{"latency_ms", 0}});

  // Worker B takes the run over once the lease has expired.
  clients_b_ = std::make_unique<SourceClients>(*pool_, *box_, Factory());
  engine_b_ = std::make_unique<SyncEngine>(*pool_, *clients_b_, registry_b_, common::SystemClock(),
                                           EngineOptions("worker-b"));
  engine_b_->PollOnce();
  EXPECT_EQ(engine_b_->active_runs(), 0) << "lease not yet expired";
  engine_b_->Start();
  pb::SyncRun done = WaitDone(started.run_id());
  ASSERT_EQ(done.state(), pb::SUCCEEDED) << done.failure_reason();
  EXPECT_EQ(done.counts().users_fetched(), 200);
  EXPECT_EQ(Count(absl::StrCat("SELECT attempts FROM sync_runs WHERE run_id = '", started.run_id(), "'")), 1);
  ExpectDirectoryMatchesSim(idp);
}

// A clean shutdown (SIGTERM) gives the lease up: another replica takes the run over at once
// instead of waiting for the lease to expire, and the run keeps its state until then.
TEST_F(FullSyncTest, CleanStopReleasesTheLeaseForAnImmediateTakeover) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  // Slow enough that the run cannot finish between seeing it fetch and stopping the engine, even
  // on a loaded machine (at 25 ms it once did, under ctest -j4 beside a benchmark).
  SimPost("/admin/faults", {{"latency_ms", 200}});
  pb::SyncRun started;
  ASSERT_TRUE(StartSync(idp, &started).ok());
  for (int i = 0; i < 400; ++i) {
    pb::SyncRun r = GetRun(started.run_id());
    if (r.state() == pb::FETCHING && r.progress().departments_done() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  engine_->Stop();
  EXPECT_EQ(GetRun(started.run_id()).state(), pb::FETCHING);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM sync_runs WHERE lease_owner = '' AND run_id = '",
                               started.run_id(), "'")),
            1);
  SimPost("/admin/faults", {{"latency_ms", 0}});
  clients_b_ = std::make_unique<SourceClients>(*pool_, *box_, Factory());
  engine_b_ = std::make_unique<SyncEngine>(*pool_, *clients_b_, registry_b_, common::SystemClock(),
                                           EngineOptions("worker-b"));
  engine_b_->PollOnce();  // claims what has no live lease, once
  EXPECT_EQ(Count(absl::StrCat("SELECT attempts FROM sync_runs WHERE run_id = '", started.run_id(), "'")), 1)
      << "taken over at once, not after the lease";
  pb::SyncRun done = WaitDone(started.run_id());
  ASSERT_EQ(done.state(), pb::SUCCEEDED) << done.failure_reason();
  ExpectDirectoryMatchesSim(idp);
}

TEST_F(FullSyncTest, DepartmentsOnlyRunAndScheduledClaim) {
  StartSim();
  StartServices();
  const std::string idp = CreateSource();
  pb::SyncRun started;
  ASSERT_TRUE(StartSync(idp, &started, /*departments_only=*/true).ok());
  pb::SyncRun run = WaitDone(started.run_id());
  ASSERT_EQ(run.state(), pb::SUCCEEDED) << run.failure_reason();
  EXPECT_TRUE(run.departments_only());
  EXPECT_EQ(run.counts().departments_created(), 20);
  EXPECT_EQ(Count("SELECT count(*) FROM users"), 0);

  // The scheduler claims an auto_sync source with sync_user_info off: a departments-only run, once.
  pqxx::connection c(db_->dsn());
  {
    pqxx::work w(c);
    w.exec_params0("UPDATE identity_sources SET auto_sync = true, sync_user_info = false, next_sync_at = NULL"
                   " WHERE idp_id = $1::uuid",
                   idp);
    w.commit();
  }
  store::SyncRunRepository store(*pool_);
  auto a = store.ClaimScheduled("w1", absl::Seconds(30));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(a->has_value());
  EXPECT_TRUE((*a)->run.departments_only());
  EXPECT_EQ((*a)->run.trigger(), pb::SCHEDULED);
  auto b = store.ClaimScheduled("w2", absl::Seconds(30));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());  // next_sync_at moved a cycle ahead
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM identity_sources WHERE next_sync_at > now() + interval '5 hours'"
                               " AND idp_id = '", idp, "'")),
            1);
}

TEST_F(FullSyncTest, ConnectivityAndSourceDepartments) {
  StartSim();
  StartServices();
  const std::string good = CreateSource();
  const std::string bad = CreateSource({}, {}, "wrong-secret-0000000000");
  pb::TestConnectivityRequest req;
  req.set_tenant_id(kTenant);
  req.set_idp_id(good);
  pb::TestConnectivityResponse resp;
  {
    grpc::ClientContext ctx;
    grpc::Status s = idsrc_->TestConnectivity(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_TRUE(resp.ok());
  ASSERT_EQ(resp.steps_size(), 3);
  EXPECT_EQ(resp.steps(0).name(), "token");
  EXPECT_EQ(resp.steps(2).name(), "user_page");
  req.set_idp_id(bad);
  resp.Clear();
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(idsrc_->TestConnectivity(&ctx, req, &resp).ok());
  }
  EXPECT_FALSE(resp.ok());
  ASSERT_GE(resp.steps_size(), 1);
  EXPECT_FALSE(resp.steps(0).ok());
  EXPECT_EQ(resp.steps(0).reason(), "bad_credentials");
  EXPECT_EQ(resp.steps(0).detail().find("wrong-secret"), std::string::npos);
  req.set_idp_id("00000000-0000-0000-0000-000000000009");
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(idsrc_->TestConnectivity(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }

  json org = SimGet("/admin/org");
  std::map<int64_t, std::string> root_children;
  std::set<int64_t> parents;
  for (const auto& d : org["departments"]) {
    if (d.value("parent_id", 0) == 1) root_children[d["dept_id"].get<int64_t>()] = Str(d, "name");
    if (d.contains("parent_id")) parents.insert(d["parent_id"].get<int64_t>());
  }
  pb::ListSourceDepartmentsRequest lreq;
  lreq.set_tenant_id(kTenant);
  lreq.set_idp_id(good);
  pb::ListSourceDepartmentsResponse lresp;
  {
    grpc::ClientContext ctx;
    grpc::Status s = idsrc_->ListSourceDepartments(&ctx, lreq, &lresp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_EQ(static_cast<size_t>(lresp.departments_size()), root_children.size());
  for (const auto& d : lresp.departments()) {
    EXPECT_EQ(d.name(), root_children.at(d.department_id()));
    EXPECT_EQ(d.parent_department_id(), 1);
    EXPECT_EQ(d.has_children(), parents.contains(d.department_id())) << d.department_id();
  }
  lreq.set_parent_department_id(-4);
  {
    grpc::ClientContext ctx;
    grpc::Status s = idsrc_->ListSourceDepartments(&ctx, lreq, &lresp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("parent_department_id"), std::string::npos);
  }
}

}  // namespace
}  // namespace sase::sync_worker

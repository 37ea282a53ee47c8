// Events re-fetched from the (simulated) DingTalk and applied to the directory.
#include "sync_worker/events/event_processor.h"

#include <httplib.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/testing/fake_clock.h"
#include "dingtalk/http_client.h"
#include "dingtalk_sim/sim_server.h"
#include "gmock/gmock.h"
#include "store/identity_source_repository.h"
#include "store/testing/test_db.h"
#include "sync_worker/events/event_inbox.h"
#include "sync_worker/testing/service_test_fixture.h"

namespace sase::sync_worker {
namespace {

namespace pb = ::sase::dingtalk::v1;
constexpr char kTenant[] = "t-events";

class EventProcessorPgTest : public testing::StoreTest {
 protected:
  EventProcessorPgTest() : StoreTest(4) {}

  void SetUp() override {
    StoreTest::SetUp();
    if (!StoreReady()) return;
    dingtalk_sim::SimOptions o;
    o.generator.seed = 11;
    o.generator.users = 40;
    o.generator.departments = 6;
    o.generator.max_depth = 3;
    o.qps = 0;
    sim_ = std::move(*dingtalk_sim::SimServer::Start(o));
    sim_opts_ = o;
    idp_ = CreateSource("events");
    ASSERT_FALSE(idp_.empty());
    clients_ = std::make_unique<SourceClients>(*pool_, *box_, Factory());
    processor_ = std::make_unique<EventProcessor>(*pool_, *clients_, registry_, common::SystemClock(),
                                                  EventProcessorOptions{.batch = 50,
                                                                        .max_attempts = 3,
                                                                        .breaker_pause = absl::ZeroDuration()});
    admin_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
  }

  // An identity source for the simulated organisation; "" (and a test failure) when refused.
  std::string CreateSource(const std::string& name, std::vector<int64_t> scope = {}) {
    store::IdentitySourceRecord r;
    r.tenant_id = kTenant;
    r.name = name;
    r.status = pb::ENABLED;
    r.corp_id = sim_opts_.corp_id;
    r.app_key = sim_opts_.app_key;
    r.app_secret = sim_opts_.app_secret;
    r.dingtalk_type = pb::STANDARD;
    r.sync_cycle_hours = 24;
    r.scope_root_dept_ids = std::move(scope);
    auto created = sources_->Create(r);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->idp_id : "";
  }

  ClientFactory Factory() {
    const int port = sim_->port();
    return [port, this](const SourceConfig& src) -> absl::StatusOr<std::shared_ptr<dingtalk::Client>> {
      ++clients_made_;
      dingtalk::ClientConfig cfg;
      cfg.app_key = src.record.app_key;
      cfg.app_secret = src.app_secret;
      cfg.oapi_base_url = absl::StrCat("http://127.0.0.1:", port);
      cfg.api_base_url = cfg.oapi_base_url;
      cfg.retry.max_attempts = 1;
      cfg.retry.interactive_max_attempts = 1;
      cfg.request_timeout = absl::Seconds(2);
      auto c = dingtalk::HttpClient::Create(cfg, {});
      if (!c.ok()) return c.status();
      return std::shared_ptr<dingtalk::Client>(std::move(*c));
    };
  }

  nlohmann::json Org() { return nlohmann::json::parse(admin_->Get("/admin/org")->body); }

  void Submit(const std::string& type, const std::string& key, std::vector<std::string> users,
              std::vector<int64_t> depts = {}) {
    InboxEvent e{key, type, 1, std::move(users), std::move(depts), "{}"};
    auto r = inbox_->Submit(kTenant, idp_, {e});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // status of the user in the directory: -1 absent.
  int UserStatus(const std::string& userid) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT status FROM users WHERE idp_id = $1::uuid AND dingtalk_userid = $2", idp_, userid);
    return r.empty() ? -1 : r[0][0].as<int>();
  }
  std::string UserField(const std::string& userid, const std::string& col) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(absl::StrCat("SELECT ", col, " FROM users WHERE idp_id = $1::uuid AND dingtalk_userid = $2"),
                            idp_, userid);
    return r.empty() ? "" : r[0][0].c_str();
  }
  int Inbox(int state) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    return tx.exec_params1("SELECT count(*) FROM event_inbox WHERE state = $1", state)[0].as<int>();
  }

  std::unique_ptr<dingtalk_sim::SimServer> sim_;
  dingtalk_sim::SimOptions sim_opts_;
  std::string idp_;
  prometheus::Registry registry_;
  std::unique_ptr<SourceClients> clients_;
  std::unique_ptr<EventProcessor> processor_;
  std::unique_ptr<httplib::Client> admin_;
  int clients_made_ = 0;
};

TEST_F(EventProcessorPgTest, EventsAreRefetchedAndApplied) {
  nlohmann::json org = Org();
  std::string a = org["users"][0]["userid"], b = org["users"][1]["userid"];
  int64_t dept = org["departments"][1]["dept_id"];
  // Two events for the same user coalesce into one fetch; a department event creates it.
  Submit("user_add_org", "e1", {a});
  Submit("user_modify_org", "e2", {a, b});
  Submit("org_dept_create", "e3", {}, {dept});
  auto n = processor_->RunOnce();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(UserStatus(a), pb::USER_ACTIVE);
  EXPECT_EQ(UserStatus(b), pb::USER_ACTIVE);
  EXPECT_EQ(UserField(a, "name"), org["users"][0]["name"].get<std::string>());
  EXPECT_EQ(Inbox(1), 3);

  // The user resigns in DingTalk: the event is only a hint; the re-fetch says "gone" → departed.
  auto removed = admin_->Post("/admin/users/remove", nlohmann::json{{"userid", a}}.dump(), "application/json");
  ASSERT_EQ(removed->status, 200) << removed->body;
  Submit("user_leave_org", "e4", {a});
  // A replayed add for the departed user re-fetches too and cannot resurrect them.
  Submit("user_add_org", "e5", {a});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(UserStatus(a), pb::USER_DEPARTED);
  EXPECT_EQ(UserStatus(b), pb::USER_ACTIVE);
  EXPECT_EQ(clients_made_, 1);  // the client (and its token) is reused across passes
}

// An event re-fetches the user with user/get, which names all of its departments and
// leaderships: they are stored as DingTalk has them (not dropped), and a move replaces them.
TEST_F(EventProcessorPgTest, EventsKeepAndUpdateTheUsersDepartmentsAndLeadership) {
  nlohmann::json org = Org();
  std::string a = org["users"][0]["userid"];
  std::vector<int64_t> all;
  for (const auto& d : org["departments"]) all.push_back(d["dept_id"].get<int64_t>());
  ASSERT_GE(all.size(), 3u);
  std::sort(all.begin(), all.end());
  const int64_t d1 = all[all.size() - 1], d2 = all[all.size() - 2];
  auto modified = admin_->Post("/admin/users/modify",
                               nlohmann::json{{"userid", a},
                                              {"dept_id_list", {d1, d2}},
                                              {"leader_in_dept", {{{"dept_id", d2}, {"leader", true}},
                                                                  {{"dept_id", d1}, {"leader", false}}}}}
                                   .dump(),
                               "application/json");
  ASSERT_EQ(modified->status, 200) << modified->body;
  Submit("user_modify_org", "m1", {a});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(UserField(a, "dept_ids"), absl::StrCat("{", std::min(d1, d2), ",", std::max(d1, d2), "}"));
  EXPECT_EQ(UserField(a, "leader_dept_ids"), absl::StrCat("{", d2, "}"));

  auto moved = admin_->Post("/admin/users/move", nlohmann::json{{"userid", a}, {"dept_id_list", {1}}}.dump(),
                            "application/json");
  ASSERT_EQ(moved->status, 200) << moved->body;
  Submit("user_modify_org", "m2", {a});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(UserField(a, "dept_ids"), "{1}");
}

// department/get carries the order and the managers (dept_manager_userid_list) and user/get the
// manager_userid, none of which a full sync's list calls return: a department or user event
// stores them as DingTalk has them now, clearing what DingTalk no longer has.
TEST_F(EventProcessorPgTest, EventsStoreTheDepartmentOrderAndManagersAndTheUsersManager) {
  nlohmann::json org = Org();
  const std::string a = org["users"][0]["userid"], b = org["users"][1]["userid"];
  const int64_t d = org["departments"][1]["dept_id"];
  auto post = [this](const std::string& path, const nlohmann::json& body) {
    auto r = admin_->Post(path, body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << path << ": " << r->body;
  };
  post("/admin/depts/modify", {{"dept_id", d}, {"order", 42}});
  post("/admin/users/modify",
       {{"userid", a}, {"dept_id_list", {d}}, {"leader_in_dept", {{{"dept_id", d}, {"leader", true}}}}});
  post("/admin/users/modify", {{"userid", b}, {"manager_userid", a}});
  auto sim_managers = [&] {
    const nlohmann::json now = Org();
    for (const auto& dept : now["departments"]) {
      if (dept["dept_id"] == d) return dept["dept_manager_userid_list"].dump();
    }
    return std::string("missing");
  };
  auto dept_field = [&](const std::string& col) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(absl::StrCat("SELECT ", col, " FROM departments WHERE idp_id = $1::uuid AND dept_id = $2"),
                            idp_, d);
    return r.empty() ? std::string("absent") : std::string(r[0][0].c_str());
  };
  const std::string managers = sim_managers();
  ASSERT_NE(managers.find(a), std::string::npos) << managers;

  Submit("org_dept_modify", "d1", {}, {d});
  Submit("user_modify_org", "u1", {a, b});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(dept_field("sort_order"), "42");
  EXPECT_EQ(dept_field("array_to_json(manager_userids)::text"), managers);
  EXPECT_EQ(UserField(b, "manager_userid"), a);

  // a is no longer a manager of d, b has no manager any more: the next events clear both.
  post("/admin/users/modify", {{"userid", a}, {"leader_in_dept", {{{"dept_id", d}, {"leader", false}}}}});
  post("/admin/users/modify", {{"userid", b}, {"manager_userid", nullptr}});
  ASSERT_EQ(sim_managers().find(a), std::string::npos);
  Submit("org_dept_modify", "d2", {}, {d});
  Submit("user_modify_org", "u2", {b});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(dept_field("array_to_json(manager_userids)::text"), sim_managers());
  EXPECT_EQ(UserField(b, "manager_userid"), "");
}

// A source synced for one subtree only: events apply what a full sync of that scope would hold.
// Departments and users outside stay out, and whoever moves out of the subtree leaves the directory.
TEST_F(EventProcessorPgTest, EventsRespectTheSyncScope) {
  auto admin = [this](const std::string& path, const nlohmann::json& body) {
    auto r = admin_->Post(path, body.dump(), "application/json");
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return nlohmann::json::parse(r->body);
  };
  const int64_t x = admin("/admin/depts/add", {{"name", "Scoped"}, {"parent_id", 1}})["dept_id"];
  const int64_t y = admin("/admin/depts/add", {{"name", "Inside"}, {"parent_id", x}})["dept_id"];
  const int64_t z = admin("/admin/depts/add", {{"name", "Elsewhere"}, {"parent_id", 1}})["dept_id"];
  admin("/admin/users/add", {{"userid", "in1"}, {"name", "In"}, {"dept_id_list", {y}}});
  admin("/admin/users/add", {{"userid", "out1"}, {"name", "Out"}, {"dept_id_list", {z}}});
  admin("/admin/users/add", {{"userid", "both1"}, {"name", "Both"}, {"dept_id_list", {z, x}}});

  const std::string idp = CreateSource("scoped", {x});
  ASSERT_FALSE(idp.empty());
  auto submit = [&](const std::string& type, const std::string& key, std::vector<std::string> users,
                    std::vector<int64_t> depts) {
    ASSERT_TRUE(inbox_->Submit(kTenant, idp, {InboxEvent{key, type, 1, std::move(users), std::move(depts), "{}"}}).ok());
  };
  auto query = [&](const std::string& sql) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params(sql, idp)) out.push_back(row[0].c_str());
    return out;
  };
  auto depts_held = [&] { return query("SELECT dept_id::text FROM departments WHERE idp_id = $1::uuid ORDER BY 1"); };
  auto active_users = [&] {
    return query("SELECT dingtalk_userid FROM users WHERE idp_id = $1::uuid AND status = 1 ORDER BY 1");
  };

  submit("org_dept_create", "d1", {}, {x, y, z});
  submit("user_add_org", "u1", {"in1", "out1", "both1"}, {});
  ASSERT_TRUE(processor_->RunOnce().ok());
  std::vector<std::string> xy = {absl::StrCat(std::min(x, y)), absl::StrCat(std::max(x, y))};
  EXPECT_EQ(depts_held(), xy);
  EXPECT_EQ(active_users(), (std::vector<std::string>{"both1", "in1"}));

  // in1 moves out of the subtree: departed. The department Inside moves out: deleted.
  admin("/admin/users/move", {{"userid", "in1"}, {"dept_id_list", {z}}});
  admin("/admin/depts/move", {{"dept_id", y}, {"parent_id", z}});
  submit("user_modify_org", "u2", {"in1"}, {});
  submit("org_dept_modify", "d2", {}, {y});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(active_users(), (std::vector<std::string>{"both1"}));
  EXPECT_EQ(depts_held(), (std::vector<std::string>{absl::StrCat(x)}));
}

// DingTalk may still return a user just after user_leave_org (its own read-after-write lag). The
// event is not trusted as data, but it is not dropped either: the user is looked at again a few
// times, departs as soon as DingTalk agrees, and DingTalk's answer stands after the last re-check.
TEST_F(EventProcessorPgTest, DepartureNotYetVisibleInDingTalkIsRechecked) {
  nlohmann::json org = Org();
  std::string b = org["users"][1]["userid"], c = org["users"][2]["userid"];
  auto row_state = [&](const std::string& key) {
    pqxx::connection conn(db_->dsn());
    pqxx::read_transaction tx(conn);
    auto r = tx.exec_params("SELECT state, last_error FROM event_inbox WHERE dedupe_key = $1", key);
    return std::make_pair(r[0][0].as<int>(), std::string(r[0][1].c_str()));
  };
  auto make_due = [&] {
    pqxx::connection conn(db_->dsn());
    pqxx::work tx(conn);
    tx.exec("UPDATE event_inbox SET next_attempt_at = now() WHERE state = 0");
    tx.commit();
  };
  Submit("user_leave_org", "leave-b", {b});
  Submit("user_leave_org", "leave-c", {c});
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(UserStatus(b), pb::USER_ACTIVE);  // DingTalk still has them: not departed on the event's word
  EXPECT_EQ(row_state("leave-b").first, 0);
  EXPECT_THAT(row_state("leave-b").second, ::testing::HasSubstr("leave_not_visible"));

  // DingTalk catches up for b: the next look departs them.
  auto removed = admin_->Post("/admin/users/remove", nlohmann::json{{"userid", b}}.dump(), "application/json");
  ASSERT_EQ(removed->status, 200) << removed->body;
  make_due();
  ASSERT_TRUE(processor_->RunOnce().ok());
  EXPECT_EQ(UserStatus(b), pb::USER_DEPARTED);
  EXPECT_EQ(row_state("leave-b").first, 1);

  // c never leaves in DingTalk: after the last re-check the row is done and c stays active.
  for (int i = 0; i < 6 && row_state("leave-c").first == 0; ++i) {
    make_due();
    ASSERT_TRUE(processor_->RunOnce().ok());
  }
  EXPECT_EQ(row_state("leave-c").first, 1);
  EXPECT_EQ(UserStatus(c), pb::USER_ACTIVE);
  prometheus::TextSerializer text;
  // b once, c on each of its leave_rechecks (4) looks.
  EXPECT_THAT(text.Serialize(registry_.Collect()), ::testing::HasSubstr(R"(sase_event_rows_total{result="recheck"} 5)"));
}

TEST_F(EventProcessorPgTest, UnreachableDingTalkRetriesWithBackoffThenGivesUp) {
  std::string a = Org()["users"][0]["userid"];
  sim_.reset();  // DingTalk unreachable
  Submit("user_add_org", "e1", {a});
  auto n = processor_->RunOnce();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(Inbox(0), 1);  // still pending, next attempt pushed into the future
  EXPECT_EQ(processor_->RunOnce().value_or(-1), 0);  // not due yet: nothing claimed
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    auto r = tx.exec1("SELECT attempts, last_error <> '', next_attempt_at > now() FROM event_inbox");
    EXPECT_EQ(r[0].as<int>(), 1);
    EXPECT_TRUE(r[1].as<bool>());
    EXPECT_TRUE(r[2].as<bool>());
    tx.exec0("UPDATE event_inbox SET next_attempt_at = now(), attempts = 2");  // fast-forward
    tx.commit();
  }
  EXPECT_EQ(processor_->RunOnce().value_or(-1), 1);  // third attempt fails: given up
  EXPECT_EQ(Inbox(2), 1);
  EXPECT_EQ(UserStatus(a), -1);
}

// A committed push wakes the processor: the event is applied at once, not after the poll
// interval (an hour here; before, the loop only slept it out).
TEST_F(EventProcessorPgTest, CommittedPushWakesTheProcessor) {
  std::string a = Org()["users"][0]["userid"];
  processor_.reset();
  prometheus::Registry registry;
  processor_ = std::make_unique<EventProcessor>(
      *pool_, *clients_, registry, common::SystemClock(),
      EventProcessorOptions{.poll_interval = absl::Hours(1), .breaker_pause = absl::ZeroDuration()});
  inbox_->OnCommit([this] { processor_->Wake(); });
  processor_->Start();
  auto eventually = [](auto pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  };
  ASSERT_TRUE(eventually([&] { return processor_->passes() >= 1; }));  // now asleep for an hour
  Submit("user_add_org", "wake-1", {a});
  EXPECT_TRUE(eventually([&] { return UserStatus(a) == 1; })) << "the push waited for the poll interval";
  inbox_->OnCommit(nullptr);
  processor_.reset();  // before `registry`
}

// Circuit breaker: an unreachable DingTalk pauses claiming the source's rows (nothing is claimed or
// fetched, even for rows that are due), counted and logged; after the pause one batch is tried
// again, and a second failure doubles the pause. Time passes on a fake clock, not in sleeps.
TEST_F(EventProcessorPgTest, UnreachableSourceIsPausedThenTriedAgain) {
  std::string a = Org()["users"][0]["userid"];
  sim_.reset();  // DingTalk unreachable
  processor_.reset();
  prometheus::Registry registry;
  common::testing::FakeClock clock;
  processor_ = std::make_unique<EventProcessor>(
      *pool_, *clients_, registry, clock,
      EventProcessorOptions{.batch = 50, .max_attempts = 10, .breaker_pause = absl::Minutes(1)});
  auto attempts = [&] {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    return tx.exec1("SELECT coalesce(sum(attempts), 0) FROM event_inbox")[0].as<int>();
  };
  auto metrics = [&] {
    prometheus::TextSerializer s;
    return s.Serialize(registry.Collect());
  };
  Submit("user_add_org", "e1", {a});
  ASSERT_EQ(processor_->RunOnce().value_or(-1), 0);
  EXPECT_EQ(attempts(), 1);
  EXPECT_EQ(processor_->PausedSources(), std::vector<std::string>{idp_});
  EXPECT_NE(metrics().find(R"(sase_event_source_pauses_total{reason="unreachable"} 1)"), std::string::npos);
  EXPECT_NE(metrics().find("sase_event_sources_paused 1"), std::string::npos);

  // While paused: due rows (the retried one fast-forwarded, a new one) are not claimed.
  {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec0("UPDATE event_inbox SET next_attempt_at = now()");
    tx.commit();
  }
  Submit("user_modify_org", "e2", {a});
  ASSERT_EQ(processor_->RunOnce().value_or(-1), 0);
  EXPECT_EQ(attempts(), 1);

  clock.Advance(absl::Seconds(59));
  EXPECT_EQ(processor_->PausedSources(), std::vector<std::string>{idp_});
  ASSERT_EQ(processor_->RunOnce().value_or(-1), 0);
  EXPECT_EQ(attempts(), 1);

  // After the pause both are claimed and tried again; still unreachable: paused again, for twice
  // as long.
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE(processor_->PausedSources().empty());
  ASSERT_EQ(processor_->RunOnce().value_or(-1), 0);
  EXPECT_EQ(attempts(), 3);
  EXPECT_EQ(processor_->PausedSources(), std::vector<std::string>{idp_});
  EXPECT_NE(metrics().find(R"(sase_event_source_pauses_total{reason="unreachable"} 2)"), std::string::npos);
  clock.Advance(absl::Seconds(61));
  EXPECT_EQ(processor_->PausedSources(), std::vector<std::string>{idp_}) << "the second pause is 2 minutes";
  clock.Advance(absl::Seconds(60));
  EXPECT_TRUE(processor_->PausedSources().empty());
  processor_.reset();  // before `registry`
}

}  // namespace
}  // namespace sase::sync_worker

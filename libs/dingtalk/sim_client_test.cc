// HttpClient against the DingTalk simulator (tools/dingtalk_sim) on loopback: a breadth-first
// department walk and user paging must see the whole generated organisation, also while the
// simulator throttles and injects faults.
#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "absl/strings/str_cat.h"
#include "dingtalk/error.h"
#include "dingtalk/http_client.h"
#include "dingtalk_sim/sim_server.h"

namespace sase::dingtalk {
namespace {

struct Walk {
  int64_t departments = 0;
  std::set<std::string> users;
};

absl::StatusOr<Walk> WalkOrg(Client& client) {
  Walk walk;
  std::deque<int64_t> queue{kRootDeptId};
  while (!queue.empty()) {
    int64_t dept = queue.front();
    queue.pop_front();
    ++walk.departments;
    absl::StatusOr<std::vector<Department>> subs = client.ListSubDepartments(dept, CallOptions::Bulk());
    if (!subs.ok()) return subs.status();
    for (const Department& d : *subs) queue.push_back(d.dept_id);
    int64_t cursor = 0;
    for (;;) {
      absl::StatusOr<UserPage> page = client.ListUsersPage(dept, cursor, 100, CallOptions::Bulk());
      if (!page.ok()) return page.status();
      for (const User& u : page->users) walk.users.insert(u.userid);
      if (!page->has_more) break;
      cursor = page->next_cursor;
    }
  }
  return walk;
}

std::unique_ptr<dingtalk_sim::SimServer> StartSim(int64_t qps, dingtalk_sim::FaultSettings faults = {}) {
  dingtalk_sim::SimOptions opt;
  opt.generator = {.seed = 7, .users = 300, .departments = 12, .max_depth = 3};
  opt.qps = qps;
  opt.threads = 4;
  opt.faults = faults;
  absl::StatusOr<std::unique_ptr<dingtalk_sim::SimServer>> sim = dingtalk_sim::SimServer::Start(opt);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return sim.ok() ? std::move(*sim) : nullptr;
}

ClientConfig ConfigFor(const dingtalk_sim::SimServer& sim) {
  ClientConfig cfg;
  dingtalk_sim::SimOptions defaults;
  cfg.app_key = defaults.app_key;
  cfg.app_secret = defaults.app_secret;
  cfg.oapi_base_url = absl::StrCat("http://127.0.0.1:", sim.port());
  cfg.api_base_url = cfg.oapi_base_url;
  cfg.request_timeout = absl::Seconds(5);
  return cfg;
}

TEST(SimClient, WalksTheWholeOrganisation) {
  auto sim = StartSim(/*qps=*/0);
  ASSERT_NE(sim, nullptr);
  ClientConfig cfg = ConfigFor(*sim);
  cfg.rate_limit.qps_per_api = 1000;
  auto client = HttpClient::Create(cfg);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<Walk> walk = WalkOrg(**client);
  ASSERT_TRUE(walk.ok()) << walk.status();
  EXPECT_EQ(walk->departments, 12);
  absl::StatusOr<int64_t> count = (*client)->CountUsers(false, CallOptions::Bulk());
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(static_cast<int64_t>(walk->users.size()), *count);
  EXPECT_EQ(*count, 300);
  absl::StatusOr<User> u = (*client)->GetUser(*walk->users.begin(), CallOptions::Interactive());
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_FALSE(u->dept_id_list.empty());
  EXPECT_EQ(ReasonOf((*client)->GetUser("no-such-user", CallOptions::Bulk()).status()), ApiError::kNotFound);
  EXPECT_EQ(ReasonOf((*client)->GetDepartment(987654321, CallOptions::Bulk()).status()), ApiError::kNotFound);
}

TEST(SimClient, ConvergesUnderThrottlingAndFaults) {
  dingtalk_sim::FaultSettings faults;
  faults.error_rate = 0.05;
  faults.busy_rate = 0.05;
  auto sim = StartSim(/*qps=*/5, faults);
  ASSERT_NE(sim, nullptr);
  ClientConfig cfg = ConfigFor(*sim);
  cfg.rate_limit.qps_per_api = 50;  // faster than the simulator allows: it will throttle us
  cfg.retry.max_attempts = 8;
  // The token fetch runs in the interactive lane: with 10 % faults, its default 2 attempts
  // failed the walk about once in a hundred runs.
  cfg.retry.interactive_max_attempts = 8;
  cfg.retry.throttle_backoff = absl::Milliseconds(200);
  cfg.retry.transient_backoff = absl::Milliseconds(20);
  cfg.retry.max_backoff = absl::Seconds(1);
  auto client = HttpClient::Create(cfg);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<Walk> walk = WalkOrg(**client);
  ASSERT_TRUE(walk.ok()) << walk.status();
  EXPECT_EQ(walk->departments, 12);
  EXPECT_EQ(walk->users.size(), 300u);
  EXPECT_GT((*client)->Stats().throttled, 0);
}

TEST(SimClient, BadSecretIsAuth) {
  auto sim = StartSim(/*qps=*/0);
  ASSERT_NE(sim, nullptr);
  ClientConfig cfg = ConfigFor(*sim);
  cfg.app_secret = "wrong";
  auto client = HttpClient::Create(cfg);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(ReasonOf((*client)->ListSubDepartments(1, CallOptions::Interactive()).status()), ApiError::kAuth);
}

}  // namespace
}  // namespace sase::dingtalk

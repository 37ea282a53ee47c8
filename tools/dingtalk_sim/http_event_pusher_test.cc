#include "dingtalk_sim/http_event_pusher.h"

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "callback/inbound.h"
#include "dingtalk_sim/sim_server.h"
#include "gtest/gtest.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

constexpr char kToken[] = "simtoken123";
constexpr char kAesKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

// A minimal connector ingress built on sase::callback: verifies, decrypts, records, replies.
class FakeIngress {
 public:
  enum class Mode { kOk, kPlainSuccess, kFailFirst };

  explicit FakeIngress(std::string app_key, Mode mode) : mode_(mode) {
    callback::CallbackKeys keys{kToken, kAesKey, std::move(app_key), "", false};
    codec_ = std::make_unique<callback::CallbackCodec>(*callback::CallbackCodec::Create(keys));
    server_.Post("/dingtalk/callback", [this](const httplib::Request& req, httplib::Response& res) {
      const int hit = ++hits_;
      absl::StatusOr<callback::VerifiedEvent> ev =
          codec_->Open(callback::QueryFromParams(req.params), req.body, absl::Now());
      if (!ev.ok()) {
        res.status = 400;
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(ev->event);
      }
      if (mode_ == Mode::kPlainSuccess || (mode_ == Mode::kFailFirst && hit == 1)) {
        res.set_content("success", "text/plain");  // the classic mistake: not the encrypted reply
        return;
      }
      res.set_content(*codec_->SuccessReply(ev->receiver_id, absl::Now()), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeIngress() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/dingtalk/callback"; }
  int hits() const { return hits_; }
  std::vector<callback::Event> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // Polls until n events arrived (bounded).
  bool WaitForEvents(size_t n) {
    for (int i = 0; i < 500; ++i) {
      if (events().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  Mode mode_;
  std::unique_ptr<callback::CallbackCodec> codec_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> hits_{0};
  std::mutex mu_;
  std::vector<callback::Event> events_;
};

class PusherTest : public ::testing::Test {
 protected:
  void StartSim(const std::string& url, EventLayout layout) {
    SimOptions opt;
    opt.generator = {.seed = 5, .users = 30, .departments = 5, .max_depth = 3};
    opt.qps = 0;
    opt.threads = 4;
    PusherOptions p{url, kToken, kAesKey, opt.app_key, layout,
                    {std::chrono::milliseconds(20), std::chrono::milliseconds(40)}, std::chrono::milliseconds(2000)};
    opt.pusher_factory = [p](EventPusher::FailedCallback on_failed) -> std::unique_ptr<EventPusher> {
      auto pusher = HttpEventPusher::Create(p, std::move(on_failed));
      EXPECT_TRUE(pusher.ok()) << pusher.status();
      return pusher.ok() ? std::move(*pusher) : nullptr;
    };
    opt_ = opt;
    auto s = SimServer::Start(opt);
    ASSERT_TRUE(s.ok()) << s.status();
    sim_ = std::move(*s);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", sim_->port());
  }

  json Admin(const std::string& path, const json& body) {
    auto r = client_->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << path;
    return r ? json::parse(r->body, nullptr, false) : json();
  }

  json FailedList() {
    auto t = client_->Get(("/gettoken?appkey=" + opt_.app_key + "&appsecret=" + opt_.app_secret).c_str());
    const std::string token = json::parse(t->body)["access_token"];
    auto r = client_->Get(("/call_back/get_call_back_failed_result?access_token=" + token).c_str());
    return json::parse(r->body);
  }

  json PusherStats() {
    auto r = client_->Get("/admin/counters");
    return r ? json::parse(r->body)["pusher"] : json();
  }
  bool WaitDelivered(int64_t n) {
    for (int i = 0; i < 300; ++i) {
      if (PusherStats().value("delivered", int64_t{-1}) == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  SimOptions opt_;
  std::unique_ptr<SimServer> sim_;
  std::unique_ptr<httplib::Client> client_;
};

TEST(ParseRetryDelaysTest, Parses) {
  auto d = ParseRetryDelays("10000, 30000");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (std::vector<std::chrono::milliseconds>{std::chrono::seconds(10), std::chrono::seconds(30)}));
  EXPECT_TRUE(ParseRetryDelays("")->empty());
  EXPECT_FALSE(ParseRetryDelays("10s").ok());
}

TEST_F(PusherTest, DeliversSignedEncryptedEventsInBothLayouts) {
  for (EventLayout layout : {EventLayout::kLegacy, EventLayout::kCurrent}) {
    FakeIngress ingress(SimOptions().app_key, FakeIngress::Mode::kOk);
    StartSim(ingress.url(), layout);
    Admin("/admin/users/add", {{"userid", "wangwu"}, {"name", "王五"}, {"dept_id_list", {1}}});
    json d = Admin("/admin/depts/add", {{"name", "新部门"}});
    Admin("/admin/callback/check_url", json::object());
    ASSERT_TRUE(ingress.WaitForEvents(3));
    std::vector<callback::Event> events = ingress.events();
    EXPECT_EQ(events[0].kind, callback::EventKind::kUserAddOrg);
    EXPECT_EQ(events[0].user_ids, std::vector<std::string>{"wangwu"});
    EXPECT_EQ(events[0].corp_id, opt_.corp_id);
    EXPECT_GT(events[0].event_time_ms, 0);
    EXPECT_EQ(events[0].event_id.empty(), layout == EventLayout::kLegacy);
    EXPECT_EQ(events[1].kind, callback::EventKind::kOrgDeptCreate);
    EXPECT_EQ(events[1].dept_ids, std::vector<int64_t>{d["dept_id"].get<int64_t>()});
    EXPECT_EQ(events[2].kind, callback::EventKind::kCheckUrl);
    // Delivered: nothing in the failed list.
    EXPECT_TRUE(WaitDelivered(3));
    EXPECT_TRUE(FailedList()["failed_list"].empty());
    sim_.reset();
  }
}

TEST_F(PusherTest, UnacknowledgedEventsAreRetriedThenListedAsFailed) {
  FakeIngress ingress(SimOptions().app_key, FakeIngress::Mode::kPlainSuccess);
  StartSim(ingress.url(), EventLayout::kLegacy);
  Admin("/admin/users/add", {{"userid", "zhaoliu"}, {"name", "赵六"}, {"dept_id_list", {1}}});
  json failed;
  for (int i = 0; i < 500; ++i) {
    failed = FailedList();
    if (!failed["failed_list"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(failed["failed_list"].size(), 1u) << failed;
  EXPECT_EQ(failed["failed_list"][0]["call_back_tag"], "user_add_org");
  EXPECT_EQ(failed["failed_list"][0]["user_add_org"]["userid"], json({"zhaoliu"}));
  EXPECT_EQ(ingress.hits(), 3);  // first try + 2 retries
  json stats = PusherStats();
  EXPECT_EQ(stats["failed"], 1);
  EXPECT_EQ(stats["retried"], 2);
}

TEST_F(PusherTest, RetrySucceedsAfterAFailedAttempt) {
  FakeIngress ingress(SimOptions().app_key, FakeIngress::Mode::kFailFirst);
  StartSim(ingress.url(), EventLayout::kCurrent);
  Admin("/admin/users/remove", {{"userid", "user1"}});
  ASSERT_TRUE(ingress.WaitForEvents(2));
  std::vector<callback::Event> events = ingress.events();
  EXPECT_EQ(events[0].kind, callback::EventKind::kUserLeaveOrg);
  EXPECT_EQ(events[1].event_id, events[0].event_id);  // the same event redelivered
  EXPECT_TRUE(WaitDelivered(1));
  EXPECT_TRUE(FailedList()["failed_list"].empty());
}

}  // namespace
}  // namespace sase::dingtalk_sim

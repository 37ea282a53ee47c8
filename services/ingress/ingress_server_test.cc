#include "ingress/ingress_server.h"

#include <httplib.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "callback/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::ingress {
namespace {

using ::testing::HasSubstr;

constexpr char kIdp[] = "0f8b7c1e-2a3b-4c5d-8e9f-001122334455";
constexpr char kAesKey[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
constexpr char kToken[] = "tok123";
constexpr char kAppKey[] = "dingappkey0001";

struct FakeSync {
  std::mutex mu;
  callback::CallbackKeys keys{kToken, kAesKey, kAppKey, "dingcorp", false};
  bool sink_down = false;
  // Key lookups for any other source wait while this is set (then answer NotFound).
  bool hold_other_lookups = false;
  std::condition_variable cv;
  std::vector<callback::Event> stored;
  int fetches = 0;
};

std::string Push(const callback::CallbackKeys& keys, const std::string& json, std::string* query,
                 int64_t ts_ms = 0, const std::string& receiver = kAppKey) {
  auto cipher = callback::CallbackCipher::Create(keys.aes_key);
  std::string encrypt = *cipher->Encrypt(json, receiver);
  std::string ts = absl::StrCat(ts_ms != 0 ? ts_ms : absl::ToUnixMillis(absl::Now()));
  std::string nonce = "n0nce";
  std::string sig = callback::ComputeSignature(keys.token, ts, nonce, encrypt);
  *query = absl::StrCat("?msg_signature=", sig, "&timestamp=", ts, "&nonce=", nonce);
  return nlohmann::json{{"encrypt", encrypt}}.dump();
}

class IngressServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = std::make_unique<KeyCache>(
        [this](const std::string& idp) -> absl::StatusOr<SourceKeys> {
          std::unique_lock<std::mutex> lock(sync_.mu);
          ++sync_.fetches;
          if (idp != kIdp) {
            sync_.cv.wait(lock, [this] { return !sync_.hold_other_lookups; });
            return absl::NotFoundError("no such source");
          }
          return SourceKeys{"tenant-a", true, 1, sync_.keys};
        },
        common::SystemClock(),
        KeyCache::Options{.ttl = absl::Seconds(60), .min_refresh_age = absl::ZeroDuration(),
                          .negative_ttl = absl::Seconds(1)});
    IngressOptions opts;
    opts.http.max_body_bytes = 4096;
    // One event-loop thread and one lookup thread: a blocked loop would stall every test below.
    opts.http.io_threads = 1;
    opts.key_fetch_threads = 1;
    opts.max_key_fetch_backlog = 1;
    // The production wiring: pushes go through the batcher into a fake SubmitEvents.
    batcher_ = std::make_unique<EventBatcher>(
        [this](const std::string& tenant, const std::string& idp,
               const std::vector<const callback::Event*>& events) -> absl::StatusOr<BatchResult> {
          std::lock_guard<std::mutex> lock(sync_.mu);
          if (sync_.sink_down) return absl::UnavailableError("sync_worker down");
          EXPECT_EQ(tenant, "tenant-a");
          EXPECT_EQ(idp, kIdp);
          BatchResult r;
          for (const callback::Event* e : events) {
            bool dup = false;
            for (const auto& s : sync_.stored) dup = dup || s.dedupe_key == e->dedupe_key;
            r.duplicate.push_back(dup);
            if (dup) {
              ++r.duplicates;
            } else {
              sync_.stored.push_back(*e);
              ++r.accepted;
            }
          }
          return r;
        },
        EventBatcher::Options{}, &registry_);
    server_ = std::make_unique<IngressServer>(
        opts, *cache_, common::SystemClock(),
        [this](const std::string& tenant, const std::string& idp, callback::Event e, SubmitDone done) {
          batcher_->SubmitAsync(tenant, idp, std::move(e), std::move(done));
        },
        registry_);
    auto port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
  }

  httplib::Result Post(const std::string& idp, const std::string& query, const std::string& body) {
    return client_->Post(absl::StrCat("/dingtalk/events/", idp, query).c_str(), body, "application/json");
  }

  std::string Metrics() {
    prometheus::TextSerializer s;
    return s.Serialize(registry_.Collect());
  }

  size_t Stored() {
    std::lock_guard<std::mutex> lock(sync_.mu);
    return sync_.stored.size();
  }

  FakeSync sync_;
  prometheus::Registry registry_;
  std::unique_ptr<KeyCache> cache_;
  std::unique_ptr<EventBatcher> batcher_;
  std::unique_ptr<IngressServer> server_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

constexpr char kUserAdd[] =
    R"({"EventType":"user_add_org","TimeStamp":"1700000000000","UserId":["u1","u2"],"CorpId":"dingcorp"})";

TEST_F(IngressServerTest, ValidPushIsStoredThenAnsweredWithSignedSuccess) {
  std::string q;
  std::string body = Push(sync_.keys, kUserAdd, &q);
  auto res = Post(kIdp, q, body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Stored(), 1u);
  auto reply = nlohmann::json::parse(res->body);
  std::string encrypt = reply["encrypt"];
  std::string ts = reply["timeStamp"];
  std::string nonce = reply["nonce"];
  EXPECT_EQ(reply["msg_signature"], callback::ComputeSignature(kToken, ts, nonce, encrypt));
  auto decrypted = callback::CallbackCipher::Create(kAesKey)->Decrypt(encrypt);
  ASSERT_TRUE(decrypted.ok());
  EXPECT_EQ(decrypted->message, "success");
  EXPECT_EQ(decrypted->receiver_id, kAppKey);

  // A replay is acknowledged again and stores nothing new.
  auto again = Post(kIdp, q, body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(Stored(), 1u);
  EXPECT_THAT(Metrics(), HasSubstr(R"(sase_ingress_events_total{kind="user_add_org",result="duplicate"} 1)"));
}

// The push URL names the source; an upper-case spelling of its id is the same source (one key
// lookup, one dedupe key space), not an unknown one.
TEST_F(IngressServerTest, UpperCaseSourceIdInTheUrlIsTheSameSource) {
  std::string q;
  std::string body = Push(sync_.keys, kUserAdd, &q);
  auto res = Post(absl::AsciiStrToUpper(kIdp), q, body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Stored(), 1u);
  auto again = Post(kIdp, q, body);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(Stored(), 1u) << "the replay under the canonical id is a duplicate";
  std::lock_guard<std::mutex> lock(sync_.mu);
  EXPECT_EQ(sync_.fetches, 1) << "one cache entry for both spellings";
}

TEST_F(IngressServerTest, CheckUrlIsAnsweredAndNotStored) {
  std::string q;
  auto res = Post(kIdp, q, Push(sync_.keys, R"({"EventType":"check_url"})", &q));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Stored(), 0u);
}

TEST_F(IngressServerTest, UnknownEventTypeIsAcknowledgedAndCountedNotStored) {
  std::string q;
  auto res = Post(kIdp, q, Push(sync_.keys, R"({"EventType":"bpms_task_change","TimeStamp":1})", &q));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(Stored(), 0u);
  EXPECT_THAT(Metrics(), HasSubstr(R"(sase_ingress_events_total{kind="unknown",result="ignored"} 1)"));
}

TEST_F(IngressServerTest, BadInputIsRejectedWithReasonAndStoresNothing) {
  std::string q;
  std::string body = Push(sync_.keys, kUserAdd, &q);
  struct Case {
    std::string idp, query, body;
    int status;
    std::string reason;
  };
  std::string q_old;
  std::string body_old = Push(sync_.keys, kUserAdd, &q_old, absl::ToUnixMillis(absl::Now()) - 2 * 3600 * 1000);
  std::string q_recv;
  std::string body_recv = Push(sync_.keys, kUserAdd, &q_recv, 0, "someone-else");
  std::string q_bad = q;
  q_bad.replace(q_bad.find("msg_signature=") + 14, 4, "0000");
  std::vector<Case> cases = {
      {"11111111-2222-3333-4444-555555555555", q, body, 404, "unknown_source"},
      {"not-a-uuid", q, body, 404, "unknown_source"},
      {kIdp, q_bad, body, 401, "bad_signature"},
      {kIdp, "?timestamp=1&nonce=x", body, 401, "missing_signature"},
      {kIdp, q_old, body_old, 401, "bad_timestamp"},
      {kIdp, q, "not json", 400, "bad_body"},
      {kIdp, q_recv, body_recv, 400, "wrong_receiver"},
  };
  for (const Case& c : cases) {
    auto res = Post(c.idp, c.query, c.body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << c.reason << ": " << res->body;
    EXPECT_THAT(res->body, HasSubstr(c.reason));
    EXPECT_THAT(Metrics(), HasSubstr(absl::StrCat("outcome=\"", c.reason, "\"")));
  }
  // Bad base64 with a valid signature over it.
  std::string ts = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  std::string sig = callback::ComputeSignature(kToken, ts, "n", "%%%notbase64%%%");
  auto res = Post(kIdp, absl::StrCat("?signature=", sig, "&timeStamp=", ts, "&nonce=n"),
                  R"({"encrypt":"%%%notbase64%%%"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("bad_base64"));
  EXPECT_EQ(Stored(), 0u);
}

TEST_F(IngressServerTest, BodyTooLargeIs413AndCounted) {
  std::string q;
  auto res = Post(kIdp, "?msg_signature=a&timestamp=1&nonce=n", std::string(8192, 'x'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(Stored(), 0u);
  EXPECT_THAT(Metrics(), HasSubstr("outcome=\"body_too_large\""));
}

TEST_F(IngressServerTest, StoreUnavailableIs503SoDingTalkRetries) {
  {
    std::lock_guard<std::mutex> lock(sync_.mu);
    sync_.sink_down = true;
  }
  std::string q;
  auto res = Post(kIdp, q, Push(sync_.keys, kUserAdd, &q));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(Stored(), 0u);
}

TEST_F(IngressServerTest, RotatedKeysAreFetchedOnSignatureFailure) {
  std::string q;
  ASSERT_EQ(Post(kIdp, q, Push(sync_.keys, kUserAdd, &q))->status, 200);
  callback::CallbackKeys rotated{"newtoken", "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj", kAppKey, "", false};
  {
    std::lock_guard<std::mutex> lock(sync_.mu);
    sync_.keys = rotated;
  }
  std::string q2;
  auto res = Post(kIdp, q2, Push(rotated, R"({"EventType":"user_leave_org","TimeStamp":"5","UserId":["u9"]})", &q2));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Stored(), 2u);
  EXPECT_THAT(Metrics(), HasSubstr("sase_ingress_key_refreshes_total 1"));
}

// A key lookup that has to ask sync_worker runs off the event loop: while one hangs, pushes for
// cached sources are still answered, and lookups queued beyond the backlog get 503 at once.
TEST_F(IngressServerTest, SlowKeyLookupsDoNotHoldUpCachedSources) {
  std::string q;
  ASSERT_EQ(Post(kIdp, q, Push(sync_.keys, kUserAdd, &q))->status, 200);  // kIdp is cached now
  {
    std::lock_guard<std::mutex> lock(sync_.mu);
    sync_.hold_other_lookups = true;
  }
  const std::vector<std::string> others = {"11111111-2222-3333-4444-000000000001",
                                           "11111111-2222-3333-4444-000000000002"};
  std::vector<int> statuses(others.size(), 0);
  std::vector<std::thread> slow;
  auto post_other = [&](size_t i) {
    slow.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", port_);
      c.set_read_timeout(10, 0);
      auto r = c.Post(absl::StrCat("/dingtalk/events/", others[i], "?x=1").c_str(), "{}", "application/json");
      statuses[i] = r ? r->status : -1;
    });
  };
  auto poll = [](const std::function<bool()>& done) {
    for (int t = 0; t < 5000 && !done(); ++t) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return done();
  };
  // The first lookup occupies the only lookup thread ...
  post_other(0);
  ASSERT_TRUE(poll([&] {
    std::lock_guard<std::mutex> lock(sync_.mu);
    return sync_.fetches == 2;
  }));
  // ... the second waits in the backlog ...
  post_other(1);
  ASSERT_TRUE(poll([&] { return Metrics().find("sase_ingress_key_lookups_queued 1\n") != std::string::npos; }));
  // ... and a third finds it full: refused at once.
  auto busy = Post("11111111-2222-3333-4444-000000000003", "?x=1", "{}");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_THAT(busy->body, HasSubstr("key_lookup_backlog"));
  EXPECT_THAT(Metrics(), HasSubstr(R"(outcome="key_lookup_backlog")"));
  // The cached source is served meanwhile.
  for (int i = 0; i < 3; ++i) {
    std::string qi;
    auto res = Post(kIdp, qi,
                    Push(sync_.keys, absl::StrCat(R"({"EventType":"user_leave_org","TimeStamp":")", i + 10,
                                                  R"(","UserId":["u1"]})"),
                         &qi));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(Stored(), 4u);
  {
    std::lock_guard<std::mutex> lock(sync_.mu);
    sync_.hold_other_lookups = false;
    sync_.cv.notify_all();
  }
  for (auto& t : slow) t.join();
  EXPECT_EQ(statuses[0], 404);
  EXPECT_EQ(statuses[1], 404);
}

}  // namespace
}  // namespace sase::ingress

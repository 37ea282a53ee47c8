// End to end: real PostgreSQL + real sync_worker + real ingress processes; the test plays
// DingTalk with the callback crypto library.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "callback/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "store/testing/test_db.h"
#include "common/grpc_security.h"
#include "common/testing/subprocess.h"
#include "common/testing/test_pki.h"

namespace sase {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::HasSubstr;

constexpr char kAesKey[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
constexpr char kToken[] = "tok123";
constexpr char kAppKey[] = "dingappkey0001";
constexpr char kKek[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";  // base64 of 32 bytes

struct Keys {
  std::string token, aes_key, receiver;
};

// A DingTalk push: query string and body for one event JSON.
std::pair<std::string, std::string> MakePush(const Keys& k, const std::string& json, int64_t ts_ms = 0) {
  auto cipher = callback::CallbackCipher::Create(k.aes_key);
  std::string encrypt = *cipher->Encrypt(json, k.receiver);
  std::string ts = absl::StrCat(ts_ms != 0 ? ts_ms : absl::ToUnixMillis(absl::Now()));
  std::string nonce = "abc123";
  std::string sig = callback::ComputeSignature(k.token, ts, nonce, encrypt);
  return {absl::StrCat("?msg_signature=", sig, "&timestamp=", ts, "&nonce=", nonce),
          nlohmann::json{{"encrypt", encrypt}}.dump()};
}

std::string UserEvent(const std::string& type, const std::string& id, const std::string& user) {
  return nlohmann::json{{"EventType", type}, {"eventId", id}, {"EventTime", 1700000000000}, {"userId", {user}}}.dump();
}

class IngressE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    // Port 0 and the port the service logs: a FreePort() could be taken by a parallel test's
    // server before ours binds it, and the test would talk to that one.
    // Every internal call is mutual TLS, as deployed: sync_worker has its own certificate,
    // ingress and this test (the admin) theirs.
    pki_ = std::make_unique<testing::TestPki>(absl::StrCat(::testing::TempDir(), "/ingress_e2e_pki_", getpid()));
    sync_cert_ = pki_->Issue("sync-worker", testing::SpiffeId("sync-worker"));
    ingress_cert_ = pki_->Issue("ingress", testing::SpiffeId("ingress"));
    StartSyncWorker();
    std::vector<std::string> ingress_args = {testing::BinaryPath("services/ingress/ingress"),
                                             "--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
                                             absl::StrCat("--sync_worker_addr=127.0.0.1:", sync_port_),
                                             "--key_refresh_min_age_ms=0", "--rpc_timeout_ms=1000"};
    for (std::string& f : pki_->Flags(ingress_cert_)) ingress_args.push_back(std::move(f));
    ingress_ = std::make_unique<testing::Subprocess>(
        std::move(ingress_args), absl::StrCat(::testing::TempDir(), "/ingress_", getpid(), ".log"));
    http_port_ = ingress_->WaitForLoggedInt("http_port");
    ASSERT_GT(http_port_, 0) << ingress_->Log();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", http_port_);
    auto channel = common::MakeGrpcChannel(absl::StrCat("127.0.0.1:", sync_port_),
                                           pki_->Security(pki_->Issue("admin", testing::SpiffeId("admin/e2e"))));
    idp_stub_ = v1::IdentitySourceService::NewStub(channel);
    CreateSource();
  }

  void StartSyncWorker() {
    setenv("SASE_TEST_KEK", kKek, 1);
    std::vector<std::string> args = {testing::BinaryPath("services/sync_worker/sync_worker"),
                                     absl::StrCat("--listen_addr=127.0.0.1:", sync_port_), "--metrics_addr=127.0.0.1:0",
                                     absl::StrCat("--pg_dsn=", db_->dsn()), "--kek_env=SASE_TEST_KEK",
                                     "--public_host=sase.example.com"};
    for (std::string& f : pki_->Flags(sync_cert_)) args.push_back(std::move(f));
    sync_ = std::make_unique<testing::Subprocess>(
        std::move(args),
        absl::StrCat(::testing::TempDir(), "/sync_worker_", getpid(), "_", ++sync_starts_, ".log"));
    // The first start picks a port (0); a restart reuses it, as ingress is configured with it.
    const int port = sync_->WaitForLoggedInt("grpc_port");
    ASSERT_GT(port, 0) << sync_->Log();
    ASSERT_TRUE(sync_port_ == 0 || port == sync_port_) << sync_->Log();
    sync_port_ = port;
  }

  void CreateSource() {
    grpc::ClientContext ctx;
    v1::CreateIdentitySourceRequest req;
    req.set_tenant_id("acme");
    auto* s = req.mutable_identity_source();
    s->set_name("dingtalk-main");
    s->set_status(v1::ENABLED);
    s->set_corp_id("dingcorp0001");
    s->set_app_key(kAppKey);
    s->set_app_secret("app-secret-value");
    s->set_dingtalk_type(v1::STANDARD);
    s->set_aes_key(kAesKey);
    s->set_token(kToken);
    s->set_sync_cycle_hours(24);
    v1::IdentitySource created;
    grpc::Status st = idp_stub_->CreateIdentitySource(&ctx, req, &created);
    ASSERT_TRUE(st.ok()) << st.error_message();
    idp_id_ = created.idp_id();
  }

  httplib::Result Push(const std::pair<std::string, std::string>& p, const std::string& idp = "") {
    return http_->Post(absl::StrCat("/dingtalk/events/", idp.empty() ? idp_id_ : idp, p.first).c_str(), p.second,
                       "application/json");
  }

  int InboxRows() {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    return tx.exec_params1("SELECT count(*) FROM event_inbox WHERE idp_id = $1::uuid", idp_id_)[0].as<int>();
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<testing::TestPki> pki_;
  testing::TestCert sync_cert_, ingress_cert_;
  int sync_port_ = 0, http_port_ = 0;
  int sync_starts_ = 0;
  std::unique_ptr<testing::Subprocess> sync_, ingress_;
  std::unique_ptr<httplib::Client> http_;
  std::unique_ptr<v1::IdentitySourceService::Stub> idp_stub_;
  std::string idp_id_;
  Keys keys_{kToken, kAesKey, kAppKey};
};

TEST_F(IngressE2eTest, AcknowledgesOnlyAfterCommitAndDeduplicates) {
  auto push = MakePush(keys_, UserEvent("user_add_org", "evt-1", "u1"));
  auto res = Push(push);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(InboxRows(), 1);  // committed before the 200

  auto reply = nlohmann::json::parse(res->body);
  std::string encrypt = reply["encrypt"], ts = reply["timeStamp"], nonce = reply["nonce"];
  EXPECT_EQ(reply["msg_signature"], callback::ComputeSignature(kToken, ts, nonce, encrypt));
  auto opened = callback::CallbackCipher::Create(kAesKey)->Decrypt(encrypt);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->message, "success");
  EXPECT_EQ(opened->receiver_id, kAppKey);

  // Replay of the same push, and DingTalk's retry of the same event with a new signature.
  EXPECT_EQ(Push(push)->status, 200);
  EXPECT_EQ(Push(MakePush(keys_, UserEvent("user_add_org", "evt-1", "u1")))->status, 200);
  EXPECT_EQ(Push(MakePush(keys_, UserEvent("user_modify_org", "evt-2", "u1")))->status, 200);
  // Legacy layout without eventId: deduplicated on type + time + ids.
  std::string legacy = R"({"EventType":"user_leave_org","TimeStamp":"1700000000001","UserId":["u2"]})";
  EXPECT_EQ(Push(MakePush(keys_, legacy))->status, 200);
  EXPECT_EQ(Push(MakePush(keys_, legacy))->status, 200);
  EXPECT_EQ(InboxRows(), 3);
}

// Many pushes at once, each event pushed twice (DingTalk's retries racing the original): every
// push is acknowledged only after its commit, and the inbox holds each event exactly once.
TEST_F(IngressE2eTest, ConcurrentPushesAndTheirRetriesAreStoredOnce) {
  constexpr int kEvents = 40, kThreads = 16;
  std::vector<std::pair<std::string, std::string>> pushes;
  for (int i = 0; i < kEvents; ++i) {
    pushes.push_back(MakePush(keys_, UserEvent("user_modify_org", absl::StrCat("evt-c", i), "u1")));
    pushes.push_back(MakePush(keys_, UserEvent("user_modify_org", absl::StrCat("evt-c", i), "u1")));
  }
  std::atomic<int> next{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", http_port_);
      for (int i = next++; i < static_cast<int>(pushes.size()); i = next++) {
        auto res = client.Post(absl::StrCat("/dingtalk/events/", idp_id_, pushes[static_cast<size_t>(i)].first).c_str(),
                               pushes[static_cast<size_t>(i)].second, "application/json");
        if (res && res->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2 * kEvents);
  EXPECT_EQ(InboxRows(), kEvents);
}

// Zero trust inside: sync_worker answers only callers whose certificate names a role admitted to
// the method. ingress's own certificate cannot use the admin API; no certificate, no connection.
TEST_F(IngressE2eTest, InternalCallsNeedACertificateOfAnAdmittedRole) {
  const std::string target = absl::StrCat("127.0.0.1:", sync_port_);
  auto as_ingress = v1::IdentitySourceService::NewStub(common::MakeGrpcChannel(target, pki_->Security(ingress_cert_)));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ListIdentitySourcesRequest list;
  list.set_tenant_id("acme");
  v1::ListIdentitySourcesResponse sources;
  grpc::Status refused = as_ingress->ListIdentitySources(&ctx, list, &sources);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << refused.error_message();
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("spiffe://sase.internal/ingress may not call"));
  EXPECT_EQ(sources.identity_sources_size(), 0);
  EXPECT_NE(sync_->Log().find("grpc call refused"), std::string::npos);

  auto plaintext = v1::IdentitySourceService::NewStub(common::MakeGrpcChannel(target, common::GrpcSecurity::Plaintext()));
  grpc::ClientContext ctx2;
  ctx2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(plaintext->ListIdentitySources(&ctx2, list, &sources).error_code(), grpc::StatusCode::UNAVAILABLE);

  // Meanwhile ingress, with its certificate, stores pushes as ever.
  auto r = Push(MakePush(keys_, UserEvent("user_add_org", "mtls-1", "u1")));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(InboxRows(), 1);
}

TEST_F(IngressE2eTest, CheckUrlIsAnsweredWithoutStoring) {
  auto res = Push(MakePush(keys_, R"({"EventType":"check_url"})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("msg_signature"));
  EXPECT_EQ(InboxRows(), 0);
}

TEST_F(IngressE2eTest, BadPushesStoreNothing) {
  auto good = MakePush(keys_, UserEvent("user_add_org", "evt-9", "u9"));
  std::string bad_sig = good.first;
  bad_sig.replace(bad_sig.find("msg_signature=") + 14, 6, "ffffff");
  EXPECT_EQ(Push({bad_sig, good.second})->status, 401);
  EXPECT_EQ(Push(good, "11111111-2222-3333-4444-555555555555")->status, 404);
  EXPECT_EQ(Push({good.first, "{]"})->status, 400);
  EXPECT_EQ(Push(MakePush({kToken, kAesKey, "other-receiver"}, UserEvent("user_add_org", "e", "u")))->status, 400);
  EXPECT_EQ(Push(MakePush(keys_, UserEvent("user_add_org", "e", "u"),
                          absl::ToUnixMillis(absl::Now()) - 3 * 3600 * 1000))
                ->status,
            401);
  EXPECT_EQ(Push({good.first, std::string(100000, 'x')})->status, 413);
  EXPECT_EQ(InboxRows(), 0);
}

TEST_F(IngressE2eTest, RotatedKeysWorkWithoutRestart) {
  ASSERT_EQ(Push(MakePush(keys_, UserEvent("user_add_org", "evt-1", "u1")))->status, 200);
  Keys rotated{"rotated-token", "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj", kAppKey};
  grpc::ClientContext ctx;
  v1::UpdateIdentitySourceRequest req;
  req.set_tenant_id("acme");
  req.mutable_identity_source()->set_idp_id(idp_id_);
  req.mutable_identity_source()->set_aes_key(rotated.aes_key);
  req.mutable_identity_source()->set_token(rotated.token);
  req.mutable_update_mask()->add_paths("aes_key");
  req.mutable_update_mask()->add_paths("token");
  v1::IdentitySource updated;
  ASSERT_TRUE(idp_stub_->UpdateIdentitySource(&ctx, req, &updated).ok());
  auto res = Push(MakePush(rotated, UserEvent("user_add_org", "evt-2", "u2")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  // The old keys no longer verify.
  EXPECT_EQ(Push(MakePush(keys_, UserEvent("user_add_org", "evt-3", "u3")))->status, 401);
  EXPECT_EQ(InboxRows(), 2);
}

// Readiness follows the backend (liveness does not): while sync_worker is down /readyz answers
// 503 and /healthz stays 200; both are 200 again once it is back.
TEST_F(IngressE2eTest, ReadinessFollowsTheBackendLivenessDoesNot) {
  auto status_of = [&](const char* path) {
    auto r = http_->Get(path);
    return r ? r->status : -1;
  };
  auto eventually = [&](const char* path, int want) {
    for (int i = 0; i < 200 && status_of(path) != want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return status_of(path);
  };
  EXPECT_EQ(eventually("/readyz", 200), 200);
  sync_->Stop();
  EXPECT_EQ(eventually("/readyz", 503), 503);
  auto body = http_->Get("/readyz");
  ASSERT_TRUE(body);
  EXPECT_EQ(body->body, "{\"error\":\"backend_unavailable\"}");
  EXPECT_EQ(status_of("/healthz"), 200) << "liveness stays up: restarting ingress would not help";
  StartSyncWorker();
  EXPECT_EQ(eventually("/readyz", 200), 200);
  auto post = http_->Post("/readyz", "", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(IngressE2eTest, SyncWorkerDownIs503ThenRecovers) {
  ASSERT_EQ(Push(MakePush(keys_, UserEvent("user_add_org", "evt-1", "u1")))->status, 200);  // keys cached
  sync_->Stop();
  auto res = Push(MakePush(keys_, UserEvent("user_add_org", "evt-2", "u2")));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(InboxRows(), 1);
  StartSyncWorker();
  // The channel reconnects with back-off; DingTalk would retry after 10 s.
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = Push(MakePush(keys_, UserEvent("user_add_org", "evt-2", "u2")))->status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
  EXPECT_EQ(InboxRows(), 2);
}

}  // namespace
}  // namespace sase

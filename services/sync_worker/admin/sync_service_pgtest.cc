// SyncService (GetCallbackKeys, SubmitEvents) over a real gRPC server, real stub and real PostgreSQL.
#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "sync_worker/testing/service_test_fixture.h"

namespace sase::sync_worker::testing {
namespace {

using ::grpc::ClientContext;
using ::grpc::StatusCode;
using ::testing::ElementsAre;

class SyncServiceTest : public ServiceTest {
 protected:
  grpc::Status Submit(const pb::SubmitEventsRequest& req, pb::SubmitEventsResponse* resp) {
    ClientContext ctx;
    return sync_->SubmitEvents(&ctx, req, resp);
  }
  static pb::InboundEvent Event(const std::string& key, const std::string& type) {
    pb::InboundEvent e;
    e.set_dedupe_key(key);
    e.set_event_type(type);
    e.set_event_time_ms(1663143335567);
    e.add_user_ids("015xxxx227");
    e.add_user_ids("user,with\"quote");
    e.add_department_ids(600582447);
    e.set_payload_json(R"({"EventType":")" + type + R"(","eventId":")" + key + R"("})");
    return e;
  }
};

TEST_F(SyncServiceTest, GetCallbackKeysReturnsDecryptedKeys) {
  pb::IdentitySource a = MustCreate("tenant-a", "src-one");
  pb::GetCallbackKeysRequest req;
  req.set_idp_id(a.idp_id());
  pb::CallbackKeys keys;
  {
    ClientContext ctx;
    ASSERT_TRUE(sync_->GetCallbackKeys(&ctx, req, &keys).ok());
  }
  EXPECT_EQ(keys.tenant_id(), "tenant-a");
  EXPECT_EQ(keys.idp_id(), a.idp_id());
  EXPECT_EQ(keys.status(), pb::ENABLED);
  EXPECT_EQ(keys.app_key(), "dingappkey123");
  EXPECT_EQ(keys.corp_id(), "dingcorp123");
  EXPECT_EQ(keys.aes_key(), kAesKey);
  EXPECT_EQ(keys.token(), kToken);
  EXPECT_EQ(keys.version(), 1);
  EXPECT_FALSE(keys.accept_corp_id_receiver());

  pb::GetCallbackKeysRequest bad;
  bad.set_idp_id("not-a-uuid");
  ClientContext c1;
  EXPECT_TRUE(IsInvalid(sync_->GetCallbackKeys(&c1, bad, &keys), "idp_id"));
  bad.set_idp_id("00000000-0000-4000-8000-000000000000");
  ClientContext c2;
  EXPECT_EQ(sync_->GetCallbackKeys(&c2, bad, &keys).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(SyncServiceTest, SubmitEventsStoresAndDeduplicates) {
  pb::IdentitySource a = MustCreate("tenant-a", "src-one");
  pb::SubmitEventsRequest req;
  req.set_tenant_id("tenant-a");
  req.set_idp_id(a.idp_id());
  *req.add_events() = Event("ev-1", "user_add_org");
  *req.add_events() = Event("ev-2", "user_modify_org");
  *req.add_events() = Event("ev-1", "user_add_org");  // repeated within the batch
  pb::SubmitEventsResponse resp;
  ASSERT_TRUE(Submit(req, &resp).ok());
  EXPECT_EQ(resp.accepted(), 2);
  EXPECT_EQ(resp.duplicates(), 1);
  EXPECT_THAT(resp.duplicate(), ElementsAre(false, false, true));
  // Committed before the reply: a fresh connection sees the rows.
  EXPECT_EQ(Count("SELECT count(*) FROM event_inbox WHERE tenant_id = 'tenant-a' AND state = 0"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM event_inbox WHERE dedupe_key = 'ev-1' AND event_type = 'user_add_org' AND "
                  "event_time_ms = 1663143335567 AND user_ids = ARRAY['015xxxx227', 'user,with\"quote'] AND "
                  "dept_ids = ARRAY[600582447::bigint] AND payload LIKE '%eventId%'"),
            1);

  pb::SubmitEventsRequest again;
  again.set_tenant_id("tenant-a");
  again.set_idp_id(a.idp_id());
  *again.add_events() = Event("ev-2", "user_modify_org");
  *again.add_events() = Event("ev-3", "org_dept_create");
  ASSERT_TRUE(Submit(again, &resp).ok());
  EXPECT_EQ(resp.accepted(), 1);
  EXPECT_EQ(resp.duplicates(), 1);
  EXPECT_THAT(resp.duplicate(), ElementsAre(true, false));  // per event, in request order
  EXPECT_EQ(Count("SELECT count(*) FROM event_inbox"), 3);

  // An empty batch is a no-op.
  pb::SubmitEventsRequest empty;
  empty.set_tenant_id("tenant-a");
  empty.set_idp_id(a.idp_id());
  ASSERT_TRUE(Submit(empty, &resp).ok());
  EXPECT_EQ(resp.accepted(), 0);
}

TEST_F(SyncServiceTest, SubmitEventsRejectsBadInputAndWritesNothing) {
  pb::IdentitySource a = MustCreate("tenant-a", "src-one");
  std::string before = Snapshot();
  pb::SubmitEventsResponse resp;
  auto base = [&]() {
    pb::SubmitEventsRequest req;
    req.set_tenant_id("tenant-a");
    req.set_idp_id(a.idp_id());
    *req.add_events() = Event("ok-1", "user_add_org");
    return req;
  };
  pb::SubmitEventsRequest req = base();
  req.clear_tenant_id();
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "tenant_id"));
  req = base();
  req.set_idp_id("bad");
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "idp_id"));
  req = base();
  *req.add_events() = Event("", "user_add_org");
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "events[1].dedupe_key"));
  req = base();
  *req.add_events() = Event("k2", "");
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "events[1].event_type"));
  req = base();
  req.mutable_events(0)->add_department_ids(-1);
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "events[0].department_ids[1]"));
  req = base();
  req.mutable_events(0)->set_event_time_ms(-5);
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "events[0].event_time_ms"));
  req = base();
  for (int i = 0; i < SyncServiceImpl::kMaxEventsPerCall; ++i) *req.add_events() = Event("k" + std::to_string(i), "x");
  EXPECT_TRUE(IsInvalid(Submit(req, &resp), "events"));

  // The tenant must own the identity source; unknown sources are NOT_FOUND.
  req = base();
  req.set_tenant_id("tenant-b");
  EXPECT_EQ(Submit(req, &resp).error_code(), StatusCode::NOT_FOUND);
  req = base();
  req.set_idp_id("00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(Submit(req, &resp).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);
}

// Every RPC that takes an identity-source id accepts any spelling of it as the same source and
// answers with the canonical one. Before, GetCallbackKeys and TestConnectivity could not open the
// secrets (bound to the canonical id) and answered INTERNAL, and SubmitEvents answered NOT_FOUND.
TEST_F(SyncServiceTest, UpperCaseSourceIdIsTheSameSourceAtEveryEntryPoint) {
  pb::IdentitySource a = MustCreate("tenant-a", "src-one");
  const std::string upper = absl::AsciiStrToUpper(a.idp_id());
  {
    pb::GetCallbackKeysRequest req;
    req.set_idp_id(upper);
    pb::CallbackKeys keys;
    ClientContext ctx;
    ASSERT_TRUE(sync_->GetCallbackKeys(&ctx, req, &keys).ok());
    EXPECT_EQ(keys.idp_id(), a.idp_id());
    EXPECT_EQ(keys.token(), kToken);
  }
  {
    pb::SubmitEventsRequest req;
    req.set_tenant_id("tenant-a");
    req.set_idp_id(upper);
    *req.add_events() = Event("k-upper", "user_add_org");
    pb::SubmitEventsResponse resp;
    ASSERT_TRUE(Submit(req, &resp).ok());
    EXPECT_EQ(resp.accepted(), 1);
    req.set_idp_id(a.idp_id());
    ASSERT_TRUE(Submit(req, &resp).ok());
    EXPECT_EQ(resp.duplicates(), 1);
  }
  {
    pb::GetIdentitySourceRequest req;
    req.set_tenant_id("tenant-a");
    req.set_idp_id(upper);
    pb::IdentitySource got;
    ClientContext ctx;
    ASSERT_TRUE(idsrc_->GetIdentitySource(&ctx, req, &got).ok());
    EXPECT_EQ(got.idp_id(), a.idp_id());
  }
  {
    pb::TestConnectivityRequest req;
    req.set_tenant_id("tenant-a");
    req.set_idp_id(upper);
    pb::TestConnectivityResponse resp;
    ClientContext ctx;
    grpc::Status s = idsrc_->TestConnectivity(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.steps_size(), 1);
    EXPECT_EQ(resp.steps(0).reason(), "unreachable");  // this fixture has no DingTalk
  }
  {
    pb::StartSyncRequest req;
    req.set_tenant_id("tenant-a");
    req.set_idp_id(upper);
    pb::SyncRun run;
    ClientContext ctx;
    ASSERT_TRUE(sync_->StartSync(&ctx, req, &run).ok());
    EXPECT_EQ(run.idp_id(), a.idp_id());
    pb::ListSyncRunsRequest list;
    list.set_tenant_id("tenant-a");
    list.set_idp_id(upper);
    pb::ListSyncRunsResponse runs;
    ClientContext ctx2;
    ASSERT_TRUE(sync_->ListSyncRuns(&ctx2, list, &runs).ok());
    EXPECT_EQ(runs.runs_size(), 1);
  }
}

// The run RPCs are exercised end to end in full_sync_pgtest; here: each names the bad field and
// writes nothing.
TEST_F(SyncServiceTest, RunRpcsNameTheBadField) {
  pb::SyncRun run;
  {
    pb::StartSyncRequest req;
    ClientContext ctx;
    EXPECT_TRUE(IsInvalid(sync_->StartSync(&ctx, req, &run), "tenant_id"));
    req.set_tenant_id("t1");
    req.set_idp_id("nope");
    ClientContext ctx2;
    EXPECT_TRUE(IsInvalid(sync_->StartSync(&ctx2, req, &run), "idp_id"));
  }
  {
    pb::GetSyncRunRequest req;
    req.set_tenant_id("t1");
    ClientContext ctx;
    EXPECT_TRUE(IsInvalid(sync_->GetSyncRun(&ctx, req, &run), "run_id"));
  }
  {
    pb::ListSyncRunsRequest req;
    req.set_tenant_id("t1");
    req.set_page_token("garbage");
    pb::ListSyncRunsResponse resp;
    ClientContext ctx;
    EXPECT_TRUE(IsInvalid(sync_->ListSyncRuns(&ctx, req, &resp), "page_token"));
  }
  {
    pb::ApproveDeletionsRequest req;
    req.set_tenant_id("t1");
    req.set_run_id("00000000-0000-4000-8000-000000000000");
    ClientContext ctx;
    EXPECT_EQ(sync_->ApproveDeletions(&ctx, req, &run).error_code(), StatusCode::NOT_FOUND);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM sync_runs"), 0);
}

}  // namespace
}  // namespace sase::sync_worker::testing

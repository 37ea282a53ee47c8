#include "ingress/grpc_backends.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sase/dingtalk/v1/login.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"

namespace sase::ingress {
namespace v1 = ::sase::dingtalk::v1;

KeyFetcher MakeGrpcKeyFetcher(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout) {
  std::shared_ptr<v1::SyncService::Stub> stub = v1::SyncService::NewStub(channel);
  return [stub, timeout](const std::string& idp_id) -> absl::StatusOr<SourceKeys> {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::GetCallbackKeysRequest req;
    req.set_idp_id(idp_id);
    v1::CallbackKeys resp;
    grpc::Status st = stub->GetCallbackKeys(&ctx, req, &resp);
    if (!st.ok()) return common::FromGrpcStatus(st);
    SourceKeys keys;
    keys.tenant_id = resp.tenant_id();
    keys.enabled = resp.status() == v1::ENABLED;
    keys.version = resp.version();
    keys.keys.token = resp.token();
    keys.keys.aes_key = resp.aes_key();
    keys.keys.app_key = resp.app_key();
    keys.keys.corp_id = resp.corp_id();
    keys.keys.accept_corp_id_receiver = resp.accept_corp_id_receiver();
    return keys;
  };
}

AsyncBatchSink MakeGrpcBatchSink(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout) {
  std::shared_ptr<v1::SyncService::Stub> stub = v1::SyncService::NewStub(channel);
  struct Call {
    grpc::ClientContext ctx;
    v1::SubmitEventsRequest req;
    v1::SubmitEventsResponse resp;
    BatchDone done;
  };
  return [stub, timeout](const std::string& tenant_id, const std::string& idp_id,
                         const std::vector<const callback::Event*>& events, BatchDone done) {
    auto call = std::make_shared<Call>();
    call->done = std::move(done);
    call->ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::SubmitEventsRequest& req = call->req;
    req.set_tenant_id(tenant_id);
    req.set_idp_id(idp_id);
    req.mutable_events()->Reserve(static_cast<int>(events.size()));
    for (const callback::Event* event : events) {
      v1::InboundEvent* e = req.add_events();
      e->set_dedupe_key(event->dedupe_key);
      e->set_event_type(event->event_type);
      e->set_event_time_ms(event->event_time_ms);
      for (const std::string& u : event->user_ids) e->add_user_ids(u);
      for (int64_t d : event->dept_ids) e->add_department_ids(d);
      e->set_payload_json(event->raw_json);
    }
    stub->async()->SubmitEvents(&call->ctx, &call->req, &call->resp, [call](grpc::Status st) {
      if (!st.ok()) {
        call->done(common::FromGrpcStatus(st));
      } else {
        const v1::SubmitEventsResponse& resp = call->resp;
        call->done(BatchResult{resp.accepted(), resp.duplicates(),
                               std::vector<bool>(resp.duplicate().begin(), resp.duplicate().end())});
      }
    });
  };
}

std::function<absl::Status()> MakeGrpcReadinessCheck(std::shared_ptr<grpc::Channel> channel,
                                                     std::chrono::milliseconds timeout) {
  std::shared_ptr<grpc::health::v1::Health::Stub> stub = grpc::health::v1::Health::NewStub(channel);
  return [stub, timeout]() -> absl::Status {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    // Waiting for the channel (up to the deadline) is what drives a reconnect: a synchronous
    // client has no poller of its own, and a fail-fast call returns at once, so a connection
    // attempt to a restarted sync_worker would only progress on gRPC's 5 s backup poll, one TLS
    // round trip at a time, and readiness would lag the backend by tens of seconds.
    ctx.set_wait_for_ready(true);
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(v1::SyncService::service_full_name());
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = stub->Check(&ctx, req, &resp);
    if (!st.ok()) {
      return absl::UnavailableError(absl::StrCat("sync_worker unreachable: ", st.error_message()));
    }
    if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::UnavailableError("sync_worker not serving (its database is unreachable)");
    }
    return absl::OkStatus();
  };
}

namespace {

class GrpcLoginBackend final : public LoginBackend {
 public:
  GrpcLoginBackend(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(v1::LoginService::NewStub(channel)), timeout_(timeout) {}

  absl::StatusOr<v1::GetLoginOptionsResponse> GetLoginOptions(const v1::GetLoginOptionsRequest& req) override {
    return Call<v1::GetLoginOptionsResponse>(
        [&](grpc::ClientContext* ctx, v1::GetLoginOptionsResponse* resp) { return stub_->GetLoginOptions(ctx, req, resp); });
  }
  absl::StatusOr<v1::CompleteLoginResponse> CompleteLogin(const v1::CompleteLoginRequest& req) override {
    return Call<v1::CompleteLoginResponse>(
        [&](grpc::ClientContext* ctx, v1::CompleteLoginResponse* resp) { return stub_->CompleteLogin(ctx, req, resp); });
  }
  absl::StatusOr<std::string> GetJwks() override {
    absl::StatusOr<v1::GetJwksResponse> r = Call<v1::GetJwksResponse>(
        [&](grpc::ClientContext* ctx, v1::GetJwksResponse* resp) { return stub_->GetJwks(ctx, v1::GetJwksRequest(), resp); });
    if (!r.ok()) return r.status();
    return r->jwks_json();
  }

 private:
  template <typename Resp, typename Fn>
  absl::StatusOr<Resp> Call(Fn&& fn) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    // A person is waiting: ride out a reconnect to sync_worker within the deadline instead of
    // failing at once while the channel is between connection attempts.
    ctx.set_wait_for_ready(true);
    Resp resp;
    grpc::Status st = fn(&ctx, &resp);
    if (!st.ok()) return common::FromGrpcStatus(st);
    return resp;
  }

  std::unique_ptr<v1::LoginService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<LoginBackend> MakeGrpcLoginBackend(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcLoginBackend>(std::move(channel), timeout);
}

}  // namespace sase::ingress

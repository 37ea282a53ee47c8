#pragma once
// sase.dingtalk.v1.LoginService: logging on with DingTalk, the half that needs the database, the
// AppSecret and the signing key (ingress has none of them).
//
// CompleteLogin, in order: the source exists (idp_unknown) and is ENABLED (idp_closed); the
// client redirect is on its allow-list (redirect_not_allowed); the state's nonce is unused
// (state_reused; consumed now, in PostgreSQL, so once across every replica); DingTalk exchanges
// the code (OAuth: userAccessToken → users/me → getbyunionid; in-app: getuserinfo) on the
// client's interactive lane, so a running bulk sync never delays a logon; the user is synced
// (user_not_synced) and neither departed nor disabled; then an ES256 assertion is signed.
// A refusal writes nothing but the consumed nonce; it is counted by reason and logged
// (rate-limited) without any code, token or personal data.

#include <atomic>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/log.h"
#include "login/assertion_signer.h"
#include "sase/dingtalk/v1/login.grpc.pb.h"
#include "store/login_repository.h"
#include "sync_worker/source/source_config.h"

namespace prometheus {
class Registry;
}

namespace sase::sync_worker {

struct LoginServiceOptions {
  std::string issuer;    // the assertion's iss
  std::string audience;  // the assertion's aud
  absl::Duration assertion_lifetime = absl::Minutes(5);
  // Longest a state (and so its nonce) can live; a nonce is kept at most this long.
  absl::Duration max_state_lifetime = absl::Minutes(10);
};

class LoginServiceImpl final : public ::sase::dingtalk::v1::LoginService::Service {
 public:
  LoginServiceImpl(store::LoginRepository& repo, SourceClients& clients, const login::AssertionSigner& signer,
                   common::Clock& clock, prometheus::Registry& registry, LoginServiceOptions options);
  ~LoginServiceImpl() override;

  // Publishes the signing key (and any pre-published next key) so verifiers know it before the
  // first assertion. Retried by CompleteLogin and GetJwks while it fails.
  absl::Status PublishKeys();

  grpc::Status GetLoginOptions(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::GetLoginOptionsRequest* req,
                               ::sase::dingtalk::v1::GetLoginOptionsResponse* resp) override;
  grpc::Status CompleteLogin(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::CompleteLoginRequest* req,
                             ::sase::dingtalk::v1::CompleteLoginResponse* resp) override;
  grpc::Status GetJwks(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::GetJwksRequest* req,
                       ::sase::dingtalk::v1::GetJwksResponse* resp) override;

 private:
  struct Metrics;
  struct Identity;
  // The DingTalk userid behind the code, or a refusal.
  absl::StatusOr<Identity> Exchange(const SourceConfig& src, const ::sase::dingtalk::v1::CompleteLoginRequest& req);
  absl::Status Complete(const ::sase::dingtalk::v1::CompleteLoginRequest& req,
                        ::sase::dingtalk::v1::CompleteLoginResponse* resp);
  void Refuse(::sase::dingtalk::v1::LoginRefusal refusal, std::string detail,
              const ::sase::dingtalk::v1::CompleteLoginRequest& req, ::sase::dingtalk::v1::CompleteLoginResponse* resp);
  absl::Status KeepKeyPublished();
  void MaybePurgeNonces();

  store::LoginRepository& repo_;
  SourceClients& clients_;
  const login::AssertionSigner& signer_;
  common::Clock& clock_;
  LoginServiceOptions options_;
  std::unique_ptr<Metrics> metrics_;
  common::LogLimiter log_limiter_{5};
  std::atomic<int64_t> key_touched_us_{0};   // last successful TouchSigningKey (unix µs), 0: never
  std::atomic<int64_t> nonces_purged_us_{0};
};

}  // namespace sase::sync_worker

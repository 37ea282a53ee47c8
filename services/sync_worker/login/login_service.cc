#include "sync_worker/login/login_service.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/timestamp.h"
#include "common/validation.h"
#include "dingtalk/error.h"
#include "login/refusal_name.h"

namespace sase::sync_worker {
namespace pb = ::sase::dingtalk::v1;
using login::LoginRefusalName;
namespace {

constexpr absl::Duration kKeyTouchInterval = absl::Seconds(30);
constexpr absl::Duration kNoncePurgeInterval = absl::Minutes(1);
constexpr size_t kMaxCodeBytes = 512;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string_view FlowName(pb::LoginFlow f) {
  switch (f) {
    case pb::OAUTH:
      return "oauth";
    case pb::QR:
      return "qr";
    case pb::IN_APP:
      return "in_app";
    default:
      return "unspecified";
  }
}

std::string TitleOf(const store::LoginSourceRecord& s) { return s.description.empty() ? s.name : s.description; }

void ToProto(const store::LoginSourceRecord& s, pb::LoginOption* out) {
  out->set_tenant_id(s.tenant_id);
  out->set_idp_id(s.idp_id);
  out->set_title(TitleOf(s));
  out->set_status(static_cast<pb::IdentitySourceStatus>(s.status));
  out->set_client_id(s.app_key);
  out->set_corp_id(s.corp_id);
  out->set_dingtalk_type(static_cast<pb::DingTalkType>(s.dingtalk_type));
  for (const std::string& u : s.redirect_uris) out->add_redirect_uris(u);
}

// A refusal travels inside Exchange's status as this payload.
constexpr char kRefusalPayload[] = "sase.login/refusal";

absl::Status Refusal(pb::LoginRefusal r, const std::string& detail) {
  absl::Status s = absl::FailedPreconditionError(detail);
  s.SetPayload(kRefusalPayload, absl::Cord(std::to_string(static_cast<int>(r))));
  return s;
}

std::optional<pb::LoginRefusal> RefusalOf(const absl::Status& s) {
  absl::optional<absl::Cord> p = s.GetPayload(kRefusalPayload);
  if (!p.has_value()) return std::nullopt;
  int v = 0;
  if (!absl::SimpleAtoi(std::string(*p), &v) || !pb::LoginRefusal_IsValid(v)) return std::nullopt;
  return static_cast<pb::LoginRefusal>(v);
}

// A DingTalk failure during the exchange, as a refusal. The detail is the reason class and
// DingTalk's own code: never the code, a token or the message (which may echo user data).
absl::Status FromDingTalk(const absl::Status& s, const std::string& step) {
  const dingtalk::ApiError reason = dingtalk::ReasonOf(s);
  const std::string detail =
      absl::StrCat(step, ": ", std::string(dingtalk::ReasonName(reason)),
                   dingtalk::DingTalkCodeOf(s).empty() ? "" : absl::StrCat(" (", dingtalk::DingTalkCodeOf(s), ")"));
  switch (reason) {
    case dingtalk::ApiError::kInvalidAuthCode: {
      // DingTalk answers the same code (40078 / invalidAuthCode) for unknown, used and expired
      // codes; only the message tells expiry apart (PROTOCOL.md §5.8: either answer is handled).
      const bool expired = absl::StrContains(s.message(), "过期") ||
                           absl::StrContains(absl::AsciiStrToLower(s.message()), "expire");
      return Refusal(expired ? pb::LOGIN_REFUSAL_CODE_EXPIRED : pb::LOGIN_REFUSAL_CODE_INVALID, detail);
    }
    case dingtalk::ApiError::kNotFound:
    case dingtalk::ApiError::kOutOfScope:
      return Refusal(pb::LOGIN_REFUSAL_NOT_MEMBER_OF_CORP, detail);
    case dingtalk::ApiError::kThrottled:
    case dingtalk::ApiError::kUnreachable:
    case dingtalk::ApiError::kQuotaExhausted:
    case dingtalk::ApiError::kBadResponse:
      return Refusal(pb::LOGIN_REFUSAL_DINGTALK_UNAVAILABLE, detail);
    case dingtalk::ApiError::kInvalidArgument:
      // A bad or used code at users/me (the user's token) or a malformed code.
      return Refusal(pb::LOGIN_REFUSAL_CODE_INVALID, detail);
    default:
      return Refusal(pb::LOGIN_REFUSAL_DINGTALK_DENIED, detail);
  }
}

}  // namespace


struct LoginServiceImpl::Identity {
  std::string dingtalk_userid;
};

struct LoginServiceImpl::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : logins(prometheus::BuildCounter()
                   .Name("sase_login_total")
                   .Help("Logon completions by flow and outcome (ok or a refusal reason code)")
                   .Register(r)),
        latency(prometheus::BuildHistogram()
                    .Name("sase_login_seconds")
                    .Help("CompleteLogin duration including DingTalk's calls, by flow")
                    .Register(r)) {
    for (pb::LoginFlow f : {pb::OAUTH, pb::QR, pb::IN_APP}) {
      const std::string flow(FlowName(f));
      by_flow[flow] = &latency.Add({{"flow", flow}}, prometheus::Histogram::BucketBoundaries{
                                                         0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5});
      for (int v = pb::LoginRefusal_MIN; v <= pb::LoginRefusal_MAX; ++v) {
        if (!pb::LoginRefusal_IsValid(v)) continue;
        const std::string outcome = LoginRefusalName(static_cast<pb::LoginRefusal>(v));
        counts[absl::StrCat(flow, "|", outcome)] = &logins.Add({{"flow", flow}, {"outcome", outcome}});
      }
    }
  }
  void Count(pb::LoginFlow flow, pb::LoginRefusal r, double seconds) {
    const std::string f(FlowName(flow));
    auto c = counts.find(absl::StrCat(f, "|", LoginRefusalName(r)));
    if (c != counts.end()) c->second->Increment();
    auto h = by_flow.find(f);
    if (h != by_flow.end()) h->second->Observe(seconds);
  }
  prometheus::Family<prometheus::Counter>& logins;
  prometheus::Family<prometheus::Histogram>& latency;
  absl::flat_hash_map<std::string, prometheus::Counter*> counts;   // read-only after construction
  absl::flat_hash_map<std::string, prometheus::Histogram*> by_flow;  // read-only after construction
};

LoginServiceImpl::LoginServiceImpl(store::LoginRepository& repo, SourceClients& clients,
                                   const login::AssertionSigner& signer, common::Clock& clock,
                                   prometheus::Registry& registry, LoginServiceOptions options)
    : repo_(repo),
      clients_(clients),
      signer_(signer),
      clock_(clock),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>(registry)) {}

LoginServiceImpl::~LoginServiceImpl() = default;

absl::Status LoginServiceImpl::PublishKeys() {
  for (const nlohmann::json& jwk : signer_.PublicJwks()) {
    RETURN_IF_ERROR(repo_.TouchSigningKey(jwk.value("kid", ""), jwk.dump()));
  }
  key_touched_us_.store(absl::ToUnixMicros(clock_.Now()));
  return absl::OkStatus();
}

absl::Status LoginServiceImpl::KeepKeyPublished() {
  const int64_t last = key_touched_us_.load();
  if (last != 0 && clock_.Now() - absl::FromUnixMicros(last) < kKeyTouchInterval) return absl::OkStatus();
  return PublishKeys();
}

void LoginServiceImpl::MaybePurgeNonces() {
  const int64_t now_us = absl::ToUnixMicros(clock_.Now());
  int64_t last = nonces_purged_us_.load();
  if (now_us - last < absl::ToInt64Microseconds(kNoncePurgeInterval)) return;
  if (!nonces_purged_us_.compare_exchange_strong(last, now_us)) return;  // another call purges
  absl::StatusOr<int64_t> purged = repo_.PurgeExpiredNonces();
  if (!purged.ok()) {
    common::LogWarn("login nonce purge failed", {{"reason", std::string(purged.status().message())}});
  }
}

grpc::Status LoginServiceImpl::GetLoginOptions(grpc::ServerContext*, const pb::GetLoginOptionsRequest* req,
                                               pb::GetLoginOptionsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    switch (req->selector_case()) {
      case pb::GetLoginOptionsRequest::kEnterpriseId: {
        if (req->enterprise_id().empty() || req->enterprise_id().size() > 64) {
          return absl::InvalidArgumentError("enterprise_id: 1-64 characters");
        }
        ASSIGN_OR_RETURN(std::vector<store::LoginSourceRecord> sources,
                         repo_.ListEnabledForEnterprise(req->enterprise_id()));
        for (const store::LoginSourceRecord& s : sources) ToProto(s, resp->add_options());
        return absl::OkStatus();
      }
      case pb::GetLoginOptionsRequest::kIdpId: {
        RETURN_IF_ERROR(common::ValidateUuid("idp_id", req->idp_id()));
        ASSIGN_OR_RETURN(store::LoginSourceRecord s, repo_.GetSource(common::CanonicalUuid(req->idp_id())));
        ToProto(s, resp->add_options());
        return absl::OkStatus();
      }
      default:
        return absl::InvalidArgumentError("selector: set enterprise_id or idp_id");
    }
  });
}

grpc::Status LoginServiceImpl::GetJwks(grpc::ServerContext*, const pb::GetJwksRequest*, pb::GetJwksResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(KeepKeyPublished());
    // Every key that signed within the longest assertion lifetime (plus clock skew), on any
    // replica, after the keys this process holds.
    ASSIGN_OR_RETURN(std::vector<std::string> recent,
                     repo_.RecentSigningKeys(options_.assertion_lifetime + absl::Minutes(2)));
    std::vector<nlohmann::json> keys = signer_.PublicJwks();
    for (const std::string& j : recent) {
      nlohmann::json k = nlohmann::json::parse(j, nullptr, false);
      if (k.is_object()) keys.push_back(std::move(k));
    }
    resp->set_jwks_json(login::JwksDocument(keys));
    return absl::OkStatus();
  });
}

void LoginServiceImpl::Refuse(pb::LoginRefusal refusal, std::string detail, const pb::CompleteLoginRequest& req,
                              pb::CompleteLoginResponse* resp) {
  resp->Clear();
  resp->set_refusal(refusal);
  resp->set_refusal_detail(detail);
  const std::string reason = LoginRefusalName(refusal);
  int64_t suppressed = 0;
  if (log_limiter_.Allow(reason, &suppressed)) {
    common::LogInfo("login refused", {{"idp_id", req.idp_id()},
                                      {"flow", std::string(FlowName(req.flow()))},
                                      {"reason", reason},
                                      {"detail", detail},
                                      {"suppressed", suppressed}});
  }
}

absl::StatusOr<LoginServiceImpl::Identity> LoginServiceImpl::Exchange(const SourceConfig& src,
                                                                      const pb::CompleteLoginRequest& req) {
  ASSIGN_OR_RETURN(std::shared_ptr<dingtalk::Client> client, clients_.ClientFor(src));
  const dingtalk::CallOptions lane = dingtalk::CallOptions::Interactive();
  if (req.flow() == pb::IN_APP) {
    absl::StatusOr<dingtalk::FreeLoginUser> u = client->GetUserInfoByCode(req.auth_code(), lane);
    if (!u.ok()) return FromDingTalk(u.status(), "getuserinfo");
    return Identity{u->userid};
  }
  absl::StatusOr<dingtalk::UserAccessToken> token = client->ExchangeUserAuthCode(req.auth_code(), lane);
  if (!token.ok()) return FromDingTalk(token.status(), "userAccessToken");
  // With scope "openid corpid" DingTalk names the organisation the user picked.
  if (!token->corp_id.empty() && !src.record.corp_id.empty() && token->corp_id != src.record.corp_id) {
    return Refusal(pb::LOGIN_REFUSAL_NOT_MEMBER_OF_CORP, "userAccessToken: another organisation was chosen");
  }
  absl::StatusOr<dingtalk::Me> me = client->GetMe(token->access_token, lane);
  if (!me.ok()) return FromDingTalk(me.status(), "users/me");
  absl::StatusOr<dingtalk::UnionIdLookup> who = client->GetUserIdByUnionId(me->union_id, lane);
  if (!who.ok()) return FromDingTalk(who.status(), "getbyunionid");
  if (who->contact_type != 0) return Refusal(pb::LOGIN_REFUSAL_NOT_MEMBER_OF_CORP, "getbyunionid: an external contact");
  return Identity{who->userid};
}

absl::Status LoginServiceImpl::Complete(const pb::CompleteLoginRequest& req, pb::CompleteLoginResponse* resp) {
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", req.idp_id()));
  if (req.flow() != pb::OAUTH && req.flow() != pb::QR && req.flow() != pb::IN_APP) {
    return absl::InvalidArgumentError("flow: must be OAUTH, QR or IN_APP");
  }
  if (req.auth_code().empty() || req.auth_code().size() > kMaxCodeBytes) {
    return absl::InvalidArgumentError(absl::StrCat("auth_code: 1-", kMaxCodeBytes, " bytes"));
  }
  if (req.nonce().empty() || req.nonce().size() > 128) return absl::InvalidArgumentError("nonce: 1-128 characters");
  if (!req.has_nonce_expire_time()) return absl::InvalidArgumentError("nonce_expire_time: required");
  if (req.redirect_uri().empty()) return absl::InvalidArgumentError("redirect_uri: required");
  const std::string idp_id = common::CanonicalUuid(req.idp_id());
  MaybePurgeNonces();

  absl::StatusOr<store::LoginSourceRecord> source = repo_.GetSource(idp_id);
  if (absl::IsNotFound(source.status())) return Refusal(pb::LOGIN_REFUSAL_IDP_UNKNOWN, "no such identity source");
  RETURN_IF_ERROR(source.status());
  if (source->status != pb::ENABLED) return Refusal(pb::LOGIN_REFUSAL_IDP_CLOSED, "identity source is closed");
  if (std::find(source->redirect_uris.begin(), source->redirect_uris.end(), req.redirect_uri()) ==
      source->redirect_uris.end()) {
    return Refusal(pb::LOGIN_REFUSAL_REDIRECT_NOT_ALLOWED, "redirect_uri is not on the source's allow-list");
  }
  // Single use across replicas. Kept no longer than a state can live.
  const absl::Time now = clock_.Now();
  const absl::Time keep_until = std::min(FromProto(req.nonce_expire_time()), now + options_.max_state_lifetime);
  ASSIGN_OR_RETURN(bool fresh, repo_.ConsumeNonce(req.nonce(), idp_id, keep_until));
  if (!fresh) return Refusal(pb::LOGIN_REFUSAL_STATE_REUSED, "state already used");

  ASSIGN_OR_RETURN(SourceConfig src, clients_.Load(source->tenant_id, idp_id));
  if (src.app_secret.empty()) return Refusal(pb::LOGIN_REFUSAL_DINGTALK_DENIED, "identity source has no AppSecret");
  ASSIGN_OR_RETURN(Identity who, Exchange(src, req));

  ASSIGN_OR_RETURN(std::optional<store::LoginUserRecord> user, repo_.FindUser(idp_id, who.dingtalk_userid));
  if (!user.has_value()) return Refusal(pb::LOGIN_REFUSAL_USER_NOT_SYNCED, "user is not in the directory");
  if (user->status == pb::USER_DEPARTED) return Refusal(pb::LOGIN_REFUSAL_USER_DEPARTED, "user has left the organisation");
  if (user->status != pb::USER_ACTIVE) return Refusal(pb::LOGIN_REFUSAL_USER_DISABLED, "user is disabled");

  RETURN_IF_ERROR(KeepKeyPublished());  // verifiers must be able to find the key first
  login::AssertionClaims claims;
  claims.issuer = options_.issuer;
  claims.audience = options_.audience;
  claims.subject = user->user_id;
  claims.tenant = user->tenant_id;
  claims.idp = idp_id;
  claims.dingtalk_userid = user->dingtalk_userid;
  claims.name = user->name;
  claims.department_ids = user->dept_ids;
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now()));
  claims.lifetime = options_.assertion_lifetime;
  ASSIGN_OR_RETURN(std::string assertion, signer_.Sign(login::ToJson(claims)));
  resp->set_assertion(std::move(assertion));
  common::SetTimestamp(claims.issued_at + claims.lifetime, resp->mutable_expire_time());
  resp->set_tenant_id(user->tenant_id);
  resp->set_user_id(user->user_id);
  resp->set_dingtalk_userid(user->dingtalk_userid);
  resp->set_name(user->name);
  return absl::OkStatus();
}

grpc::Status LoginServiceImpl::CompleteLogin(grpc::ServerContext*, const pb::CompleteLoginRequest* req,
                                             pb::CompleteLoginResponse* resp) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status s = Complete(*req, resp);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (std::optional<pb::LoginRefusal> refusal = RefusalOf(s); refusal.has_value()) {
    Refuse(*refusal, std::string(s.message()), *req, resp);
    metrics_->Count(req->flow(), *refusal, seconds);
    return grpc::Status::OK;
  }
  if (!s.ok()) {
    resp->Clear();
    if (!absl::IsInvalidArgument(s)) {
      int64_t suppressed = 0;
      if (log_limiter_.Allow("login_failed", &suppressed)) {
        common::LogWarn("login failed", {{"idp_id", req->idp_id()},
                                         {"reason", "backend_unavailable"},
                                         {"detail", std::string(s.message())},
                                         {"suppressed", suppressed}});
      }
      // Our own backend (the database) failed: the caller may retry with a new state.
      return common::ToGrpcStatus(absl::UnavailableError(absl::StrCat("login backend: ", s.message())));
    }
    return common::ToGrpcStatus(s);
  }
  metrics_->Count(req->flow(), pb::LOGIN_REFUSAL_UNSPECIFIED, seconds);
  common::LogInfo("login succeeded",
                  {{"idp_id", req->idp_id()}, {"flow", std::string(FlowName(req->flow()))}, {"user_id", resp->user_id()}});
  return grpc::Status::OK;
}

}  // namespace sase::sync_worker

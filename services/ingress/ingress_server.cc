#include "ingress/ingress_server.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "callback/error.h"
#include "common/log.h"
#include "common/validation.h"

namespace sase::ingress {
namespace {

constexpr char kEventsRoute[] = "events";
constexpr std::string_view kPushPrefix = "/dingtalk/events/";  // + {idp_id}

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

std::string JsonError(std::string_view reason) { return absl::StrCat("{\"error\":\"", std::string(reason), "\"}"); }

}  // namespace

struct IngressServer::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : requests(prometheus::BuildCounter()
                     .Name("sase_ingress_requests_total")
                     .Help("HTTP requests by route and outcome (ok or a reason code)")
                     .Register(r)),
        events(prometheus::BuildCounter()
                   .Name("sase_ingress_events_total")
                   .Help("Verified events by kind and result (stored, duplicate, ignored)")
                   .Register(r)),
        verify(prometheus::BuildHistogram()
                   .Name("sase_ingress_verify_seconds")
                   .Help("Signature check, decryption and parsing of one push")
                   .Register(r)
                   .Add({}, LatencyBuckets())),
        submit(prometheus::BuildHistogram()
                   .Name("sase_ingress_submit_seconds")
                   .Help("SubmitEvents round trip including sync_worker's commit")
                   .Register(r)
                   .Add({}, LatencyBuckets())),
        key_refreshes(prometheus::BuildCounter()
                          .Name("sase_ingress_key_refreshes_total")
                          .Help("Callback-key refreshes forced by a failed signature")
                          .Register(r)
                          .Add({})),
        key_lookups_queued(prometheus::BuildGauge()
                               .Name("sase_ingress_key_lookups_queued")
                               .Help("Pushes waiting for a callback-key lookup thread (cache misses)")
                               .Register(r)
                               .Add({})) {
    // Every outcome the handler can produce, registered up front so that counting one is a
    // lock-free lookup in a map that is never written again.
    std::vector<std::string> outcomes = {"ok", "unknown_source", "keys_unavailable", "store_unavailable",
                                         "reply_failed", "body_too_large", "key_lookup_backlog"};
    for (int e = 0; e <= static_cast<int>(callback::CallbackError::kInternal); ++e) {
      outcomes.emplace_back(callback::ReasonName(static_cast<callback::CallbackError>(e)));
    }
    for (const std::string& o : outcomes) {
      fixed_outcomes[absl::StrCat(kEventsRoute, "|", o)] =
          &requests.Add({{"route", kEventsRoute}, {"outcome", o}});
    }
  }

  void Count(std::string_view route, std::string_view outcome) {
    char key[96];
    if (route.size() + outcome.size() + 1 <= sizeof(key)) {
      std::memcpy(key, route.data(), route.size());
      key[route.size()] = '|';
      std::memcpy(key + route.size() + 1, outcome.data(), outcome.size());
      auto fixed = fixed_outcomes.find(absl::string_view(key, route.size() + 1 + outcome.size()));
      if (fixed != fixed_outcomes.end()) {
        fixed->second->Increment();
        return;
      }
    }
    prometheus::Counter* c;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& slot = by_outcome[absl::StrCat(std::string(route), "|", std::string(outcome))];
      if (slot == nullptr) slot = &requests.Add({{"route", std::string(route)}, {"outcome", std::string(outcome)}});
      c = slot;
    }
    c->Increment();
  }
  void CountEvent(std::string_view kind, std::string_view result) {
    prometheus::Counter* c;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& slot = by_event[absl::StrCat(std::string(kind), "|", std::string(result))];
      if (slot == nullptr) slot = &events.Add({{"kind", std::string(kind)}, {"result", std::string(result)}});
      c = slot;
    }
    c->Increment();
  }

  std::mutex mu;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Histogram& verify;
  prometheus::Histogram& submit;
  prometheus::Counter& key_refreshes;
  prometheus::Gauge& key_lookups_queued;
  absl::flat_hash_map<std::string, prometheus::Counter*> fixed_outcomes;  // read-only after construction
  absl::flat_hash_map<std::string, prometheus::Counter*> by_outcome;
  absl::flat_hash_map<std::string, prometheus::Counter*> by_event;
};

IngressServer::IngressServer(IngressOptions options, KeyCache& keys, common::Clock& clock, EventSink sink,
                             prometheus::Registry& registry)
    : options_(options),
      keys_(keys),
      clock_(clock),
      sink_(std::move(sink)),
      metrics_(std::make_unique<Metrics>(registry)) {}

IngressServer::~IngressServer() { Stop(); }

HttpReply IngressServer::Reject(int status, std::string_view outcome, const std::string& idp_id,
                                std::string_view detail) {
  metrics_->Count(kEventsRoute, outcome);
  // Reason codes and ids only: never keys, bodies or decrypted personal data. A flood of bad
  // pushes is rate-limited per reason (the metric still counts every one).
  int64_t suppressed = 0;
  if (log_limiter_.Allow(std::string(outcome), &suppressed)) {
    common::Log(status >= 500 ? common::LogLevel::kWarn : common::LogLevel::kInfo, "push rejected",
                {{"route", kEventsRoute},
                 {"idp_id", idp_id},
                 {"http_status", status},
                 {"reason", std::string(outcome)},
                 {"detail", std::string(detail)},
                 {"suppressed", suppressed}});
  }
  return {status, JsonError(outcome), "application/json"};
}

void IngressServer::Route(HttpRequest& req, HttpResponder respond) {
  std::string_view path = req.path;
  if (path.substr(0, kPushPrefix.size()) == kPushPrefix && path.size() > kPushPrefix.size() &&
      path.find('/', kPushPrefix.size()) == std::string_view::npos) {
    if (req.method != "POST") return respond({405, JsonError("method_not_allowed"), "application/json"});
    HandlePush(std::string(path.substr(kPushPrefix.size())), callback::QueryFromParams(req.params),
               std::move(req.body), std::move(respond), /*may_block=*/false);
    return;
  }
  // Liveness (the process answers) and readiness (a push would be stored) are separate: a
  // backend outage must take ingress out of rotation, not get it restarted.
  if (path == "/healthz") {
    if (req.method != "GET") return respond({405, JsonError("method_not_allowed"), "application/json"});
    return respond({200, "{\"status\":\"ok\"}", "application/json"});
  }
  if (path == "/readyz") {
    if (req.method != "GET") return respond({405, JsonError("method_not_allowed"), "application/json"});
    if (options_.readiness) {
      if (absl::Status ready = options_.readiness(); !ready.ok()) {
        return respond({503, JsonError("backend_unavailable"), "application/json"});
      }
    }
    return respond({200, "{\"status\":\"ready\"}", "application/json"});
  }
  if (options_.login != nullptr && options_.login->Handle(req, respond)) return;
  respond({404, JsonError("not_found"), "application/json"});
}

void IngressServer::Offload(std::string idp_id, callback::CallbackQuery query, std::string body,
                            HttpResponder respond) {
  // A flood of pushes for sources not in the cache (e.g. random ids) must not queue without
  // bound behind the blocking lookups: past the backlog, answer 503 (DingTalk retries).
  if (key_backlog_.fetch_add(1) >= options_.max_key_fetch_backlog) {
    key_backlog_.fetch_sub(1);
    return respond(Reject(503, "key_lookup_backlog", idp_id, "too many key lookups queued"));
  }
  metrics_->key_lookups_queued.Increment();
  boost::asio::post(*key_pool_, [this, idp_id = std::move(idp_id), query = std::move(query), body = std::move(body),
                                 respond = std::move(respond)]() mutable {
    key_backlog_.fetch_sub(1);
    metrics_->key_lookups_queued.Decrement();
    HandlePush(std::move(idp_id), std::move(query), std::move(body), std::move(respond), /*may_block=*/true);
  });
}

void IngressServer::HandlePush(std::string idp_id, callback::CallbackQuery query, std::string body,
                               HttpResponder respond, bool may_block) {
  if (!common::IsUuid(idp_id)) return respond(Reject(404, "unknown_source", idp_id, "malformed identity source id"));
  idp_id = common::CanonicalUuid(idp_id);  // one cache entry, one inbox key, whatever the spelling
  using KeysOr = absl::StatusOr<std::shared_ptr<const CachedKeys>>;
  std::optional<KeysOr> keys = may_block ? std::optional<KeysOr>(keys_.Get(idp_id)) : keys_.TryGet(idp_id);
  if (!keys.has_value()) return Offload(std::move(idp_id), std::move(query), std::move(body), std::move(respond));
  if (!keys->ok()) {
    if (absl::IsNotFound(keys->status())) {
      return respond(Reject(404, "unknown_source", idp_id, "no such identity source"));
    }
    return respond(Reject(503, "keys_unavailable", idp_id, std::string(keys->status().message())));
  }
  std::shared_ptr<const CachedKeys> k = **keys;
  auto start = std::chrono::steady_clock::now();
  auto open = [&](const CachedKeys& ck) -> absl::StatusOr<callback::VerifiedEvent> {
    if (ck.codec == nullptr) {
      return callback::MakeError(callback::CallbackError::kBadSignature, "identity source has no callback keys");
    }
    return ck.codec->Open(query, body, clock_.Now(), absl::Seconds(options_.timestamp_window.count()));
  };
  absl::StatusOr<callback::VerifiedEvent> verified = open(*k);
  if (!verified.ok() && callback::ReasonOf(verified.status()) == callback::CallbackError::kBadSignature) {
    // Perhaps the token or aes_key was rotated: refetch (rate-limited by the cache) and retry once.
    std::optional<KeysOr> fresh =
        may_block ? std::optional<KeysOr>(keys_.Get(idp_id, /*refresh=*/true)) : keys_.TryGet(idp_id, /*refresh=*/true);
    if (!fresh.has_value()) return Offload(std::move(idp_id), std::move(query), std::move(body), std::move(respond));
    if (fresh->ok() && **fresh != k) {
      metrics_->key_refreshes.Increment();
      k = **fresh;
      verified = open(*k);
    }
  }
  metrics_->verify.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!verified.ok()) {
    callback::CallbackError reason = callback::ReasonOf(verified.status());
    int status = callback::HttpStatusFor(reason);
    if (status == 500) status = 401;  // unusable stored keys: the push cannot be authenticated
    return respond(Reject(status, callback::ReasonName(reason), idp_id, std::string(verified.status().message())));
  }
  std::string_view kind = callback::EventKindName(verified->event.kind);
  // The encrypted "success" for the receiver id the push was addressed to.
  auto success = [this, k, receiver = std::move(verified->receiver_id), idp_id](HttpResponder& r) {
    absl::StatusOr<std::string> reply = k->codec->SuccessReply(receiver, clock_.Now());
    if (!reply.ok()) return r(Reject(500, "reply_failed", idp_id, std::string(reply.status().message())));
    metrics_->Count(kEventsRoute, "ok");
    r({200, *std::move(reply), "application/json"});
  };
  if (callback::IsUrlVerification(verified->event.kind)) {
    metrics_->CountEvent(kind, "verified");
    return success(respond);
  }
  if (verified->event.kind == callback::EventKind::kUnknown) {
    metrics_->CountEvent(kind, "ignored");
    return success(respond);
  }
  auto submit_start = std::chrono::steady_clock::now();
  const std::string& tenant_id = k->tenant_id;
  sink_(tenant_id, idp_id, std::move(verified->event),
        [this, kind, submit_start, idp_id, success = std::move(success),
         respond = std::move(respond)](absl::StatusOr<StoreOutcome> stored) mutable {
          metrics_->submit.Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - submit_start).count());
          if (!stored.ok()) {
            if (absl::IsNotFound(stored.status())) {
              return respond(Reject(404, "unknown_source", idp_id, "identity source deleted"));
            }
            // DingTalk retries (10 s, 30 s) and keeps the event for the failed-callback list.
            return respond(Reject(503, "store_unavailable", idp_id, std::string(stored.status().message())));
          }
          metrics_->CountEvent(kind, *stored == StoreOutcome::kStored      ? "stored"
                                     : *stored == StoreOutcome::kDuplicate ? "duplicate"
                                                                           : "stored_or_duplicate");
          success(respond);
        });
}

absl::StatusOr<int> IngressServer::Start(const std::string& host, int port) {
  key_pool_ = std::make_unique<boost::asio::thread_pool>(static_cast<size_t>(std::max(1, options_.key_fetch_threads)));
  HttpServerOptions http = options_.http;
  // Requests refused before routing (body too large, malformed, too many connections).
  http.on_refused = [this](int status, std::string_view reason, std::string_view path) {
    bool push = path.substr(0, kPushPrefix.size()) == kPushPrefix;
    metrics_->Count(push ? kEventsRoute : "http", reason);
    int64_t suppressed = 0;
    if (log_limiter_.Allow(std::string(reason), &suppressed)) {
      common::LogInfo("request refused", {{"route", push ? kEventsRoute : "http"},
                                          {"http_status", status},
                                          {"reason", std::string(reason)},
                                          {"path_len", static_cast<int64_t>(path.size())},
                                          {"suppressed", suppressed}});
    }
  };
  http_ = std::make_unique<HttpServer>(std::move(http),
                                       [this](HttpRequest& req, HttpResponder respond) { Route(req, std::move(respond)); });
  return http_->Start(host, port);
}

void IngressServer::Stop() {
  if (http_ != nullptr) http_->Stop();
  if (key_pool_ != nullptr) key_pool_->join();
}

}  // namespace sase::ingress

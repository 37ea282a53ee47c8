#include "services/ingress/ingress_server.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

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
                          .Add({})) {
    // Every outcome the handler can produce, registered up front so that counting one is a
    // lock-free lookup in a map that is never written again.
    std::vector<std::string> outcomes = {"ok", "unknown_source", "keys_unavailable", "store_unavailable",
                                         "reply_failed", "body_too_large"};
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
  absl::flat_hash_map<std::string, prometheus::Counter*> fixed_outcomes;  // read-only after construction
  absl::flat_hash_map<std::string, prometheus::Counter*> by_outcome;
  absl::flat_hash_map<std::string, prometheus::Counter*> by_event;
};

IngressServer::IngressServer(IngressOptions options, KeyCache& keys, EventSink sink, prometheus::Registry& registry)
    : options_(options), keys_(keys), sink_(std::move(sink)), metrics_(std::make_unique<Metrics>(registry)) {}

IngressServer::~IngressServer() { Stop(); }

IngressServer::Reply IngressServer::Reject(int status, std::string_view outcome, const std::string& idp_id,
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

IngressServer::Reply IngressServer::HandlePush(const std::string& idp_id, const callback::CallbackQuery& query,
                                               const std::string& body) {
  if (!common::IsUuid(idp_id)) return Reject(404, "unknown_source", idp_id, "malformed identity source id");
  absl::StatusOr<std::shared_ptr<const CachedKeys>> keys = keys_.Get(idp_id);
  if (!keys.ok()) {
    if (absl::IsNotFound(keys.status())) return Reject(404, "unknown_source", idp_id, "no such identity source");
    return Reject(503, "keys_unavailable", idp_id, std::string(keys.status().message()));
  }
  auto start = std::chrono::steady_clock::now();
  auto open = [&](const CachedKeys& k) -> absl::StatusOr<callback::VerifiedEvent> {
    if (k.codec == nullptr) {
      return callback::MakeError(callback::CallbackError::kBadSignature, "identity source has no callback keys");
    }
    return k.codec->Open(query, body, absl::Now(), absl::Seconds(options_.timestamp_window.count()));
  };
  absl::StatusOr<callback::VerifiedEvent> verified = open(**keys);
  if (!verified.ok() && callback::ReasonOf(verified.status()) == callback::CallbackError::kBadSignature) {
    // Perhaps the token or aes_key was rotated: refetch (rate-limited by the cache) and retry once.
    absl::StatusOr<std::shared_ptr<const CachedKeys>> fresh = keys_.Get(idp_id, /*refresh=*/true);
    if (fresh.ok() && *fresh != *keys) {
      metrics_->key_refreshes.Increment();
      keys = fresh;
      verified = open(**keys);
    }
  }
  metrics_->verify.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!verified.ok()) {
    callback::CallbackError reason = callback::ReasonOf(verified.status());
    int status = callback::HttpStatusFor(reason);
    if (status == 500) status = 401;  // unusable stored keys: the push cannot be authenticated
    return Reject(status, callback::ReasonName(reason), idp_id, std::string(verified.status().message()));
  }
  const callback::Event& event = verified->event;
  std::string_view kind = callback::EventKindName(event.kind);
  if (callback::IsUrlVerification(event.kind)) {
    metrics_->CountEvent(kind, "verified");
  } else if (event.kind == callback::EventKind::kUnknown) {
    metrics_->CountEvent(kind, "ignored");
  } else {
    auto submit_start = std::chrono::steady_clock::now();
    absl::StatusOr<StoreOutcome> stored = sink_((*keys)->tenant_id, idp_id, event);
    metrics_->submit.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - submit_start).count());
    if (!stored.ok()) {
      if (absl::IsNotFound(stored.status())) return Reject(404, "unknown_source", idp_id, "identity source deleted");
      // DingTalk retries (10 s, 30 s) and keeps the event for the failed-callback list.
      return Reject(503, "store_unavailable", idp_id, std::string(stored.status().message()));
    }
    metrics_->CountEvent(kind, *stored == StoreOutcome::kStored      ? "stored"
                               : *stored == StoreOutcome::kDuplicate ? "duplicate"
                                                                     : "stored_or_duplicate");
  }
  absl::StatusOr<std::string> reply = (*keys)->codec->SuccessReply(verified->receiver_id, absl::Now());
  if (!reply.ok()) return Reject(500, "reply_failed", idp_id, std::string(reply.status().message()));
  metrics_->Count(kEventsRoute, "ok");
  return {200, *reply, "application/json"};
}

absl::StatusOr<int> IngressServer::Start(const std::string& host, int port) {
  http_ = std::make_unique<httplib::Server>();
  int threads = options_.worker_threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_keep_alive_max_count(static_cast<size_t>(options_.keep_alive_max_requests));
  http_->set_keep_alive_timeout(options_.keep_alive_timeout.count());
  http_->set_read_timeout(options_.read_timeout.count(), 0);
  http_->set_tcp_nodelay(true);
  http_->Post(R"(/dingtalk/events/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    Reply r = HandlePush(req.matches[1], callback::QueryFromParams(req.params), req.body);
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  });
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  // Requests httplib rejects before routing (body too large, malformed) are counted here.
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (res.status == 413) {
      metrics_->Count(kEventsRoute, "body_too_large");
      common::LogInfo("push rejected", {{"route", kEventsRoute}, {"http_status", 413}, {"reason", "body_too_large"},
                                        {"path_len", static_cast<int64_t>(req.path.size())}});
    }
  });
  int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", host, ":", port));
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  for (int i = 0; i < 1000 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

void IngressServer::Stop() {
  if (http_ != nullptr) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sase::ingress

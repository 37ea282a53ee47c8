#pragma once
// The public HTTP endpoint for DingTalk event pushes:
//   POST /dingtalk/events/{idp_id}?msg_signature|signature=&timestamp|timeStamp=&nonce=
// verify (constant-time SHA-1) → timestamp window → decrypt → receiver id → parse → hand to
// sync_worker, and only once sync_worker says the event is committed answer 200 with the
// encrypted "success". Every other outcome gets a 4xx/5xx with a reason, a metric and a log line,
// and nothing is stored.
//
// Served by HttpServer's event loop: verification runs on a loop thread, the commit is awaited
// asynchronously (no thread waits for it), and the only blocking step — fetching a source's keys
// from sync_worker on a cache miss or forced refresh — runs on a small separate pool.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "callback/event.h"
#include "callback/inbound.h"
#include "common/clock.h"
#include "common/log.h"
#include "ingress/event_batcher.h"
#include "ingress/http_server.h"
#include "ingress/key_cache.h"
#include "ingress/login_handler.h"

namespace boost::asio {
class thread_pool;
}
namespace prometheus {
class Registry;
}

namespace sase::ingress {

// Stores one event durably and calls `done` after commit, from any thread
// (e.g. EventBatcher::SubmitAsync).
using EventSink = std::function<void(const std::string& tenant_id, const std::string& idp_id,
                                     callback::Event event, SubmitDone done)>;

struct IngressOptions {
  std::chrono::seconds timestamp_window{3600};
  // Event-loop threads, connection/header/body limits, timeouts. on_refused is set by the server.
  HttpServerOptions http;
  int key_fetch_threads = 4;         // blocking key lookups (cache misses)
  int max_key_fetch_backlog = 1024;  // queued lookups beyond this get 503
  // GET /readyz: 200 while this answers OK, else 503 (pushes could not be stored). Must not
  // block (the event loop calls it): a common::HealthWatch's status(). Null: always ready.
  std::function<absl::Status()> readiness;
  // The logon routes (login_handler.h); null: they answer 404.
  LoginHandler* login = nullptr;
};

class IngressServer {
 public:
  // `clock` is the "now" of the push timestamp window and of the signed success reply.
  IngressServer(IngressOptions options, KeyCache& keys, common::Clock& clock, EventSink sink,
                prometheus::Registry& registry);
  ~IngressServer();

  // Binds host:port (0 picks one) and serves on background threads. Returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  // Stops accepting and answers the pushes in progress before returning.
  void Stop();

 private:
  struct Metrics;
  void Route(HttpRequest& request, HttpResponder respond);
  // `may_block`: on the key-lookup pool, where a cache miss may fetch. On the event loop a miss
  // moves the push to that pool instead.
  void HandlePush(std::string idp_id, callback::CallbackQuery query, std::string body, HttpResponder respond,
                  bool may_block);
  void Offload(std::string idp_id, callback::CallbackQuery query, std::string body, HttpResponder respond);
  HttpReply Reject(int status, std::string_view outcome, const std::string& idp_id, std::string_view detail);

  IngressOptions options_;
  KeyCache& keys_;
  common::Clock& clock_;
  EventSink sink_;
  std::unique_ptr<Metrics> metrics_;
  common::LogLimiter log_limiter_{10};
  std::unique_ptr<boost::asio::thread_pool> key_pool_;
  std::atomic<int> key_backlog_{0};
  std::unique_ptr<HttpServer> http_;
};

}  // namespace sase::ingress

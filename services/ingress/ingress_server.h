#pragma once
// The public HTTP endpoint for DingTalk event pushes:
//   POST /dingtalk/events/{idp_id}?msg_signature|signature=&timestamp|timeStamp=&nonce=
// verify (constant-time SHA-1) → timestamp window → decrypt → receiver id → parse → hand to
// sync_worker, and only once sync_worker says the event is committed answer 200 with the
// encrypted "success". Every other outcome gets a 4xx/5xx with a reason, a metric and a log line,
// and nothing is stored.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "callback/event.h"
#include "common/log.h"
#include "services/ingress/event_batcher.h"
#include "services/ingress/key_cache.h"

namespace httplib {
class Server;
}
namespace prometheus {
class Registry;
}

namespace sase::ingress {

// Stores one event durably; returns after commit (e.g. EventBatcher::Submit).
using EventSink = std::function<absl::StatusOr<StoreOutcome>(const std::string& tenant_id,
                                                             const std::string& idp_id,
                                                             const callback::Event& event)>;

struct IngressOptions {
  std::chrono::seconds timestamp_window{3600};
  size_t max_body_bytes = 64 * 1024;
  int worker_threads = 64;           // concurrent connections served (keep-alive holds one)
  int keep_alive_max_requests = 10000;
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds keep_alive_timeout{30};
};

class IngressServer {
 public:
  IngressServer(IngressOptions options, KeyCache& keys, EventSink sink, prometheus::Registry& registry);
  ~IngressServer();

  // Binds host:port (0 picks one) and serves on a background thread. Returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  struct Metrics;
  struct Reply {
    int status;
    std::string body;
    std::string content_type;
  };
  Reply HandlePush(const std::string& idp_id, const callback::CallbackQuery& query, const std::string& body);
  Reply Reject(int status, std::string_view outcome, const std::string& idp_id, std::string_view detail);

  IngressOptions options_;
  KeyCache& keys_;
  EventSink sink_;
  std::unique_ptr<Metrics> metrics_;
  common::LogLimiter log_limiter_{10};
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace sase::ingress

#pragma once
// The relay's HTTP listener (cpp-httplib, a small thread pool: Alertmanager sends a few requests a
// minute and each waits for one DingTalk call, so a thread per request in flight is the simple fit):
//
//   POST /alertmanager   Alertmanager's webhook (Relay::Handle); a body over max_body_bytes is 413
//   GET  /healthz        200 "ok" while the process serves (liveness)
//
// Binds without SO_REUSEPORT (httplib sets it by default), so a taken port fails Start() instead
// of silently sharing the port with another process.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "alert_relay/relay.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace sase::alert_relay {

class RelayServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;  // 0 picks one
    size_t max_body_bytes = 1 << 20;
    int threads = 4;
  };

  static absl::StatusOr<std::unique_ptr<RelayServer>> Start(Options options, Relay& relay);
  ~RelayServer();
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  RelayServer(Options options, Relay& relay);

  const Options options_;
  Relay& relay_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace sase::alert_relay

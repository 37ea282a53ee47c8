#include "alert_relay/relay_server.h"

#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace sase::alert_relay {
namespace {

constexpr char kJson[] = "application/json";

}  // namespace

RelayServer::RelayServer(Options options, Relay& relay)
    : options_(std::move(options)), relay_(relay), http_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<RelayServer>> RelayServer::Start(Options options, Relay& relay) {
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  // cpp-httplib 0.11 writes with send flags 0: a peer that went away would raise SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<RelayServer> s(new RelayServer(std::move(options), relay));
  httplib::Server& http = *s->http_;
  const size_t threads = static_cast<size_t>(s->options_.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(s->options_.max_body_bytes);
  http.set_read_timeout(std::chrono::seconds(10));
  http.set_write_timeout(std::chrono::seconds(10));
  http.set_keep_alive_max_count(1000);
  http.set_tcp_nodelay(true);  // TOOLCHAIN.md section 6: httplib 0.11 leaves Nagle on
  // httplib's default also sets SO_REUSEPORT, which lets a second process bind a taken port.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  Relay* r = &relay;
  http.Post("/alertmanager", [r](const httplib::Request& req, httplib::Response& res) {
    RelayReply reply = r->Handle(req.body);
    res.status = reply.status;
    res.set_content(reply.body, kJson);
  });
  http.Get("/alertmanager", [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "POST");
    res.set_content(R"({"error":"method_not_allowed"})", kJson);
  });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  // Answers httplib made itself (no body yet): a body too large, an unknown path.
  http.set_error_handler(httplib::Server::HandlerWithResponse([r](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      r->CountRejected("too_large");
      res.set_content(R"({"error":"too_large","message":"body exceeds max_body_bytes"})", kJson);
    } else if (res.status == 404) {
      res.set_content(R"({"error":"not_found"})", kJson);
    } else {
      res.set_content(absl::StrCat(R"({"error":"http_)", res.status, R"("})"), kJson);
    }
    return httplib::Server::HandlerResponse::Handled;
  }));

  const std::string& host = s->options_.host;
  if (s->options_.port == 0) {
    s->port_ = http.bind_to_any_port(host);
    if (s->port_ <= 0) return absl::UnavailableError(absl::StrCat("cannot bind ", host, ":0"));
  } else {
    if (!http.bind_to_port(host, s->options_.port)) {
      return absl::UnavailableError(absl::StrCat("cannot bind ", host, ":", s->options_.port));
    }
    s->port_ = s->options_.port;
  }
  httplib::Server* server = s->http_.get();
  s->thread_ = std::thread([server] { server->listen_after_bind(); });
  // httplib 0.11 has no wait_until_ready(): poll is_running().
  for (int i = 0; i < 5000 && !http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!http.is_running()) return absl::UnavailableError("HTTP server did not start");
  return s;
}

RelayServer::~RelayServer() { Stop(); }

void RelayServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sase::alert_relay

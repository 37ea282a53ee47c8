#pragma once
// A small asynchronous HTTP/1.1 server on Boost.Beast: a few event-loop threads serve every
// keep-alive connection (no thread per connection), and a handler answers when it is ready — from
// any thread — so a push can wait for sync_worker's commit without holding a thread.
//
// Limits: connections, header bytes, body bytes, requests per connection, read and idle
// timeouts. Requests the server itself refuses (body too large, malformed HTTP, too many
// connections) get their status here and are reported through `on_refused`.
//
// Boost types stay in the .cc; this header is plain C++.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sase::ingress {

struct HttpRequest {
  std::string method;                              // "GET", "POST", ...
  std::string path;                                // the target up to '?', percent-decoded
  std::multimap<std::string, std::string> params;  // the query, URL-decoded (DecodeQuery)
  std::string body;
  // The few request headers a handler looks at ("" when absent).
  std::string accept;
  std::string content_type;
};

struct HttpReply {
  HttpReply() = default;
  HttpReply(int status_in, std::string body_in, std::string content_type_in = "application/json",
            std::vector<std::pair<std::string, std::string>> headers_in = {})
      : status(status_in),
        body(std::move(body_in)),
        content_type(std::move(content_type_in)),
        headers(std::move(headers_in)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Further response headers (Location, Cache-Control, Content-Security-Policy, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

// A request target's parts, decoded: the path percent-decoded; the query split on '&' and '='
// with '+' as a space and percent-decoding (application/x-www-form-urlencoded). Empty pairs are
// skipped; a key without '=' has an empty value.
std::string DecodePath(std::string_view path);
void DecodeQuery(std::string_view query, std::multimap<std::string, std::string>* params);

class HttpSession;

// Sends the reply to one request. Call it once, from any thread; dropping it uncalled answers
// 500. Copyable handles share one reply.
class HttpResponder {
 public:
  explicit HttpResponder(std::shared_ptr<HttpSession> session);
  HttpResponder(HttpResponder&&) noexcept;
  HttpResponder& operator=(HttpResponder&&) noexcept;
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;
  ~HttpResponder();

  void operator()(HttpReply reply);

 private:
  std::shared_ptr<HttpSession> session_;
};

using HttpHandler = std::function<void(HttpRequest& request, HttpResponder respond)>;

struct HttpServerOptions {
  int io_threads = 2;
  int max_connections = 10000;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64 * 1024;
  int keep_alive_max_requests = 10000;
  std::chrono::milliseconds keep_alive_timeout{30000};  // idle wait for a request's first bytes
  std::chrono::milliseconds read_timeout{5000};         // reading the rest of a request; writing a reply
  // A request refused before reaching the handler: status (400, 413, 431, 503), a reason code and
  // the request path when known.
  std::function<void(int status, std::string_view reason, std::string_view path)> on_refused;
  // Called by Stop() on its own thread once the requests in progress have answered and later
  // ones are refused, before it waits for the last writes: the event loop still runs. Lets a
  // test act in that window without guessing at it with sleeps.
  std::function<void()> on_handlers_closed;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (0 picks one) and starts the event-loop threads. Returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  // Stops accepting, waits for the handlers still working on a request to answer (each is
  // bounded by its own deadline), writes those replies, then closes every connection. A request
  // read after that wait gets 503 "shutting_down" and never reaches the handler.
  void Stop();

  int connections() const;

 private:
  friend class HttpSession;
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace sase::ingress

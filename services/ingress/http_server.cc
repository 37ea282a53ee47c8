#include "ingress/http_server.h"

#include <curl/curl.h>  // curl_easy_unescape: percent-decoding through a public API

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace sase::ingress {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Percent-decoding by libcurl (the handle may be null since curl 7.82); in a query, '+' is a
// space (application/x-www-form-urlencoded).
std::string Unescape(std::string_view s, bool plus_is_space) {
  std::string in(s);
  if (plus_is_space) absl::StrReplaceAll({{"+", " "}}, &in);
  int n = 0;
  char* out = curl_easy_unescape(nullptr, in.data(), static_cast<int>(in.size()), &n);
  if (out == nullptr) return in;
  std::string decoded(out, static_cast<size_t>(n));
  curl_free(out);
  return decoded;
}

}  // namespace

void DecodeQuery(std::string_view query, std::multimap<std::string, std::string>* params) {
  // absl::string_view is its own type in Debian's Abseil build.
  const absl::string_view q(query.data(), query.size());
  for (absl::string_view pair : absl::StrSplit(q, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    params->emplace(Unescape({kv.first.data(), kv.first.size()}, true),
                    Unescape({kv.second.data(), kv.second.size()}, true));
  }
}

std::string DecodePath(std::string_view path) { return Unescape(path, false); }

struct HttpServer::Core {
  Core(HttpServerOptions o, HttpHandler h) : options(std::move(o)), handler(std::move(h)) {}

  void Accept();
  void Refused(int status, std::string_view reason, std::string_view path) {
    if (options.on_refused) options.on_refused(status, reason, path);
  }
  // A handler answered (or dropped) its request.
  void Answered() {
    if (pending.fetch_sub(1) == 1 && draining.load()) {
      std::lock_guard<std::mutex> lock(mu);
      cv.notify_all();
    }
  }

  const HttpServerOptions options;
  const HttpHandler handler;
  std::atomic<int> connections{0};
  std::atomic<int> pending{0};  // requests handed to the handler and not answered yet
  std::atomic<int> writing{0};  // replies being written
  std::atomic<bool> draining{false};
  std::mutex mu;
  std::condition_variable cv;
  // Set by Stop() once the requests in progress have answered: a request read after that is not
  // handed to the handler, which could keep its responder past the server's lifetime. Guarded by mu.
  bool handlers_closed = false;
  // Declared last, destroyed first: sessions still queued in it are destroyed while the counters
  // above are alive.
  asio::io_context ioc;
  // The acceptor is not thread-safe, and there are several io threads: every acceptor operation (the
  // accept completions and Stop()'s close) runs on this one strand. Without it, close() on one thread
  // cancels the pending accept, whose handler could run on another thread while close() was still
  // tearing the socket down: it saw the acceptor open, logged "http accept failed: Operation
  // canceled", and re-armed async_accept on the half-closed acceptor (a SIGSEGV in the tests).
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServer::Core* core) : stream_(std::move(socket)), core_(core) {
    core_->connections.fetch_add(1);
  }
  ~HttpSession() { core_->connections.fetch_sub(1); }

  void Start() { Read(); }

  // From any thread: write `reply` on this connection's strand (inline when already on it).
  void Reply(HttpReply reply) {
    core_->writing.fetch_add(1);
    core_->Answered();
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this(), reply = std::move(reply)]() mutable { self->Write(std::move(reply)); });
  }

 private:
  // Waits (up to the idle timeout) for the first bytes of the next request, then reads the whole
  // request within the read timeout: an idle keep-alive connection may wait long, a slow sender
  // may not.
  void Read() {
    if (buffer_.size() > 0) return ReadRequest();  // pipelined: already here
    stream_.expires_after(core_->options.keep_alive_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->Close();  // idle timeout, or the client went away
      self->buffer_.commit(n);
      self->ReadRequest();
    });
  }

  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(core_->options.max_header_bytes));
    parser_->body_limit(core_->options.max_body_bytes);
    stream_.expires_after(core_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      if (ec == http::error::body_limit) return Refuse(413, "body_too_large");
      if (ec == http::error::header_limit) return Refuse(431, "header_too_large");
      // A malformed request (the parser's own errors); timeouts, resets and a clean close by the
      // client just end the connection.
      if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        return Refuse(400, "bad_request");
      }
      return Close();
    }
    bool admitted = false;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      admitted = !core_->handlers_closed;
      if (admitted) core_->pending.fetch_add(1);  // Stop() waits for it
    }
    if (!admitted) return Refuse(503, "shutting_down");
    ++requests_;
    http::request<http::string_body> msg = parser_->release();
    keep_alive_ = msg.keep_alive() && requests_ < core_->options.keep_alive_max_requests && !core_->draining.load();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    req.path = DecodePath(target.substr(0, q));
    if (q != std::string_view::npos) DecodeQuery(target.substr(q + 1), &req.params);
    req.body = std::move(msg.body());
    if (auto a = msg.find(http::field::accept); a != msg.end()) req.accept = std::string(a->value());
    if (auto ct = msg.find(http::field::content_type); ct != msg.end()) req.content_type = std::string(ct->value());
    core_->handler(req, HttpResponder(shared_from_this()));
  }

  // Answers a request the server will not hand to the handler, then closes the connection.
  void Refuse(int status, std::string_view reason) {
    std::string path;
    if (parser_.has_value()) {  // the target is kept from the request line on, even mid-header
      auto t = parser_->get().target();
      std::string_view target(t.data(), t.size());
      path = std::string(target.substr(0, target.find('?')));
    }
    core_->Refused(status, reason, path);
    keep_alive_ = false;
    refused_ = true;
    core_->writing.fetch_add(1);
    Write({status, absl::StrCat("{\"error\":\"", std::string(reason), "\"}"), "application/json"});
  }

  void Write(HttpReply reply) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(reply.status));
    res_.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) res_.set(name, value);
    res_.body() = std::move(reply.body);
    res_.keep_alive(keep_alive_ && !core_->draining.load());
    res_.prepare_payload();
    stream_.expires_after(core_->options.read_timeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&HttpSession::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    core_->writing.fetch_sub(1);
    if (ec) return Close();
    if (!res_.keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      // After a refusal the client may still be sending the rest of its request: read and drop
      // it for a moment, so that closing with unread data does not reset the connection before
      // the client has read our answer.
      if (refused_) Discard();
      return;
    }
    Read();
  }

  void Discard() {
    stream_.expires_after(std::chrono::seconds(1));
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->discarded_ += n;
                              if (!ec && self->discarded_ < (1u << 20)) self->Discard();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  static constexpr size_t kFirstRead = 4096;

  beast::tcp_stream stream_;
  HttpServer::Core* core_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  int requests_ = 0;  // read on this connection
  bool keep_alive_ = true;
  bool refused_ = false;
  std::array<char, 4096> discard_{};
  size_t discarded_ = 0;
};

HttpResponder::HttpResponder(std::shared_ptr<HttpSession> session) : session_(std::move(session)) {}
HttpResponder::HttpResponder(HttpResponder&&) noexcept = default;
HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
  if (this != &other) {
    if (session_ != nullptr) (*this)({500, "{\"error\":\"internal\"}", "application/json"});
    session_ = std::move(other.session_);
  }
  return *this;
}
HttpResponder::~HttpResponder() {
  if (session_ != nullptr) (*this)({500, "{\"error\":\"internal\"}", "application/json"});
}

void HttpResponder::operator()(HttpReply reply) {
  if (session_ == nullptr) return;  // answered already
  std::shared_ptr<HttpSession> session = std::move(session_);
  session->Reply(std::move(reply));
}

void HttpServer::Core::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!acceptor.is_open()) return;  // stopping
      // EMFILE and the like: keep accepting (the failure is the client's or transient).
      common::LogWarn("http accept failed", {{"reason", ec.message()}});
    } else if (draining.load() || connections.load() >= options.max_connections) {
      Refused(503, draining.load() ? "shutting_down" : "too_many_connections", "");
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<HttpSession>(std::move(socket), this)->Start();
    }
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : core_(std::make_shared<Core>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::connections() const { return core_->connections.load(); }

absl::StatusOr<int> HttpServer::Start(const std::string& host, int port) {
  Core& c = *core_;
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot listen for HTTP: bad address ", host));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  c.acceptor.open(endpoint.protocol(), ec);
  if (!ec) c.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) c.acceptor.bind(endpoint, ec);
  if (!ec) c.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    c.acceptor.close(ignored);
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", host, ":", port, ": ", ec.message()));
  }
  int bound = c.acceptor.local_endpoint().port();
  c.work.emplace(c.ioc.get_executor());
  c.Accept();
  int n = std::max(1, c.options.io_threads);
  for (int i = 0; i < n; ++i) c.threads.emplace_back([&c] { c.ioc.run(); });
  return bound;
}

void HttpServer::Stop() {
  Core& c = *core_;
  if (c.threads.empty()) return;
  c.draining.store(true);
  // Stop accepting (on the event loop: the acceptor is not thread-safe).
  std::promise<void> closed;
  asio::post(c.accept_strand, [&c, &closed] {
    beast::error_code ignored;
    c.acceptor.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  // Requests in a handler get their answer: each handler is bounded by its own deadline.
  {
    std::unique_lock<std::mutex> lock(c.mu);
    c.cv.wait(lock, [&c] { return c.pending.load() == 0; });
    c.handlers_closed = true;  // later requests get 503 (OnRead)
  }
  if (c.options.on_handlers_closed) c.options.on_handlers_closed();
  for (int i = 0; i < 1000 && c.writing.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  c.work.reset();
  c.ioc.stop();
  for (std::thread& t : c.threads) t.join();
  c.threads.clear();
}

}  // namespace sase::ingress

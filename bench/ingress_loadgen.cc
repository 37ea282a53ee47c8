// Load generator for ingress: replays pre-signed DingTalk pushes over keep-alive connections.
//   --mode=durable        distinct events (each a new inbox row, acknowledged after commit)
//   --mode=bad_signature  the same pushes with a broken signature (rejected with 401)
//   --mode=healthz        GET /healthz (the HTTP library's baseline for an almost empty handler)
// Closed loop (--connections in flight) or open loop (--rate per second, latency measured from the
// scheduled send time). The identity source is created through sync_worker's admin API first
// (--create_source) or given with --idp. Prints one JSON line on stdout.
// --cpu_pids=name:pid,...: CPU (utime+stime from /proc, cores = CPU-seconds per second) of each
// named process and its direct children (e.g. the postmaster and its backends) over the measured
// window, reported with the load generator's own under "cpu".
//
// The client is Boost.Beast over Boost.Asio: every connection is a small asynchronous state machine
// (connect, write a request serialized by Beast once before the run, let Beast parse the response,
// classify, next) and all of them share one io_context run by --threads threads (default 1), so the
// generator costs a few syscalls per request instead of a blocked thread per connection.
//
// Counting: closed loop counts the requests that complete inside the measured window; open loop
// counts the requests *scheduled* inside the window (a send time every 1/rate s, whether or not a
// connection is free, so queueing behind busy connections is part of the latency: no coordinated
// omission) and waits for them after the window (up to --timeout_ms; the rest are "unfinished").
// Anything that is neither 200 nor 401 is "other", broken down by status code ("other_status") and
// by transport error ("other_errors": connect_failed, reset, timeout, eof, unfinished, or the error
// text). "reconnects" counts connections re-opened after the server closed one (Connection: close)
// or after an error.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/stats.h"
#include "callback/crypto.h"
#include "common/config.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"

namespace {

namespace asio = ::boost::asio;
namespace beast = ::boost::beast;
namespace http = ::boost::beast::http;
using tcp = ::boost::asio::ip::tcp;
using ::sase::bench::Percentile;
using ErrorCode = ::boost::system::error_code;

using Clock = std::chrono::steady_clock;
namespace v1 = ::sase::dingtalk::v1;

// utime+stime (clock ticks) of /proc/<pid>/stat, and the parent pid; false if gone.
bool ReadStat(const std::string& pid, int64_t* ticks, int64_t* ppid) {
  std::ifstream f("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string x; rest >> x;) fields.push_back(x);
  if (fields.size() < 13) return false;  // fields[0] = state (field 3); utime = field 14
  *ppid = std::atoll(fields[1].c_str());
  *ticks = std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str());
  return true;
}

// CPU ticks per named process (itself plus direct children), and "loadgen" = this process.
std::vector<std::pair<std::string, int64_t>> CpuTicks(const std::vector<std::pair<std::string, int64_t>>& named) {
  std::vector<std::pair<std::string, int64_t>> out;
  std::vector<std::pair<int64_t, int64_t>> all;  // pid, ticks by parent pid
  std::vector<int64_t> parents;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    int64_t t = 0, pp = 0;
    if (!ReadStat(name, &t, &pp)) continue;
    all.push_back({std::atoll(name.c_str()), t});
    parents.push_back(pp);
  }
  for (const auto& [label, pid] : named) {
    int64_t sum = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].first == pid || parents[i] == pid) sum += all[i].second;
    }
    out.push_back({label, sum});
  }
  int64_t self = 0, pp = 0;
  ReadStat("self", &self, &pp);
  out.push_back({"loadgen", self});
  return out;
}

// One request serialized by Beast (request line, Host, Content-Type, Content-Length, body), sent
// as it is with a single write.
std::string Serialize(http::verb verb, const std::string& target, const std::string& host, std::string body) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();
  std::ostringstream os;
  os << req;
  return os.str();
}

// What one connection saw; merged after the run (a connection is only touched by its own handlers).
struct Tally {
  int64_t ok = 0, rejected = 0, other = 0, reconnects = 0;
  std::vector<double> lat;
  std::map<std::string, int64_t> other_status, other_errors;
};

// State shared by the connections and the open-loop pacer.
struct Shared {
  asio::io_context* ioc = nullptr;
  bool strands = false;  // --threads > 1: each connection on its own strand
  tcp::endpoint endpoint;
  const std::vector<std::string>* wire = nullptr;
  std::chrono::milliseconds timeout{10000};
  bool open_loop = false;
  std::atomic<size_t> next{0};        // index of the next request in *wire
  std::atomic<bool> stop{false};      // closed loop: send no more
  std::atomic<bool> measuring{false};  // closed loop: count what completes now
  std::atomic<int> running{0};        // closed loop: connections not yet stopped
  Clock::time_point window_from, window_to;  // open loop: count what is scheduled in [from, to)
  std::atomic<int64_t> pending{0};           // open loop: counted requests not yet finished
  std::mutex mu;                              // open loop: backlog and idle
  std::deque<Clock::time_point> backlog;      // scheduled send times no connection was free for
  std::vector<class Connection*> idle;        // connected and waiting for a send time
};

class Connection {
 public:
  explicit Connection(Shared* s)
      : s_(s),
        stream_(s->strands ? asio::any_io_executor(asio::make_strand(*s->ioc))
                           : asio::any_io_executor(s->ioc->get_executor())),
        backoff_(stream_.get_executor()) {}

  const Tally& tally() const { return tally_; }

  // Starts the connection: closed loop sends at once (connecting first); open loop connects and
  // then waits for send times.
  void Start() {
    asio::dispatch(stream_.get_executor(), [this] {
      if (s_->open_loop) {
        Connect();
      } else {
        Next();
      }
    });
  }

  // Open loop: send the request scheduled at `scheduled` (called on an idle connection).
  void Post(Clock::time_point scheduled) {
    asio::dispatch(stream_.get_executor(), [this, scheduled] { Send(scheduled); });
  }

 private:
  void Connect() {
    stream_.expires_after(s_->timeout);
    stream_.async_connect(s_->endpoint, [this](const ErrorCode& ec) { OnConnect(ec); });
  }

  void OnConnect(const ErrorCode& ec) {
    if (ec) {
      stream_.close();
      if (busy_) {
        Fail("connect_failed");
      } else {  // open loop, no request in hand yet: wait for one (it connects again, or fails)
        Next();
      }
      return;
    }
    stream_.socket().set_option(tcp::no_delay(true));
    if (ever_connected_ && busy_ && Counted()) ++tally_.reconnects;
    ever_connected_ = connected_ = true;
    if (busy_) {
      Write();
    } else {
      Next();
    }
  }

  // The next request: closed loop at once, open loop the oldest waiting send time (or go idle).
  void Next() {
    if (!s_->open_loop) {
      if (s_->stop.load(std::memory_order_relaxed)) {
        if (connected_) stream_.close();
        s_->running.fetch_sub(1);
        return;
      }
      Send(Clock::now());
      return;
    }
    std::unique_lock<std::mutex> lock(s_->mu);
    if (s_->backlog.empty()) {
      s_->idle.push_back(this);  // nothing of this connection may be touched after the unlock
      return;
    }
    Clock::time_point t = s_->backlog.front();
    s_->backlog.pop_front();
    lock.unlock();
    Send(t);
  }

  void Send(Clock::time_point scheduled) {
    scheduled_ = scheduled;
    in_window_ = s_->open_loop && scheduled >= s_->window_from && scheduled < s_->window_to;
    busy_ = true;
    if (!connected_) {
      Connect();
      return;
    }
    Write();
  }

  void Write() {
    const std::string& req = (*s_->wire)[s_->next.fetch_add(1, std::memory_order_relaxed) % s_->wire->size()];
    stream_.expires_after(s_->timeout);
    asio::async_write(stream_, asio::buffer(req), [this](const ErrorCode& ec, size_t) {
      if (ec) {
        Fail(Kind(ec));
        return;
      }
      parser_.emplace();
      http::async_read(stream_, buffer_, *parser_, [this](const ErrorCode& rec, size_t) { OnRead(rec); });
    });
  }

  void OnRead(const ErrorCode& ec) {
    if (ec) {
      Fail(Kind(ec));
      return;
    }
    const auto& res = parser_->get();
    int status = res.result_int();
    bool keep_alive = res.keep_alive();
    if (Counted()) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - scheduled_).count();
      if (status == 200) {
        ++tally_.ok;
        tally_.lat.push_back(ms);
      } else if (status == 401) {
        ++tally_.rejected;
        tally_.lat.push_back(ms);
      } else {
        ++tally_.other;
        ++tally_.other_status[std::to_string(status)];
      }
    }
    Done();
    if (!keep_alive) Disconnect();
    Next();
  }

  // The request in hand failed: count it, drop the connection (it reconnects for the next one).
  void Fail(const std::string& kind) {
    if (Counted()) {
      ++tally_.other;
      ++tally_.other_errors[kind];
    }
    Done();
    Disconnect();
    if (kind == "connect_failed") {
      Backoff([this] { Next(); });
    } else {
      Next();
    }
  }

  void Done() {
    if (in_window_) s_->pending.fetch_sub(1, std::memory_order_relaxed);
    busy_ = false;
  }

  void Disconnect() {
    ErrorCode ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  template <typename F>
  void Backoff(F f) {
    backoff_.expires_after(std::chrono::milliseconds(50));
    backoff_.async_wait([f](const ErrorCode&) { f(); });
  }

  bool Counted() const { return s_->open_loop ? in_window_ : s_->measuring.load(std::memory_order_relaxed); }

  static std::string Kind(const ErrorCode& ec) {
    if (ec == beast::error::timeout) return "timeout";
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
        ec == asio::error::connection_aborted) {
      return "reset";
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message) {
      return "eof";
    }
    return ec.message();
  }

  Shared* s_;
  beast::tcp_stream stream_;
  asio::steady_timer backoff_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Clock::time_point scheduled_;
  bool in_window_ = false, busy_ = false, connected_ = false, ever_connected_ = false;
  Tally tally_;
};

// Open loop: a send time every 1/rate s from `start` until `end`, each handed to an idle connection
// or queued until one is free.
class Pacer {
 public:
  Pacer(Shared* s, Clock::time_point start, Clock::time_point end, int64_t rate)
      : s_(s),
        timer_(*s->ioc),
        start_(start),
        end_(end),
        interval_(std::chrono::duration<double>(1.0 / static_cast<double>(rate))) {}

  void Start() { Arm(); }
  // Every send time up to the end has been handed out.
  bool done() const { return done_.load(); }

 private:
  Clock::time_point At(int64_t n) const {
    return start_ + std::chrono::duration_cast<Clock::duration>(interval_ * static_cast<double>(n));
  }

  void Arm() {
    Clock::time_point t = At(n_);
    if (t >= end_) {
      done_ = true;
      return;
    }
    timer_.expires_at(t);
    timer_.async_wait([this](const ErrorCode& ec) {
      if (ec) return;
      Clock::time_point now = Clock::now();
      for (Clock::time_point t2 = At(n_); t2 <= now && t2 < end_; t2 = At(++n_)) Dispatch(t2);
      Arm();
    });
  }

  void Dispatch(Clock::time_point t) {
    if (t >= s_->window_from && t < s_->window_to) s_->pending.fetch_add(1, std::memory_order_relaxed);
    Connection* c = nullptr;
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      if (s_->idle.empty()) {
        s_->backlog.push_back(t);
        return;
      }
      c = s_->idle.back();
      s_->idle.pop_back();
    }
    c->Post(t);
  }

  Shared* s_;
  asio::steady_timer timer_;
  Clock::time_point start_, end_;
  std::chrono::duration<double> interval_;
  int64_t n_ = 0;
  std::atomic<bool> done_{false};
};

}  // namespace

int main(int argc, char** argv) {
  std::string target_host, mode, idp, aes_key, token, app_key, sync_worker, tenant, cpu_pids;
  int64_t port, connections, duration_s, warmup_s, rate, pushes, threads, timeout_ms;
  bool create_source;
  sase::common::ConfigParser p("ingress_loadgen");
  p.String("host", &target_host, "127.0.0.1", "ingress host");
  p.Int("port", &port, 8080, "ingress port", {.min = 1, .max = 65535});
  p.String("mode", &mode, "durable", "durable|bad_signature|healthz");
  p.String("idp", &idp, "", "identity source id (or --create_source)");
  p.Bool("create_source", &create_source, false, "create a source through sync_worker and print nothing else");
  p.String("sync_worker", &sync_worker, "127.0.0.1:50061", "sync_worker address for --create_source");
  p.String("tenant", &tenant, "bench", "tenant for --create_source");
  p.String("aes_key", &aes_key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", "event aes_key");
  p.String("token", &token, "bench-token", "event token");
  p.String("app_key", &app_key, "dingbenchappkey", "AppKey (receiver id)");
  p.Int("connections", &connections, 32, "keep-alive connections", {.min = 1, .max = 1024});
  p.Int("duration_s", &duration_s, 10, "measured seconds", {.min = 1, .max = 600});
  p.Int("warmup_s", &warmup_s, 2, "warm-up seconds", {.min = 0, .max = 60});
  p.Int("rate", &rate, 0, "open-loop requests per second (0: closed loop)", {.min = 0, .max = 1000000});
  p.Int("pushes", &pushes, 300000, "distinct pre-signed pushes", {.min = 1, .max = 5000000});
  p.String("cpu_pids", &cpu_pids, "", "name:pid,... processes whose CPU over the measured window is reported");
  p.Int("threads", &threads, 1, "threads running the connections' event loop", {.min = 1, .max = 64});
  p.Int("timeout_ms", &timeout_ms, 10000, "connect/write/read timeout per request", {.min = 1, .max = 600000});
  if (absl::Status s = p.Parse(argc, argv, std::getenv); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }

  if (create_source) {
    auto stub = v1::IdentitySourceService::NewStub(
        grpc::CreateChannel(sync_worker, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::CreateIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    auto* s = req.mutable_identity_source();
    s->set_name(absl::StrCat("bench-", absl::ToUnixMillis(absl::Now())));
    s->set_status(v1::ENABLED);
    s->set_corp_id("dingbenchcorp");
    s->set_app_key(app_key);
    s->set_app_secret("bench-secret");
    s->set_dingtalk_type(v1::STANDARD);
    s->set_aes_key(aes_key);
    s->set_token(token);
    s->set_sync_cycle_hours(24);
    v1::IdentitySource out;
    grpc::Status st = stub->CreateIdentitySource(&ctx, req, &out);
    if (!st.ok()) {
      std::cerr << "create source: " << st.error_message() << "\n";
      return 1;
    }
    std::cout << out.idp_id() << std::endl;
    return 0;
  }
  if (mode != "healthz" && idp.empty()) {
    std::cerr << "idp: required\n";
    return 2;
  }

  // Pre-sign the pushes (distinct eventIds so each is a new durable row) and serialize each request
  // once, so that sending one is a single write of ready bytes.
  std::string host_header = absl::StrCat(target_host, ":", port);
  std::vector<std::string> wire;
  if (mode == "healthz") {
    wire.push_back(Serialize(http::verb::get, "/healthz", host_header, ""));
  } else {
    auto cipher = sase::callback::CallbackCipher::Create(aes_key);
    if (!cipher.ok()) {
      std::cerr << "aes_key: " << cipher.status().message() << "\n";
      return 2;
    }
    std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()));
    int64_t n = mode == "durable" ? pushes : 1000;
    wire.reserve(static_cast<size_t>(n));
    std::string ts = absl::StrCat(absl::ToUnixMillis(absl::Now()));
    for (int64_t i = 0; i < n; ++i) {
      nlohmann::json ev = {{"EventType", "user_modify_org"},
                           {"eventId", absl::StrCat("bench-", run, "-", i)},
                           {"EventTime", absl::ToUnixMillis(absl::Now())},
                           {"userId", {absl::StrCat("user", i % 100000)}}};
      std::string encrypt = *cipher->Encrypt(ev.dump(), app_key);
      std::string nonce = absl::StrCat("n", i);
      std::string sig = sase::callback::ComputeSignature(token, ts, nonce, encrypt);
      if (mode == "bad_signature") sig[0] = sig[0] == 'a' ? 'b' : 'a';
      wire.push_back(Serialize(http::verb::post,
                               absl::StrCat("/dingtalk/events/", idp, "?msg_signature=", sig, "&timestamp=", ts,
                                            "&nonce=", nonce),
                               host_header, nlohmann::json{{"encrypt", encrypt}}.dump()));
    }
  }

  std::vector<std::pair<std::string, int64_t>> named;
  for (absl::string_view item : absl::StrSplit(cpu_pids, ',', absl::SkipEmpty())) {
    size_t colon = item.rfind(':');
    if (colon == absl::string_view::npos) continue;
    named.push_back({std::string(item.substr(0, colon)), std::atoll(std::string(item.substr(colon + 1)).c_str())});
  }

  asio::io_context ioc(static_cast<int>(threads));
  Shared shared;
  shared.ioc = &ioc;
  shared.strands = threads > 1;
  shared.wire = &wire;
  shared.timeout = std::chrono::milliseconds(timeout_ms);
  shared.open_loop = rate > 0;
  {
    tcp::resolver resolver(ioc);
    ErrorCode ec;
    auto results = resolver.resolve(target_host, std::to_string(port), ec);
    if (ec || results.empty()) {
      std::cerr << "resolve " << target_host << ": " << (ec ? ec.message() : "no address") << "\n";
      return 1;
    }
    shared.endpoint = results.begin()->endpoint();
  }
  auto start = Clock::now();
  auto measure_from = start + std::chrono::seconds(warmup_s);
  auto end = measure_from + std::chrono::seconds(duration_s);
  shared.window_from = measure_from;
  shared.window_to = end;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int64_t i = 0; i < connections; ++i) conns.push_back(std::make_unique<Connection>(&shared));
  shared.running = static_cast<int>(connections);
  std::optional<Pacer> pacer;
  if (rate > 0) pacer.emplace(&shared, start, end, rate);
  auto work = asio::make_work_guard(ioc);
  for (auto& c : conns) c->Start();
  if (pacer) pacer->Start();
  std::vector<std::thread> pool;
  for (int64_t i = 0; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });

  std::this_thread::sleep_until(measure_from);
  std::vector<std::pair<std::string, int64_t>> cpu_start = CpuTicks(named);
  shared.measuring = true;
  std::this_thread::sleep_until(end);
  shared.measuring = false;
  auto measured_end = Clock::now();
  std::vector<std::pair<std::string, int64_t>> cpu_end = CpuTicks(named);
  // Closed loop: let the requests in flight finish (uncounted). Open loop: wait for the requests
  // scheduled in the window (still queued or in flight) to finish; they are counted.
  shared.stop = true;
  auto drain_until = Clock::now() + shared.timeout + std::chrono::seconds(1);
  while (Clock::now() < drain_until &&
         (rate > 0 ? !(pacer->done() && shared.pending.load() == 0) : shared.running.load() > 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  work.reset();
  ioc.stop();
  for (auto& t : pool) t.join();

  Tally total;
  for (const auto& c : conns) {
    const Tally& t = c->tally();
    total.ok += t.ok;
    total.rejected += t.rejected;
    total.other += t.other;
    total.reconnects += t.reconnects;
    total.lat.insert(total.lat.end(), t.lat.begin(), t.lat.end());
    for (const auto& [k, v] : t.other_status) total.other_status[k] += v;
    for (const auto& [k, v] : t.other_errors) total.other_errors[k] += v;
  }
  int64_t unfinished = rate > 0 ? shared.pending.load() : 0;
  if (unfinished > 0) {
    total.other += unfinished;
    total.other_errors["unfinished"] += unfinished;
  }
  double secs = std::chrono::duration<double>(measured_end - measure_from).count();
  nlohmann::json out = {{"mode", mode},
                        {"loop", rate > 0 ? "open" : "closed"},
                        {"connections", connections},
                        {"threads", threads},
                        {"rate", rate},
                        {"ok", total.ok},
                        {"rejected", total.rejected},
                        {"other", total.other},
                        {"other_status", total.other_status},
                        {"other_errors", total.other_errors},
                        {"reconnects", total.reconnects},
                        {"rps", static_cast<double>(total.ok + total.rejected) / secs},
                        {"p50_ms", Percentile(total.lat, 0.5)},
                        {"p99_ms", Percentile(total.lat, 0.99)},
                        {"wrapped", mode == "durable" && shared.next.load() > wire.size()}};
  if (!named.empty()) {
    nlohmann::json cpu = nlohmann::json::object();
    double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    for (size_t i = 0; i < cpu_end.size() && i < cpu_start.size(); ++i) {
      double cores = static_cast<double>(cpu_end[i].second - cpu_start[i].second) / tick / secs;
      cpu[cpu_end[i].first] = std::round(cores * 100) / 100;
    }
    out["cpu_cores"] = cpu;
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

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
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "callback/crypto.h"
#include "bench/stats.h"
#include "common/config.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"

namespace {

using ::sase::bench::Percentile;

using Clock = std::chrono::steady_clock;
namespace v1 = ::sase::dingtalk::v1;

struct Push {
  std::string path;
  std::string body;
};

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

}  // namespace

int main(int argc, char** argv) {
  std::string target_host, mode, idp, aes_key, token, app_key, sync_worker, tenant, cpu_pids;
  int64_t port, connections, duration_s, warmup_s, rate, pushes;
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

  // Pre-sign the pushes (distinct eventIds so each is a new durable row).
  std::vector<Push> reqs;
  if (mode == "healthz") {
    reqs.push_back({"/healthz", ""});
  } else {
    auto cipher = sase::callback::CallbackCipher::Create(aes_key);
    if (!cipher.ok()) {
      std::cerr << "aes_key: " << cipher.status().message() << "\n";
      return 2;
    }
    std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()));
    int64_t n = mode == "durable" ? pushes : 1000;
    reqs.reserve(static_cast<size_t>(n));
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
      reqs.push_back({absl::StrCat("/dingtalk/events/", idp, "?msg_signature=", sig, "&timestamp=", ts,
                                   "&nonce=", nonce),
                      nlohmann::json{{"encrypt", encrypt}}.dump()});
    }
  }

  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false}, measuring{false};
  std::mutex mu;
  std::vector<double> lat;
  int64_t ok = 0, rejected = 0, other = 0;
  std::deque<Clock::time_point> queue;  // open loop: scheduled send times
  std::condition_variable cv;

  auto worker = [&]() {
    httplib::Client client(target_host, static_cast<int>(port));
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // body and headers go out in two writes: avoid Nagle + delayed ACK
    client.set_read_timeout(10, 0);
    std::vector<double> my_lat;
    int64_t my_ok = 0, my_rej = 0, my_other = 0;
    while (!stop.load()) {
      Clock::time_point scheduled;
      if (rate > 0) {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop.load() || !queue.empty(); });
        if (queue.empty()) break;
        scheduled = queue.front();
        queue.pop_front();
      } else {
        scheduled = Clock::now();
      }
      const Push& r = reqs[next.fetch_add(1) % reqs.size()];
      httplib::Result res =
          r.body.empty() ? client.Get(r.path.c_str()) : client.Post(r.path.c_str(), r.body, "application/json");
      if (!measuring.load()) continue;
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count();
      if (res && res->status == 200) {
        ++my_ok;
        my_lat.push_back(ms);
      } else if (res && res->status == 401) {
        ++my_rej;
        my_lat.push_back(ms);
      } else {
        ++my_other;
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    lat.insert(lat.end(), my_lat.begin(), my_lat.end());
    ok += my_ok;
    rejected += my_rej;
    other += my_other;
  };
  std::vector<std::pair<std::string, int64_t>> named;
  for (absl::string_view item : absl::StrSplit(cpu_pids, ',', absl::SkipEmpty())) {
    size_t colon = item.rfind(':');
    if (colon == absl::string_view::npos) continue;
    named.push_back({std::string(item.substr(0, colon)), std::atoll(std::string(item.substr(colon + 1)).c_str())});
  }
  std::vector<std::pair<std::string, int64_t>> cpu_start;
  auto start_measuring = [&] {
    cpu_start = CpuTicks(named);
    measuring = true;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) threads.emplace_back(worker);
  auto start = Clock::now();
  auto measure_from = start + std::chrono::seconds(warmup_s);
  auto end = measure_from + std::chrono::seconds(duration_s);
  if (rate == 0) {
    std::this_thread::sleep_until(measure_from);
    start_measuring();
    std::this_thread::sleep_until(end);
  } else {
    auto interval = std::chrono::duration<double>(1.0 / static_cast<double>(rate));
    for (int64_t n = 0;; ++n) {
      auto t = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
      if (t >= end) break;
      if (!measuring && t >= measure_from) start_measuring();
      std::this_thread::sleep_until(t);
      {
        std::lock_guard<std::mutex> lock(mu);
        queue.push_back(t);
      }
      cv.notify_one();
    }
  }
  auto measured_end = Clock::now();
  std::vector<std::pair<std::string, int64_t>> cpu_end = CpuTicks(named);
  stop = true;
  cv.notify_all();
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(measured_end - measure_from).count();
  nlohmann::json out = {{"mode", mode},
                        {"loop", rate > 0 ? "open" : "closed"},
                        {"connections", connections},
                        {"rate", rate},
                        {"ok", ok},
                        {"rejected", rejected},
                        {"other", other},
                        {"rps", static_cast<double>(ok + rejected) / secs},
                        {"p50_ms", Percentile(lat, 0.5)},
                        {"p99_ms", Percentile(lat, 0.99)},
                        {"wrapped", mode == "durable" && next.load() > reqs.size()}};
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

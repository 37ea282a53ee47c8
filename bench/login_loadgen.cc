// Logon load: closed loop, N threads, each running whole browser-OAuth logons against ingress and
// the DingTalk simulator (start → DingTalk's authorize page → our callback), redirects read by
// hand. The latency is the callback's (what the user waits for after DingTalk: state check, nonce,
// code exchange, users/me, getbyunionid, directory check, signature). Prints one JSON line.
//
//   login_loadgen --ingress=http://127.0.0.1:18081 --idp=ID --redirect=URI --users=u1,u2
//                 --concurrency=64 --duration_s=10
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "bench/stats.h"
#include "common/config.h"
#include "nlohmann/json.hpp"

namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }
size_t OnHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  if (line.size() > 9 && (line.compare(0, 9, "Location:") == 0 || line.compare(0, 9, "location:") == 0)) {
    std::string v = line.substr(9);
    while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
    *static_cast<std::string*>(out) = v;
  }
  return size * n;
}

// GET without following redirects; returns the status and the raw Location.
long Get(CURL* c, const std::string url, std::string* location) {  // url by value: it may be *location
  location->clear();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERDATA, location);
  long status = 0;
  if (CURLcode rc = curl_easy_perform(c); rc != CURLE_OK) {
    *location = curl_easy_strerror(rc);
    return -1;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ingress, idp, redirect, users_csv;
  int64_t concurrency = 0, duration_s = 0;
  sase::common::ConfigParser p("login_loadgen");
  p.String("ingress", &ingress, "http://127.0.0.1:18081", "ingress base URL");
  p.String("idp", &idp, "", "identity source id", {.required = true});
  p.String("redirect", &redirect, "", "client redirect (on the source's allow-list)", {.required = true});
  p.String("users", &users_csv, "", "comma-separated DingTalk userids to log on as", {.required = true});
  p.Int("concurrency", &concurrency, 64, "logons in flight", {.min = 1, .max = 4096});
  p.Int("duration_s", &duration_s, 10, "measured seconds", {.min = 1, .max = 3600});
  if (absl::Status s = p.Parse(argc, argv, std::getenv); !s.ok()) {
    std::cerr << "login_loadgen: " << s.message() << "\n";
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<std::string> users = absl::StrSplit(users_csv, ',', absl::SkipEmpty());
  char* esc = curl_easy_escape(nullptr, redirect.c_str(), 0);
  const std::string start_url = ingress + "/dingtalk/login/" + idp + "?redirect_uri=" + esc;
  curl_free(esc);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(duration_s);
  std::atomic<int64_t> ok{0}, errors{0};
  std::mutex mu;
  std::map<std::string, int64_t> failures;  // "step:status" -> count (guarded by mu)
  auto fail = [&](const char* step, long status) {
    ++errors;
    std::lock_guard<std::mutex> lock(mu);
    ++failures[std::string(step) + ":" + std::to_string(status)];
  };
  std::vector<double> latencies_ms;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      CURL* c = curl_easy_init();
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
      curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
      std::vector<double> mine;
      size_t n = static_cast<size_t>(t);
      std::string loc;
      while (std::chrono::steady_clock::now() < deadline) {
        const std::string& user = users[n++ % users.size()];
        if (long st = Get(c, start_url, &loc); st != 302 || loc.empty()) { fail("start", st); continue; }
        if (long st = Get(c, loc + "&sim_userid=" + user, &loc); st != 302 || loc.empty()) {
          fail("authorize", st);
          continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const long st = Get(c, loc, &loc);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (st != 302 || loc.find("#assertion=") == std::string::npos) {
          fail(st == -1 ? ("callback " + loc).c_str() : "callback", st);
          continue;
        }
        ++ok;
        mine.push_back(ms);
      }
      curl_easy_cleanup(c);
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : threads) th.join();
  const double rate = static_cast<double>(ok.load()) / static_cast<double>(duration_s);
  const double p50 = sase::bench::Percentile(latencies_ms, 0.5);
  const double p99 = sase::bench::Percentile(latencies_ms, 0.99);
  std::cout << nlohmann::json{{"logons_per_s", rate}, {"p50_ms", p50},       {"p99_ms", p99},
                              {"ok", ok.load()},      {"errors", errors.load()}, {"concurrency", concurrency},
                              {"failures", failures}}
                   .dump()
            << std::endl;
  return 0;
}

// Micro-benchmark of the DingTalk push hot path in libs/callback (what ingress spends per push):
//   open_valid          CallbackCodec::Open on a valid push (signature, AES, event JSON)
//   open_bad_signature  CallbackCodec::Open on the same push with one signature digit changed
//   success_reply       CallbackCodec::SuccessReply (nonce, AES encrypt, SHA-1, reply JSON)
// A plain timing loop, single thread; one JSON line per case on stdout (bench/results format,
// ../shared/BENCH.md): median ns/op over --reps repetitions of --iters operations, min and max.
//
// Usage: callback_codec_bench [--iters=N] [--reps=N] [--case=NAME] [--label=TEXT]
// Instructions per op: run one case under valgrind --tool=callgrind with two --iters values and
// divide the difference of the totals by the difference of the iteration counts.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "callback/crypto.h"
#include "callback/inbound.h"

namespace {

using sase::callback::CallbackCodec;
using sase::callback::CallbackKeys;
using sase::callback::CallbackQuery;

constexpr char kAesKey[] = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij";
constexpr char kToken[] = "bench-token";
constexpr char kAppKey[] = "dingbenchappkey0001";

std::string FlagValue(int argc, char** argv, std::string_view name, std::string fallback) {
  const std::string prefix = "--" + std::string(name) + "=";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    if (arg.substr(0, prefix.size()) == prefix) return std::string(arg.substr(prefix.size()));
  }
  return fallback;
}

// Keeps the optimiser from dropping a result.
template <typename T>
void Consume(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace

int main(int argc, char** argv) {
  const long iters = std::strtol(FlagValue(argc, argv, "iters", "20000").c_str(), nullptr, 10);
  const long reps = std::strtol(FlagValue(argc, argv, "reps", "7").c_str(), nullptr, 10);
  const std::string only = FlagValue(argc, argv, "case", "");
  const std::string label = FlagValue(argc, argv, "label", "");
  if (iters <= 0 || reps <= 0) {
    std::fprintf(stderr, "--iters and --reps must be positive\n");
    return 2;
  }

  CallbackKeys keys;
  keys.token = kToken;
  keys.aes_key = kAesKey;
  keys.app_key = kAppKey;
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(keys);
  if (!codec.ok()) {
    std::fprintf(stderr, "codec: %s\n", std::string(codec.status().message()).c_str());
    return 2;
  }
  // The same event shape as bench/ingress_loadgen.cc.
  const absl::Time now = absl::Now();
  const std::string ts = std::to_string(absl::ToUnixMillis(now));
  const std::string event =
      "{\"EventTime\":" + ts +
      ",\"EventType\":\"user_modify_org\",\"eventId\":\"bench-1764289000000000-12345\","
      "\"userId\":[\"user12345\"]}";
  absl::StatusOr<std::string> encrypt = codec->cipher().Encrypt(event, kAppKey);
  if (!encrypt.ok()) return 2;
  CallbackQuery good;
  good.timestamp = ts;
  good.nonce = "n12345";
  good.signature = sase::callback::ComputeSignature(kToken, ts, good.nonce, *encrypt);
  CallbackQuery bad = good;
  bad.signature[0] = bad.signature[0] == 'a' ? 'b' : 'a';
  const std::string body = "{\"encrypt\":\"" + *encrypt + "\"}";
  if (!codec->Open(good, body, now).ok() || codec->Open(bad, body, now).ok()) {
    std::fprintf(stderr, "fixture push does not behave as expected\n");
    return 2;
  }

  struct Case {
    const char* name;
    std::function<bool()> op;
  };
  const std::vector<Case> cases = {
      {"open_valid",
       [&] {
         auto r = codec->Open(good, body, now);
         Consume(r);
         return r.ok();
       }},
      {"open_bad_signature",
       [&] {
         auto r = codec->Open(bad, body, now);
         Consume(r);
         return !r.ok();
       }},
      {"success_reply",
       [&] {
         auto r = codec->SuccessReply(kAppKey, now);
         Consume(r);
         return r.ok();
       }},
  };

  for (const Case& c : cases) {
    if (!only.empty() && only != c.name) continue;
    for (long i = 0; i < std::min(iters, 1000L); ++i) c.op();  // warm-up
    std::vector<double> ns_per_op;
    for (long r = 0; r < reps; ++r) {
      bool ok = true;
      const auto start = std::chrono::steady_clock::now();
      for (long i = 0; i < iters; ++i) ok = c.op() && ok;
      const auto elapsed = std::chrono::steady_clock::now() - start;
      if (!ok) {
        std::fprintf(stderr, "%s: unexpected result\n", c.name);
        return 1;
      }
      ns_per_op.push_back(
          static_cast<double>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
          static_cast<double>(iters));
    }
    std::sort(ns_per_op.begin(), ns_per_op.end());
    const double median = ns_per_op[ns_per_op.size() / 2];
    std::printf(
        "{\"bench\":\"callback_codec.%s\",\"metric\":\"ns_per_op\",\"value\":%.0f,\"unit\":\"ns\","
        "\"runs\":%ld,\"stat\":\"median\",\"min\":%.0f,\"max\":%.0f,\"iters\":%ld,\"body_bytes\":%zu,"
        "\"threads\":1,\"label\":\"%s\"}\n",
        c.name, median, reps, ns_per_op.front(), ns_per_op.back(), iters, body.size(),
        label.c_str());
    std::fflush(stdout);
  }
  return 0;
}

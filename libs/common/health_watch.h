#pragma once
// Readiness of a dependency, checked in the background so that answering "are you ready?" never
// waits on it: every `interval` a thread runs `check` (a database ping, a health RPC) and keeps
// its last answer. A change of state (and only a change) is logged and reported to `on_change`.
//
//   HealthWatch db("database", [&] { return pool.RunStatus(ping); }, absl::Seconds(1),
//                  [&](bool ok) { host.SetServing("sase.dingtalk.v1.SyncService", ok); });
//   db.Start();
//   absl::Status s = db.status();  // OK, or the last failure
//
// Until the first check has run the status is UNAVAILABLE ("not checked yet").

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sase::common {

class HealthWatch {
 public:
  HealthWatch(std::string name, std::function<absl::Status()> check, absl::Duration interval,
              std::function<void(bool ok)> on_change = {});
  ~HealthWatch();  // stops
  HealthWatch(const HealthWatch&) = delete;
  HealthWatch& operator=(const HealthWatch&) = delete;

  // Runs the first check synchronously, then keeps checking on a background thread.
  void Start();
  void Stop();
  // The last check's result.
  absl::Status status() const;

 private:
  void CheckOnce();

  const std::string name_;
  const std::function<absl::Status()> check_;
  const absl::Duration interval_;
  const std::function<void(bool)> on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool checked_ = false;
  absl::Status status_ = absl::UnavailableError("not checked yet");
  std::thread thread_;
};

}  // namespace sase::common

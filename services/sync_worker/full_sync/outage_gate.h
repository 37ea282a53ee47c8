#pragma once
// Carries one full-sync run through a DingTalk outage instead of failing it.
//
// Every DingTalk call of a run goes through its gate. When a call fails with a retryable reason
// after the client's own retries (DingTalk unreachable: gateway 5xx, dropped connections, the
// IP-ban page; or throttling that outlasted them), the gate closes: the run waits (capped
// exponential back-off; the IP ban, documented to last minutes, at least ip_ban_wait) and then
// repeats the call. While the gate is closed no worker of the run calls DingTalk; the first call
// that succeeds opens it again. The waiting of one run is bounded by `budget`: a call that would
// wait beyond it returns its error, and the run fails (and is retried later as a whole,
// store::RetryBackoff).
//
//   OutageGate gate(clock, policy, hooks);
//   absl::StatusOr<UserPage> page = gate.Call(cancel, [&] { return client.ListUsersPage(...); });
//
// Thread-safe. Waiting is cancellable: a cancelled wait returns the call's last error at once.

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace sase::sync_worker {

struct OutagePolicy {
  absl::Duration first_wait = absl::Seconds(5);   // first pause of an outage
  absl::Duration max_wait = absl::Minutes(1);     // cap of the doubling pauses
  absl::Duration ip_ban_wait = absl::Minutes(5);  // each pause while DingTalk shows the IP-ban page
  absl::Duration budget = absl::Minutes(30);      // total pausing of one run before it fails
};

// Called outside the gate's lock: when the gate closes on the first failure of an outage, and
// when a call succeeds after one (with the total paused so far).
struct OutageHooks {
  std::function<void(const std::string& reason, absl::Time until)> paused;
  std::function<void(absl::Duration paused_for)> resumed;
};

class OutageGate {
 public:
  OutageGate(common::Clock& clock, OutagePolicy policy, OutageHooks hooks = {});

  // Runs fn (returning absl::Status or absl::StatusOr<T>) until it succeeds, fails with a reason
  // that is not retryable, the budget is spent or `cancel` is set; returns its last result.
  template <typename Fn>
  auto Call(const std::atomic<bool>& cancel, Fn fn) -> decltype(fn()) {
    for (;;) {
      WaitWhileClosed(cancel);
      auto result = fn();
      if (result.ok()) {
        Opened();
        return result;
      }
      if (cancel.load() || !CloseAfter(StatusOf(result), cancel)) return result;
    }
  }

  struct Waiting {
    absl::Time until;
    std::string reason;  // "ip_ban", "unreachable" or "throttled"
  };
  // Set while the gate is closed.
  std::optional<Waiting> Current();
  // Total paused so far in this run.
  absl::Duration paused() const;
  // Between the first failure of an outage (the `paused` hook) and the success that ends it (the
  // `resumed` hook); still true when the run gave up waiting.
  bool in_outage() const;

  // The pause reason of a retryable failure ("ip_ban", "unreachable", "throttled"); "" when the
  // failure is not one to wait out.
  static std::string PauseReason(const absl::Status& failure);

 private:
  static const absl::Status& StatusOf(const absl::Status& s) { return s; }
  template <typename T>
  static const absl::Status& StatusOf(const T& r) {
    return r.status();
  }
  void WaitWhileClosed(const std::atomic<bool>& cancel);
  // After a failed call: false when it is not to be waited out (or the budget is spent);
  // otherwise closes the gate (if no other worker has) and waits until it reopens.
  bool CloseAfter(const absl::Status& failure, const std::atomic<bool>& cancel);
  void SleepUntil(absl::Time until, const std::atomic<bool>& cancel);
  void Opened();

  common::Clock& clock_;
  const OutagePolicy policy_;
  const OutageHooks hooks_;
  mutable std::mutex mu_;
  absl::Time until_ = absl::InfinitePast();  // closed while until_ > now
  std::string reason_;
  int streak_ = 0;  // pauses since the last success
  absl::Duration paused_ = absl::ZeroDuration();
};

}  // namespace sase::sync_worker

#include "sync_worker/full_sync/outage_gate.h"

#include <algorithm>
#include <cmath>

#include "dingtalk/error.h"

namespace sase::sync_worker {

namespace {
// Waits are sliced so a cancelled run stops waiting promptly.
constexpr absl::Duration kSlice = absl::Milliseconds(200);
}  // namespace

OutageGate::OutageGate(common::Clock& clock, OutagePolicy policy, OutageHooks hooks)
    : clock_(clock), policy_(policy), hooks_(std::move(hooks)) {}

std::string OutageGate::PauseReason(const absl::Status& failure) {
  const dingtalk::ApiError reason = dingtalk::ReasonOf(failure);
  if (!dingtalk::IsRetryable(reason)) return "";
  if (dingtalk::DingTalkCodeOf(failure) == "ip_ban") return "ip_ban";
  return std::string(dingtalk::ReasonName(reason));
}

std::optional<OutageGate::Waiting> OutageGate::Current() {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (until_ <= now) return std::nullopt;
  return Waiting{until_, reason_};
}

absl::Duration OutageGate::paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_;
}

bool OutageGate::in_outage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streak_ > 0;
}

void OutageGate::SleepUntil(absl::Time until, const std::atomic<bool>& cancel) {
  for (absl::Time now = clock_.Now(); now < until && !cancel.load(); now = clock_.Now()) {
    clock_.SleepFor(std::min(until - now, kSlice));
  }
}

void OutageGate::WaitWhileClosed(const std::atomic<bool>& cancel) {
  absl::Time until;
  {
    std::lock_guard<std::mutex> lock(mu_);
    until = until_;
  }
  SleepUntil(until, cancel);
}

bool OutageGate::CloseAfter(const absl::Status& failure, const std::atomic<bool>& cancel) {
  const std::string reason = PauseReason(failure);
  if (reason.empty()) return false;
  const absl::Time now = clock_.Now();
  absl::Time until;
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (until_ > now) {
      until = until_;  // another worker closed the gate for this outage already
    } else {
      absl::Duration wait = reason == "ip_ban"
                                ? policy_.ip_ban_wait
                                : std::min(policy_.max_wait, policy_.first_wait * std::pow(2.0, std::min(streak_, 20)));
      if (paused_ + wait > policy_.budget) return false;
      first = streak_ == 0;
      ++streak_;
      paused_ += wait;
      until_ = now + wait;
      reason_ = reason;
      until = until_;
    }
  }
  if (first && hooks_.paused) hooks_.paused(reason, until);
  SleepUntil(until, cancel);
  return !cancel.load();
}

void OutageGate::Opened() {
  absl::Duration paused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (streak_ == 0) return;
    streak_ = 0;
    until_ = absl::InfinitePast();
    reason_.clear();
    paused = paused_;
  }
  if (hooks_.resumed) hooks_.resumed(paused);
}

}  // namespace sase::sync_worker

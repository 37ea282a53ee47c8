#include "common/health_watch.h"

#include "common/log.h"

namespace sase::common {

HealthWatch::HealthWatch(std::string name, std::function<absl::Status()> check, absl::Duration interval,
                         std::function<void(bool ok)> on_change)
    : name_(std::move(name)), check_(std::move(check)), interval_(interval), on_change_(std::move(on_change)) {}

HealthWatch::~HealthWatch() { Stop(); }

void HealthWatch::Start() {
  CheckOnce();
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> held(mu_);
    while (!cv_.wait_for(held, absl::ToChronoMilliseconds(interval_), [&] { return stopping_; })) {
      held.unlock();
      CheckOnce();
      held.lock();
    }
  });
}

void HealthWatch::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status HealthWatch::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void HealthWatch::CheckOnce() {
  absl::Status now = check_();
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = !checked_ || now.ok() != status_.ok();
    checked_ = true;
    status_ = now;
  }
  if (!changed) return;
  if (now.ok()) {
    LogInfo("dependency ready", {{"dependency", name_}});
  } else {
    LogWarn("dependency not ready", {{"dependency", name_}, {"reason", std::string(now.message())}});
  }
  if (on_change_) on_change_(now.ok());
}

}  // namespace sase::common

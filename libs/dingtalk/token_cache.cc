#include "dingtalk/token_cache.h"

#include <algorithm>

namespace sase::dingtalk {

TokenCache::TokenCache(Fetch fetch, common::Clock& clock, absl::Duration refresh_early)
    : fetch_(std::move(fetch)), clock_(clock), refresh_early_(refresh_early) {}

bool TokenCache::Fresh(absl::Time now) const {
  if (token_.token.empty()) return false;
  const absl::Duration margin = std::min(refresh_early_, (token_.expires_at - fetched_at_) / 4);
  return now < token_.expires_at - margin;
}

absl::StatusOr<AccessToken> TokenCache::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    absl::Time now = clock_.Now();
    if (Fresh(now)) return token_;
    if (refreshing_) {
      // Someone else is fetching: use the old token while it still works, else wait for the result.
      if (!token_.token.empty() && now < token_.expires_at) return token_;
      uint64_t gen = generation_;
      ++waiting_;
      cv_.wait(lock, [&] { return generation_ != gen; });
      --waiting_;
      if (!last_fetch_status_.ok()) return last_fetch_status_;
      continue;
    }
    refreshing_ = true;
    lock.unlock();
    absl::StatusOr<AccessToken> fetched = fetch_();
    lock.lock();
    refreshing_ = false;
    ++generation_;
    if (fetched.ok()) {
      token_ = *fetched;
      fetched_at_ = now;
      last_fetch_status_ = absl::OkStatus();
      ++refreshes_;
    } else {
      last_fetch_status_ = fetched.status();
    }
    cv_.notify_all();
    if (!fetched.ok()) return fetched.status();
    return token_;
  }
}

void TokenCache::Invalidate(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!token.empty() && token_.token == token) token_ = AccessToken{};
}

int64_t TokenCache::refreshes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refreshes_;
}

int TokenCache::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

}  // namespace sase::dingtalk

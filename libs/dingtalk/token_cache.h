#pragma once
// Caches one app's access token and refreshes it single-flight.
//
// Get() returns the cached token while it is valid for longer than the refresh margin —
// `refresh_early`, but never more than a quarter of the token's lifetime, so a token DingTalk
// issues for less than the margin is not refetched on every call; otherwise one
// caller runs `fetch` while concurrent callers wait for that one result (they never start a second
// fetch). While a proactive refresh runs, callers still get the old token if it has not expired.
// Invalidate(token) drops the token after DingTalk rejected it, unless it was already replaced.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "dingtalk/types.h"

namespace sase::dingtalk {

class TokenCache {
 public:
  using Fetch = std::function<absl::StatusOr<AccessToken>()>;

  TokenCache(Fetch fetch, common::Clock& clock, absl::Duration refresh_early);

  absl::StatusOr<AccessToken> Get();
  void Invalidate(const std::string& token);
  int64_t refreshes() const;  // successful fetches
  int waiting() const;        // callers blocked on an in-flight fetch (for tests)

 private:
  bool Fresh(absl::Time now) const;

  Fetch fetch_;
  common::Clock& clock_;
  const absl::Duration refresh_early_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  AccessToken token_;  // empty token = none
  absl::Time fetched_at_;
  bool refreshing_ = false;
  uint64_t generation_ = 0;  // completed fetches (ok or not)
  absl::Status last_fetch_status_;
  int64_t refreshes_ = 0;
  int waiting_ = 0;
};

}  // namespace sase::dingtalk

#pragma once
// Callback keys of identity sources, fetched from sync_worker (GetCallbackKeys) and cached.
// An entry is reused until it is older than `ttl`; a caller whose signature check failed asks
// for a refresh, which is honoured when the entry is older than `min_refresh_age` — so rotating
// the aes_key or token in the console takes effect without a restart, and bad pushes cannot
// turn into a refresh storm: at most one forced refresh per source per `min_refresh_age`, however
// many bad pushes arrive at once (the others keep using the cached entry), and at most one fetch in
// flight per source when an entry expires (the others serve the expiring entry meanwhile).

#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "callback/inbound.h"

namespace sase::ingress {

struct SourceKeys {
  std::string tenant_id;
  bool enabled = true;
  int64_t version = 0;
  callback::CallbackKeys keys;
};

// Fetches one source's keys; NotFound for an unknown source, Unavailable when sync_worker is down.
using KeyFetcher = std::function<absl::StatusOr<SourceKeys>(const std::string& idp_id)>;

struct CachedKeys {
  std::string tenant_id;
  int64_t version = 0;
  absl::Time fetched_at;
  // Null when the stored keys are unusable (e.g. no aes_key configured): pushes get 401.
  std::shared_ptr<const callback::CallbackCodec> codec;
};

class KeyCache {
 public:
  struct Options {
    absl::Duration ttl = absl::Seconds(60);
    absl::Duration min_refresh_age = absl::Seconds(2);
    absl::Duration negative_ttl = absl::Seconds(1);
  };
  // `clock` ages the entries (tests pass a FakeClock).
  KeyCache(KeyFetcher fetcher, common::Clock& clock, Options options)
      : fetcher_(std::move(fetcher)), clock_(clock), options_(options) {}

  // `refresh`: the caller's signature check failed against the returned entry.
  absl::StatusOr<std::shared_ptr<const CachedKeys>> Get(const std::string& idp_id, bool refresh = false);
  // Get without blocking: what Get would return when that needs no fetch, else nullopt (the
  // caller then runs Get where blocking is allowed). Changes nothing.
  std::optional<absl::StatusOr<std::shared_ptr<const CachedKeys>>> TryGet(const std::string& idp_id,
                                                                         bool refresh = false);

  int64_t fetches() const { return fetches_.load(); }

 private:
  // Under mu_: the answer that needs no fetch, or nullopt. `claim` records a forced refresh
  // (Get is about to fetch); TryGet only asks.
  std::optional<absl::StatusOr<std::shared_ptr<const CachedKeys>>> CachedLocked(
      const std::string& idp_id, bool refresh, absl::Time now, bool claim);

  KeyFetcher fetcher_;
  common::Clock& clock_;
  Options options_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const CachedKeys>> entries_;
  absl::flat_hash_map<std::string, absl::Time> not_found_;
  // Per source: when a fetch forced by a failed signature last started; sources being fetched.
  absl::flat_hash_map<std::string, absl::Time> last_forced_;
  absl::flat_hash_map<std::string, int> in_flight_;
  std::atomic<int64_t> fetches_{0};
};

}  // namespace sase::ingress

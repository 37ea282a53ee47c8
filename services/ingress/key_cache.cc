#include "ingress/key_cache.h"

namespace sase::ingress {

std::optional<absl::StatusOr<std::shared_ptr<const CachedKeys>>> KeyCache::CachedLocked(
    const std::string& idp_id, bool refresh, absl::Time now, bool claim) {
  auto nf = not_found_.find(idp_id);
  if (nf != not_found_.end()) {
    if (now - nf->second < options_.negative_ttl) return absl::NotFoundError("unknown identity source");
    if (claim) not_found_.erase(nf);
  }
  auto it = entries_.find(idp_id);
  if (it == entries_.end()) return std::nullopt;
  bool stale = now - it->second->fetched_at >= options_.ttl;
  bool may_refresh = false;
  if (refresh && now - it->second->fetched_at >= options_.min_refresh_age) {
    // One forced refresh per min_refresh_age, whatever its outcome: a flood of bad
    // signatures refetches once, the rest use the entry they already failed against.
    auto last = last_forced_.find(idp_id);
    if (last == last_forced_.end() || now - last->second >= options_.min_refresh_age) {
      if (claim) last_forced_[idp_id] = now;
      may_refresh = true;
    }
  }
  // An expiring entry is refetched by one caller; the others keep serving it meanwhile.
  auto fetching = in_flight_.find(idp_id);
  if (!may_refresh && (!stale || (fetching != in_flight_.end() && fetching->second > 0))) return it->second;
  return std::nullopt;
}

std::optional<absl::StatusOr<std::shared_ptr<const CachedKeys>>> KeyCache::TryGet(const std::string& idp_id,
                                                                                   bool refresh) {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  return CachedLocked(idp_id, refresh, now, /*claim=*/false);
}

absl::StatusOr<std::shared_ptr<const CachedKeys>> KeyCache::Get(const std::string& idp_id, bool refresh) {
  const absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto cached = CachedLocked(idp_id, refresh, now, /*claim=*/true)) return *std::move(cached);
    ++in_flight_[idp_id];
  }
  fetches_.fetch_add(1);
  absl::StatusOr<SourceKeys> fetched = fetcher_(idp_id);
  std::lock_guard<std::mutex> lock(mu_);
  if (--in_flight_[idp_id] == 0) in_flight_.erase(idp_id);
  if (!fetched.ok()) {
    if (absl::IsNotFound(fetched.status())) {
      entries_.erase(idp_id);
      last_forced_.erase(idp_id);
      not_found_[idp_id] = now;
    } else if (auto it = entries_.find(idp_id); it != entries_.end()) {
      return it->second;  // sync_worker unreachable: keep serving the keys we have
    }
    return fetched.status();
  }
  auto entry = std::make_shared<CachedKeys>();
  entry->tenant_id = fetched->tenant_id;
  entry->version = fetched->version;
  entry->fetched_at = now;
  absl::StatusOr<callback::CallbackCodec> codec = callback::CallbackCodec::Create(fetched->keys);
  if (codec.ok()) entry->codec = std::make_shared<const callback::CallbackCodec>(std::move(*codec));
  entries_[idp_id] = entry;
  return std::shared_ptr<const CachedKeys>(entry);
}

}  // namespace sase::ingress

#pragma once
// What the full sync, the event processor and the connectivity probe need of one identity source:
// its settings with the decrypted AppSecret (never logged, never returned over the API), and a
// DingTalk client for it. One SourceClients per process, shared by all three, so a source has one
// client (one token cache) per version: an update of the source (new AppSecret) gets a new one.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "dingtalk/client.h"
#include "store/identity_source_repository.h"
#include "store/pg_pool.h"
#include "store/secret_box.h"

namespace sase::sync_worker {

using SourceConfig = store::IdentitySourceWithSecret;

// Builds a DingTalk client for a source (the composition root decides the base URLs, rate limiter
// and metrics; sync_wiring.h). Called once per source version.
using ClientFactory = std::function<absl::StatusOr<std::shared_ptr<dingtalk::Client>>(const SourceConfig&)>;

class SourceClients {
 public:
  SourceClients(store::PgPool& pool, const store::SecretBox& box, ClientFactory factory);

  // NOT_FOUND unless the source exists in the tenant.
  absl::StatusOr<SourceConfig> Load(const std::string& tenant, const std::string& idp_id);
  // The cached client of this source version (made on first use). Thread-safe.
  absl::StatusOr<std::shared_ptr<dingtalk::Client>> ClientFor(const SourceConfig& src);
  // A new client, never cached (the connectivity test must not reuse a token).
  absl::StatusOr<std::shared_ptr<dingtalk::Client>> FreshClient(const SourceConfig& src) const;

 private:
  store::IdentitySourceRepository repo_;
  ClientFactory factory_;
  std::mutex mu_;
  std::map<std::string, std::pair<int64_t, std::shared_ptr<dingtalk::Client>>> clients_;  // idp -> version, client
};

}  // namespace sase::sync_worker

#include "sync_worker/source/source_config.h"

#include <utility>

namespace sase::sync_worker {

SourceClients::SourceClients(store::PgPool& pool, const store::SecretBox& box, ClientFactory factory)
    : repo_(pool, box), factory_(std::move(factory)) {}

absl::StatusOr<SourceConfig> SourceClients::Load(const std::string& tenant, const std::string& idp_id) {
  return repo_.GetWithAppSecret(tenant, idp_id);
}

absl::StatusOr<std::shared_ptr<dingtalk::Client>> SourceClients::ClientFor(const SourceConfig& src) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(src.record.idp_id);
  if (it != clients_.end() && it->second.first == src.record.version) return it->second.second;
  absl::StatusOr<std::shared_ptr<dingtalk::Client>> c = factory_(src);
  if (!c.ok()) return c.status();
  clients_[src.record.idp_id] = {src.record.version, *c};
  return *c;
}

absl::StatusOr<std::shared_ptr<dingtalk::Client>> SourceClients::FreshClient(const SourceConfig& src) const {
  return factory_(src);
}

}  // namespace sase::sync_worker

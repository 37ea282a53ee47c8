#include "sync_worker/source_config.h"

#include "common/status_macros.h"

namespace sase::sync_worker {

absl::StatusOr<SourceConfig> SourceConfigLoader::Load(const std::string& tenant, const std::string& idp_id) {
  SourceConfig out;
  ASSIGN_OR_RETURN(out.record, repo_.Get(tenant, idp_id));
  ASSIGN_OR_RETURN(std::string envelope, pool_.Run<std::string>([&](pqxx::connection& c) -> absl::StatusOr<std::string> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        "SELECT app_secret_enc FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid", tenant, idp_id);
    if (r.empty()) return absl::NotFoundError("identity source " + idp_id + " not found");
    if (r[0][0].is_null()) return std::string();
    pqxx::binarystring b(r[0][0]);
    return b.str();
  }));
  if (!envelope.empty()) {
    absl::StatusOr<std::string> secret = box_.Open(envelope, store::SecretBox::Aad(tenant, idp_id, "app_secret"));
    if (!secret.ok()) return absl::InternalError("identity source app_secret cannot be decrypted");
    out.app_secret = std::move(*secret);
  }
  return out;
}

}  // namespace sase::sync_worker

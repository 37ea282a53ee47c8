#pragma once
// What the sync engine and the connectivity probe need of one identity source: its settings and
// its decrypted AppSecret (never logged, never returned over the API).

#include <string>

#include "absl/status/statusor.h"
#include "store/identity_source_repository.h"
#include "store/pg_pool.h"
#include "store/secret_box.h"

namespace sase::sync_worker {

struct SourceConfig {
  store::IdentitySourceRecord record;  // secrets masked
  std::string app_secret;              // decrypted; "" when unset
};

class SourceConfigLoader {
 public:
  SourceConfigLoader(store::PgPool& pool, const store::SecretBox& box) : pool_(pool), box_(box), repo_(pool, box) {}

  // NOT_FOUND unless the source exists in the tenant.
  absl::StatusOr<SourceConfig> Load(const std::string& tenant, const std::string& idp_id);

 private:
  store::PgPool& pool_;
  const store::SecretBox& box_;
  store::IdentitySourceRepository repo_;
};

}  // namespace sase::sync_worker

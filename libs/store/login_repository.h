#pragma once
// What logging on with DingTalk reads and writes in PostgreSQL:
//   - tenant_settings: the enterprise identifier employees type to find their tenant's logon options;
//   - the logon view of identity sources (no secrets) and of synced users;
//   - login_nonces: each signed state is usable once, across every replica;
//   - login_signing_keys: the public keys that signed assertions, published until those expire.
//
// A refused logon writes nothing here except the nonce it consumed.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/pg_pool.h"

namespace sase::store {

struct TenantSettingsRecord {
  std::string tenant_id;
  std::string enterprise_id;  // "" when unset
  int64_t version = 0;        // 0: nothing stored yet
  absl::Time update_time{};
};

class TenantSettingsRepository {
 public:
  explicit TenantSettingsRepository(PgPool& pool) : pool_(pool) {}
  // Empty settings (version 0) for a tenant that never stored any.
  absl::StatusOr<TenantSettingsRecord> Get(const std::string& tenant_id);
  // Stores the enterprise identifier (already validated and lower-cased; "" clears it).
  // expected_version non-zero: ABORTED unless it matches. ALREADY_EXISTS naming enterprise_id when
  // another tenant uses it.
  absl::StatusOr<TenantSettingsRecord> Update(const std::string& tenant_id, const std::string& enterprise_id,
                                              int64_t expected_version);

 private:
  PgPool& pool_;
};

// An identity source as the logon needs it: public settings only.
struct LoginSourceRecord {
  std::string tenant_id;
  std::string idp_id;
  std::string name;
  std::string description;
  int status = 0;  // sase.dingtalk.v1.IdentitySourceStatus
  std::string app_key;
  std::string corp_id;
  int dingtalk_type = 0;  // sase.dingtalk.v1.DingTalkType
  std::vector<std::string> redirect_uris;
};

// A synced user as the logon needs it.
struct LoginUserRecord {
  std::string user_id;
  std::string tenant_id;
  std::string dingtalk_userid;
  std::string name;
  int status = 0;       // sase.dingtalk.v1.UserStatus
  bool active = false;  // DingTalk's "active" (account activated)
  std::vector<int64_t> dept_ids;
};

class LoginRepository {
 public:
  explicit LoginRepository(PgPool& pool) : pool_(pool) {}

  // ENABLED sources of the tenant whose enterprise identifier this is (compared in lower case),
  // ordered by name; empty for an unknown identifier.
  absl::StatusOr<std::vector<LoginSourceRecord>> ListEnabledForEnterprise(const std::string& enterprise_id);
  // One source by idp_id alone, any status. NOT_FOUND when absent.
  absl::StatusOr<LoginSourceRecord> GetSource(const std::string& idp_id);

  // Marks the nonce used. True the first time; false when it was already used (a replay).
  absl::StatusOr<bool> ConsumeNonce(const std::string& nonce, const std::string& idp_id, absl::Time expires_at);
  // Forgets nonces whose states have expired (they could not be replayed anyway). Returns how many.
  absl::StatusOr<int64_t> PurgeExpiredNonces();

  // The synced user with this DingTalk userid in the source, nullopt when not synced.
  absl::StatusOr<std::optional<LoginUserRecord>> FindUser(const std::string& idp_id, const std::string& dingtalk_userid);

  // Records that the key `kid` (public JWK JSON) signs now: inserted on first use, last_used_at
  // refreshed after.
  absl::Status TouchSigningKey(const std::string& kid, const std::string& public_jwk_json);
  // Public JWKs of the keys used within `max_age` (newest use first).
  absl::StatusOr<std::vector<std::string>> RecentSigningKeys(absl::Duration max_age);

 private:
  PgPool& pool_;
};

}  // namespace sase::store

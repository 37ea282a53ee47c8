#pragma once
// Identity sources in PostgreSQL (table identity_sources). Every statement filters on tenant_id,
// except GetCallbackKeys, which ingress calls with only the idp_id of the push URL.
//
// Secrets (app_secret, aes_key, token) are stored only as SecretBox envelopes bound to
// (tenant_id, idp_id, column). Reads never return them: a set secret reads as kSecretMask with its
// *_set flag true. Only GetCallbackKeys (aes_key and token, for ingress) and GetWithAppSecret
// (the AppSecret, for sync_worker's DingTalk calls) decrypt.
//
// Create, Update and Delete append a change_log row (kChangeIdentitySourceUpdated / Deleted, empty
// payload, origin "admin") in the same transaction and NOTIFY watchers.
//
//   IdentitySourceRepository repo(pool, box);
//   ASSIGN_OR_RETURN(IdentitySourceRecord src, repo.Create(record));
//   ASSIGN_OR_RETURN(src, repo.Update(tenant, src.idp_id, src.version,
//       [&](IdentitySourceRecord& r, SecretChanges& s) { r.name = "new"; s.token = "t"; return absl::OkStatus(); }));

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/field_mapping_record.h"
#include "store/pg_pool.h"
#include "store/secret_box.h"

namespace sase::store {

inline constexpr char kSecretMask[] = "********";
// sase.dingtalk.v1.ChangeKind values (the service static_asserts they match the proto).
inline constexpr int kChangeIdentitySourceUpdated = 8;
inline constexpr int kChangeIdentitySourceDeleted = 9;

struct IdentitySourceRecord {
  std::string tenant_id;
  std::string idp_id;  // assigned by Create
  std::string name;
  std::string description;
  int status = 0;  // sase.dingtalk.v1.IdentitySourceStatus
  std::string corp_id;
  std::string app_key;
  // Create: plaintext, empty = unset. Reads: kSecretMask when set, else empty.
  std::string app_secret;
  std::string aes_key;
  std::string token;
  // Output only.
  bool app_secret_set = false;
  bool aes_key_set = false;
  bool token_set = false;
  int dingtalk_type = 0;  // sase.dingtalk.v1.DingTalkType
  bool accept_corp_id_receiver = false;
  bool auto_sync = false;
  bool sync_user_info = true;
  int sync_cycle_hours = 0;
  std::vector<int64_t> scope_root_dept_ids;
  std::vector<FieldMappingRecord> field_mappings;
  int deletion_max_departures = 0;
  double deletion_max_percent = 0;
  std::vector<std::string> login_redirect_uris;  // logon: allowed client redirects (exact match)
  // Output only.
  int64_t version = 0;
  absl::Time create_time{};
  absl::Time update_time{};
};

// Secrets an Update replaces: nullopt keeps the stored value, "" clears it, anything else is
// encrypted and stored.
struct SecretChanges {
  std::optional<std::string> app_secret;
  std::optional<std::string> aes_key;
  std::optional<std::string> token;
};

// Decrypted callback keys of one source (internal: ingress only).
struct CallbackKeysRecord {
  std::string tenant_id;
  std::string idp_id;
  int status = 0;
  std::string app_key;
  std::string corp_id;
  bool accept_corp_id_receiver = false;
  std::string aes_key;  // "" when unset
  std::string token;    // "" when unset
  int64_t version = 0;
};

// One source with its decrypted AppSecret (internal: sync_worker only, never logged or returned
// over the API). Record and secret come from the same row version.
struct IdentitySourceWithSecret {
  IdentitySourceRecord record;  // secrets masked
  std::string app_secret;       // "" when unset
};

struct IdentitySourcePage {
  std::vector<IdentitySourceRecord> items;
  std::string next_page_token;  // "" on the last page
};

class IdentitySourceRepository {
 public:
  // Applied inside the update transaction to the current (masked) record; an error aborts the update.
  using Mutator = std::function<absl::Status(IdentitySourceRecord& record, SecretChanges& secrets)>;

  IdentitySourceRepository(PgPool& pool, const SecretBox& box) : pool_(pool), box_(box) {}

  // Stores `in` (tenant_id and the fields; idp_id, version and times are ignored) under a new idp_id.
  // ALREADY_EXISTS naming "name" on a duplicate name in the tenant; INVALID_ARGUMENT naming
  // "field_mappings" when a mapping targets "ext.<name>" for a field the tenant lacks.
  absl::StatusOr<IdentitySourceRecord> Create(const IdentitySourceRecord& in);
  // NOT_FOUND unless the source exists in this tenant.
  absl::StatusOr<IdentitySourceRecord> Get(const std::string& tenant_id, const std::string& idp_id);
  // Ordered by name; page_token from a previous page ("" for the first).
  absl::StatusOr<IdentitySourcePage> List(const std::string& tenant_id, int page_size, const std::string& page_token);
  // Locks the row, checks expected_version (non-zero: ABORTED on mismatch), applies mutate, writes
  // the result and bumps version. NOT_FOUND, ALREADY_EXISTS (name) and INVALID_ARGUMENT as above.
  absl::StatusOr<IdentitySourceRecord> Update(const std::string& tenant_id, const std::string& idp_id,
                                              int64_t expected_version, const Mutator& mutate);
  // Deletes the source; users, departments, runs and inbox rows cascade. NOT_FOUND when absent.
  absl::Status Delete(const std::string& tenant_id, const std::string& idp_id);

  // Get plus the decrypted AppSecret, in one read. NOT_FOUND as Get; INTERNAL when the envelope
  // does not open (wrong key-encryption key), without naming the secret.
  absl::StatusOr<IdentitySourceWithSecret> GetWithAppSecret(const std::string& tenant_id, const std::string& idp_id);

  // The idp_id alone names the source (the push URL carries nothing else). NOT_FOUND when absent.
  absl::StatusOr<CallbackKeysRecord> GetCallbackKeys(const std::string& idp_id);
  // The tenant that owns idp_id, NOT_FOUND when absent.
  absl::StatusOr<std::string> TenantOf(const std::string& idp_id);

  // Keys of DingTalk's custom `extension` JSON seen in this source's synced users, sorted, at most
  // `limit`: keys of users.attributes->'extension' (an object) and top-level attribute keys
  // "extension.<key>". NOT_FOUND when the source is not in the tenant.
  absl::StatusOr<std::vector<std::string>> ListExtensionKeys(const std::string& tenant_id, const std::string& idp_id,
                                                             int limit);

 private:
  PgPool& pool_;
  const SecretBox& box_;
};

}  // namespace sase::store

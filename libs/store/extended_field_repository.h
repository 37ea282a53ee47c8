#pragma once
// A tenant's extended (custom) user fields, the "ext.<name>" targets of field mappings (table
// extended_fields). Every statement filters on tenant_id.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/pg_pool.h"

namespace sase::store {

struct ExtendedFieldRecord {
  std::string tenant_id;
  std::string name;
  std::string display_name;
  int type = 0;  // sase.dingtalk.v1.FieldType
  // Output only.
  absl::Time create_time{};
  absl::Time update_time{};
};

class ExtendedFieldRepository {
 public:
  explicit ExtendedFieldRepository(PgPool& pool) : pool_(pool) {}

  // ALREADY_EXISTS naming "name" when the tenant has a field of that name.
  absl::StatusOr<ExtendedFieldRecord> Create(const ExtendedFieldRecord& in);
  // Every field of the tenant, ordered by name.
  absl::StatusOr<std::vector<ExtendedFieldRecord>> List(const std::string& tenant_id);
  // Replaces display_name and type; NOT_FOUND when absent.
  absl::StatusOr<ExtendedFieldRecord> Update(const ExtendedFieldRecord& in);
  // NOT_FOUND when absent; FAILED_PRECONDITION naming the identity source and the mapping while any
  // field mapping of the tenant targets "ext.<name>" (nothing is deleted then).
  absl::Status Delete(const std::string& tenant_id, const std::string& name);

 private:
  PgPool& pool_;
};

}  // namespace sase::store

#pragma once
// One field mapping of an identity source: which DingTalk field (or "extension.<key>") fills
// which local field (a built-in one or "ext.<name>"). The one type for a mapping everywhere:
// stored by IdentitySourceRepository, validated by the admin rules, applied by MapUser.

#include <string>

namespace sase::store {

struct FieldMappingRecord {
  std::string source_field;
  std::string target_field;
  bool operator==(const FieldMappingRecord&) const = default;
};

}  // namespace sase::store

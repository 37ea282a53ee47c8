#include "sync_worker/event_inbox.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace sase::sync_worker {

absl::StatusOr<SubmitResult> EventInbox::Submit(const std::string& tenant_id, const std::string& idp_id,
                                                const std::vector<InboxEvent>& events) {
  return pool_.Run<SubmitResult>([&](pqxx::connection& c) -> absl::StatusOr<SubmitResult> {
    pqxx::work tx(c);
    // FOR SHARE: a concurrent delete of the source waits for this batch (and then cascades it).
    if (tx.exec_params("SELECT 1 FROM identity_sources WHERE idp_id = $1::uuid AND tenant_id = $2 FOR SHARE", idp_id,
                       tenant_id)
            .empty()) {
      return absl::NotFoundError(absl::StrCat("identity source ", idp_id, " not found in tenant ", tenant_id));
    }
    SubmitResult result;
    for (const InboxEvent& e : events) {
      pqxx::result r = tx.exec_params(
          "INSERT INTO event_inbox (idp_id, tenant_id, dedupe_key, event_type, event_time_ms, user_ids, dept_ids, "
          "payload) VALUES ($1::uuid, $2, $3, $4, $5, "
          "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), "
          "ARRAY(SELECT jsonb_array_elements_text($7::jsonb)::bigint), $8) "
          "ON CONFLICT (idp_id, dedupe_key) DO NOTHING RETURNING id",
          idp_id, tenant_id, e.dedupe_key, e.event_type, e.event_time_ms, nlohmann::json(e.user_ids).dump(),
          nlohmann::json(e.department_ids).dump(), e.payload_json);
      if (r.empty()) {
        ++result.duplicates;
      } else {
        ++result.accepted;
      }
    }
    tx.commit();
    return result;
  });
}

}  // namespace sase::sync_worker

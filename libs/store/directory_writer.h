#pragma once
// The one place that writes departments and users. Batch-oriented: each call is one transaction
// of a handful of multi-row statements (unnest arrays), whatever the batch size.
//
// Every change appends a change_log row (payload: the serialized sase.dingtalk.v1.User or
// Department after the change, before it for deletions), sets the row's version to that seq and
// NOTIFYs sase_changes, all in the same transaction, under the change-log lock (change_log.h).
// Objects whose content did not change write nothing.
//
//   DirectoryWriter writer(pool);
//   ASSIGN_OR_RETURN(WriteResult r, writer.UpsertDepartments(tenant, idp_id, depts, "sync:" + run_id));
//   ASSIGN_OR_RETURN(r, writer.UpsertUsers(tenant, idp_id, users, "sync:" + run_id));
//
// The *InTx variants run inside a caller's transaction (the caller commits); the others open and
// commit their own. All return NotFound when the identity source is not the tenant's.

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "store/pg_pool.h"

namespace sase::store {

struct WriteResult {
  int created = 0;
  int updated = 0;    // includes departures
  int deleted = 0;
  int unchanged = 0;
  // Users whose closure was recomputed because a department moved (no change_log row: the
  // department's own change carries the new path).
  int closures_recomputed = 0;
  int64_t last_seq = 0;  // 0 when nothing changed
};

// Fields a batch does not know because the DingTalk call it came from does not carry them: for a
// row already stored, the stored value is kept and the field never counts as a change; a new row
// gets the batch's value (normally the default). A full sync sets them; events (user/get,
// department/get) know every field and leave them false.
struct UserUpsertOptions {
  bool keep_stored_manager = false;  // v2/user/list has no manager_userid
};
struct DepartmentUpsertOptions {
  bool keep_stored_order_and_managers = false;  // department/listsub has neither order nor managers
};

class DirectoryWriter {
 public:
  explicit DirectoryWriter(PgPool& pool) : pool_(pool) {}

  // Creates or updates departments. Only department_id (> 0), name, parent_id (0 for the root),
  // order and manager_userids are read from each input. parent_id/ancestor_ids are computed from the whole
  // stored tree plus the batch (parents may come later in the batch, or in a later batch: a
  // department whose parent is unknown is top-level until the parent arrives). A move recomputes
  // the paths of every descendant and the closures of their users. A cycle is InvalidArgument.
  absl::StatusOr<WriteResult> UpsertDepartments(const std::string& tenant, const std::string& idp_id,
                                                const std::vector<dingtalk::v1::Department>& batch,
                                                const std::string& origin,
                                                const DepartmentUpsertOptions& options = {});

  // Creates or updates users keyed by dingtalk_userid. Reads every content field of v1::User
  // (unionid, name, email, org_email, mobile, job_number, title, avatar, manager_userid, active,
  // status (UNSPECIFIED = ACTIVE), department_ids, leader_department_ids, attributes,
  // hired_time); ignores tenant_id, idp_id, user_id, version and the timestamps. dept_closure and
  // user_dept_closure are computed from the departments' ancestors (a departed user has no
  // memberships). Unchanged content (content_hash) and closure → no write.
  absl::StatusOr<WriteResult> UpsertUsers(const std::string& tenant, const std::string& idp_id,
                                          const std::vector<dingtalk::v1::User>& batch, const std::string& origin,
                                          const UserUpsertOptions& options = {});

  // Sets status DEPARTED and drops the users' memberships (dept_ids are kept for the record).
  // Unknown or already departed users are counted as unchanged.
  absl::StatusOr<WriteResult> MarkDeparted(const std::string& tenant, const std::string& idp_id,
                                           const std::vector<std::string>& dingtalk_userids,
                                           const std::string& origin);

  // Deletes departments (FailedPrecondition if one still has a child that is not deleted too).
  // Users lose the deleted ids from their departments (USER_UPDATED). Unknown ids are ignored.
  absl::StatusOr<WriteResult> DeleteDepartments(const std::string& tenant, const std::string& idp_id,
                                                const std::vector<int64_t>& dept_ids, const std::string& origin);

  static absl::StatusOr<WriteResult> UpsertDepartmentsInTx(pqxx::work& tx, const std::string& tenant,
                                                           const std::string& idp_id,
                                                           const std::vector<dingtalk::v1::Department>& batch,
                                                           const std::string& origin,
                                                           const DepartmentUpsertOptions& options = {});
  static absl::StatusOr<WriteResult> UpsertUsersInTx(pqxx::work& tx, const std::string& tenant,
                                                     const std::string& idp_id,
                                                     const std::vector<dingtalk::v1::User>& batch,
                                                     const std::string& origin,
                                                     const UserUpsertOptions& options = {});
  static absl::StatusOr<WriteResult> MarkDepartedInTx(pqxx::work& tx, const std::string& tenant,
                                                      const std::string& idp_id,
                                                      const std::vector<std::string>& dingtalk_userids,
                                                      const std::string& origin);
  static absl::StatusOr<WriteResult> DeleteDepartmentsInTx(pqxx::work& tx, const std::string& tenant,
                                                           const std::string& idp_id,
                                                           const std::vector<int64_t>& dept_ids,
                                                           const std::string& origin);

 private:
  PgPool& pool_;
};

}  // namespace sase::store

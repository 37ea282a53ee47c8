#pragma once
// Read side of the directory (users, departments, change log). Every statement filters on
// tenant_id. The statements are prepared on each pool connection: build the pool with
// DirectoryReader::Statements() (append your own if you share the pool).
//
//   PgPool::Options o{.dsn = dsn, .size = 16, .statements = DirectoryReader::Statements()};
//   ASSIGN_OR_RETURN(auto pool, PgPool::Create(o));
//   DirectoryReader reader(*pool);
//   absl::StatusOr<v1::User> u = reader.GetUser("acme", user_id);
//
// Inputs are assumed validated by the caller (tenant syntax, UUID syntax, page sizes); unknown
// ids answer NotFound naming the field.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "store/pg_pool.h"

namespace sase::store {

namespace v1 = ::sase::dingtalk::v1;

enum class LookupKey { kDingTalkUserId, kUnionId, kEmail, kMobile, kJobNumber };

struct UserPage {
  std::vector<v1::User> users;
  // Empty on the last page; otherwise the user_id to continue after.
  std::string next_after_user_id;
};

struct DepartmentPage {
  std::vector<v1::Department> departments;
  int64_t next_after_dept_id = 0;  // 0 on the last page
};

struct MembershipResult {
  bool member = false;
  bool direct = false;
};

// A user with the ids of every department it belongs to directly or below (for caches).
struct UserWithClosure {
  v1::User user;
  std::vector<int64_t> closure;  // as stored (unsorted)
};

// The identifying part of a change-log row (no payload).
struct ChangeKey {
  int64_t seq = 0;
  std::string tenant;
  std::string idp;
  int kind = 0;  // sase.dingtalk.v1.ChangeKind
  std::string object_id;
};

// What a full sync diffs a complete snapshot against: the source's DingTalk userids that are not
// departed, and every department of the source with its depth (the length of its ancestor path).
struct SourceBaseline {
  std::vector<std::string> active_userids;
  std::vector<std::pair<int64_t, int>> departments;  // dept_id, depth
};

class DirectoryReader {
 public:
  static std::vector<std::pair<std::string, std::string>> Statements();

  explicit DirectoryReader(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<v1::User> GetUser(const std::string& tenant, const std::string& user_id);
  // Users found, in request order (duplicates answered once each time they appear); the ids not
  // found are appended to *not_found.
  absl::StatusOr<std::vector<v1::User>> BatchGetUsers(const std::string& tenant, const std::vector<std::string>& ids,
                                                      std::vector<std::string>* not_found);
  // idp empty: every source of the tenant. Email compares case-insensitively. May return several
  // users (job numbers are not unique; the same person may exist in two sources).
  absl::StatusOr<std::vector<v1::User>> LookupUser(const std::string& tenant, const std::string& idp, LookupKey key,
                                                   const std::string& value);
  // dept_id 0: every user of the source (idp empty: of the tenant). status 0: any. Keyset by user_id.
  absl::StatusOr<UserPage> ListUsers(const std::string& tenant, const std::string& idp, int64_t dept_id,
                                     bool include_descendants, int status, int page_size,
                                     const std::string& after_user_id);
  // Prefix of name or email, case-insensitive; ordered by user_id.
  absl::StatusOr<UserPage> SearchUsers(const std::string& tenant, const std::string& idp, const std::string& query,
                                       int page_size, const std::string& after_user_id);
  absl::StatusOr<v1::Department> GetDepartment(const std::string& tenant, const std::string& idp, int64_t dept_id);
  // parent 0: the top-level departments (or, with subtree, every department).
  absl::StatusOr<DepartmentPage> ListDepartments(const std::string& tenant, const std::string& idp, int64_t parent_id,
                                                 bool subtree, int page_size, int64_t after_dept_id);
  absl::StatusOr<v1::ListUserDepartmentsResponse> ListUserDepartments(const std::string& tenant,
                                                                       const std::string& user_id);
  // NotFound for an unknown user or a department unknown in the user's source.
  absl::StatusOr<MembershipResult> CheckMembership(const std::string& tenant, const std::string& user_id,
                                                   int64_t dept_id);

  // Change-log rows of the tenant with seq > after_seq (idp empty: every source), oldest first.
  absl::StatusOr<std::vector<v1::Change>> ReadChanges(const std::string& tenant, const std::string& idp,
                                                      int64_t after_seq, int limit);
  // The newest seq (0 when the log is empty).
  absl::StatusOr<int64_t> LatestSeq();

  // ---- For the directory's user cache. ----
  // NotFound for an unknown user.
  absl::StatusOr<UserWithClosure> GetUserWithClosure(const std::string& tenant, const std::string& user_id);
  // Users of every tenant with user_id > after_user_id (empty: from the start), by user_id.
  absl::StatusOr<std::vector<UserWithClosure>> ScanUsersWithClosure(const std::string& after_user_id, int limit);
  // Whether the department exists in the source (no tenant filter: the idp is the user's own).
  absl::StatusOr<bool> DepartmentExists(const std::string& idp, int64_t dept_id);
  // Change-log rows of every tenant with seq > after_seq, oldest first.
  absl::StatusOr<std::vector<ChangeKey>> ReadChangeKeys(int64_t after_seq, int limit);

  // ---- For the full sync. ----
  // One consistent read (one snapshot) of the source's baseline.
  absl::StatusOr<SourceBaseline> ReadSourceBaseline(const std::string& tenant, const std::string& idp);

  // ---- For the event processor. ----
  // Those of `dept_ids` the directory holds for the source.
  absl::StatusOr<std::vector<int64_t>> PresentDepartments(const std::string& tenant, const std::string& idp,
                                                          const std::vector<int64_t>& dept_ids);

 private:
  PgPool& pool_;
};

// ---- Row mapping and array literals shared with DirectoryWriter (not for other callers). ----
namespace dir_internal {

// SELECT list (alias u) whose columns UserFromRow reads, starting at `offset`.
extern const char kUserColumns[];
inline constexpr int kUserColumnCount = 22;
// SELECT list (alias d) whose columns DepartmentFromRow reads.
extern const char kDepartmentColumns[];
inline constexpr int kDepartmentColumnCount = 11;

v1::User UserFromRow(const pqxx::row& row, int offset = 0);
v1::Department DepartmentFromRow(const pqxx::row& row, int offset = 0);

// "{1,2,3}" <-> vector. Parsing is lenient about whitespace; NULL elements are skipped.
std::vector<int64_t> ParseInt64Array(const char* text);
// array_to_json(text[])::text -> vector (a JSON array of strings; anything else gives {}).
std::vector<std::string> ParseTextArrayJson(const char* text);
std::string Int64ArrayLiteral(const std::vector<int64_t>& values);
// Every element double-quoted and escaped, so any text survives.
std::string TextArrayLiteral(const std::vector<std::string>& values);
std::string BoolArrayLiteral(const std::vector<bool>& values);

}  // namespace dir_internal
}  // namespace sase::store

#include "store/directory_reader.h"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/timestamp.h"

namespace sase::store {
namespace dir_internal {

const char kUserColumns[] =
    "u.user_id::text, u.idp_id::text, u.tenant_id, u.dingtalk_userid, u.unionid, u.name, u.email, u.org_email, "
    "u.mobile, u.job_number, u.title, u.avatar, u.manager_userid, u.active, u.status, u.dept_ids::text, "
    "u.leader_dept_ids::text, u.attributes::text, (extract(epoch from u.hired_at) * 1000000)::bigint, "
    "(extract(epoch from u.created_at) * 1000000)::bigint, (extract(epoch from u.updated_at) * 1000000)::bigint, "
    "u.version";

const char kDepartmentColumns[] =
    "d.tenant_id, d.idp_id::text, d.dept_id, d.name, d.parent_id, d.ancestor_ids::text, d.sort_order, "
    "(SELECT count(*) FROM user_dept_closure c WHERE c.idp_id = d.idp_id AND c.dept_id = d.dept_id AND c.direct), "
    "(extract(epoch from d.updated_at) * 1000000)::bigint, d.version, array_to_json(d.manager_userids)::text";

std::vector<int64_t> ParseInt64Array(const char* text) {
  std::vector<int64_t> out;
  if (text == nullptr) return out;
  const char* p = text;
  while (*p != '\0') {
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
      char* end = nullptr;
      out.push_back(std::strtoll(p, &end, 10));
      p = end;
    } else {
      ++p;
    }
  }
  return out;
}

std::vector<std::string> ParseTextArrayJson(const char* text) {
  std::vector<std::string> out;
  if (text == nullptr || *text == '\0') return out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string Int64ArrayLiteral(const std::vector<int64_t>& values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) s.push_back(',');
    absl::StrAppend(&s, values[i]);
  }
  s.push_back('}');
  return s;
}

std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string s = "{";
  size_t total = 2;
  for (const auto& v : values) total += v.size() + 3;
  s.reserve(total);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) s.push_back(',');
    s.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') s.push_back('\\');
      s.push_back(c);
    }
    s.push_back('"');
  }
  s.push_back('}');
  return s;
}

std::string BoolArrayLiteral(const std::vector<bool>& values) {
  std::string s = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) s.push_back(',');
    s.push_back(values[i] ? 't' : 'f');
  }
  s.push_back('}');
  return s;
}

v1::User UserFromRow(const pqxx::row& row, int offset) {
  v1::User u;
  auto f = [&](int i) { return row[offset + i]; };
  u.set_user_id(f(0).c_str());
  u.set_idp_id(f(1).c_str());
  u.set_tenant_id(f(2).c_str());
  u.set_dingtalk_userid(f(3).c_str());
  u.set_unionid(f(4).c_str());
  u.set_name(f(5).c_str());
  u.set_email(f(6).c_str());
  u.set_org_email(f(7).c_str());
  u.set_mobile(f(8).c_str());
  u.set_job_number(f(9).c_str());
  u.set_title(f(10).c_str());
  u.set_avatar(f(11).c_str());
  u.set_manager_userid(f(12).c_str());
  u.set_active(f(13).as<bool>());
  u.set_status(static_cast<v1::UserStatus>(f(14).as<int>()));
  for (int64_t d : ParseInt64Array(f(15).c_str())) u.add_department_ids(d);
  for (int64_t d : ParseInt64Array(f(16).c_str())) u.add_leader_department_ids(d);
  const char* attrs = f(17).c_str();
  if (attrs[0] != '\0' && std::string_view(attrs) != "{}") {
    nlohmann::json j = nlohmann::json::parse(attrs, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      auto* m = u.mutable_attributes();
      for (auto it = j.begin(); it != j.end(); ++it) {
        (*m)[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
      }
    }
  }
  if (!f(18).is_null()) common::SetTimestampMicros(f(18).as<int64_t>(), u.mutable_hired_time());
  common::SetTimestampMicros(f(19).as<int64_t>(), u.mutable_create_time());
  common::SetTimestampMicros(f(20).as<int64_t>(), u.mutable_update_time());
  u.set_version(f(21).as<int64_t>());
  return u;
}

v1::Department DepartmentFromRow(const pqxx::row& row, int offset) {
  v1::Department d;
  auto f = [&](int i) { return row[offset + i]; };
  d.set_tenant_id(f(0).c_str());
  d.set_idp_id(f(1).c_str());
  d.set_department_id(f(2).as<int64_t>());
  d.set_name(f(3).c_str());
  d.set_parent_id(f(4).as<int64_t>());
  for (int64_t a : ParseInt64Array(f(5).c_str())) d.add_ancestor_ids(a);
  d.set_order(f(6).as<int64_t>());
  d.set_member_count(f(7).as<int64_t>());
  common::SetTimestampMicros(f(8).as<int64_t>(), d.mutable_update_time());
  d.set_version(f(9).as<int64_t>());
  for (const std::string& m : ParseTextArrayJson(f(10).c_str())) d.add_manager_userids(m);
  return d;
}

}  // namespace dir_internal

using dir_internal::DepartmentFromRow;
using dir_internal::kDepartmentColumns;
using dir_internal::kUserColumns;
using dir_internal::UserFromRow;

namespace {

constexpr char kNilUuid[] = "00000000-0000-0000-0000-000000000000";

// Statement names.
constexpr char kGetUser[] = "dir_get_user";
constexpr char kBatchGetUsers[] = "dir_batch_get_users";
constexpr char kLookupUserId[] = "dir_lookup_userid";
constexpr char kLookupUnionId[] = "dir_lookup_unionid";
constexpr char kLookupEmail[] = "dir_lookup_email";
constexpr char kLookupMobile[] = "dir_lookup_mobile";
constexpr char kLookupJobNumber[] = "dir_lookup_job_number";
constexpr char kListUsersTenant[] = "dir_list_users_tenant";
constexpr char kListUsersIdp[] = "dir_list_users_idp";
constexpr char kListUsersDept[] = "dir_list_users_dept";
constexpr char kGetDept[] = "dir_get_dept";
constexpr char kDeptExists[] = "dir_dept_exists";
constexpr char kIdpExists[] = "dir_idp_exists";
constexpr char kListDeptChildren[] = "dir_list_dept_children";
constexpr char kListDeptRoots[] = "dir_list_dept_roots";
constexpr char kListDeptSubtree[] = "dir_list_dept_subtree";
constexpr char kListDeptAll[] = "dir_list_dept_all";
constexpr char kUserDepts[] = "dir_user_depts";
constexpr char kUserExists[] = "dir_user_exists";
constexpr char kCheckMembership[] = "dir_check_membership";
constexpr char kReadChanges[] = "dir_read_changes";
constexpr char kLatestSeq[] = "dir_latest_seq";
constexpr char kGetUserClosure[] = "dir_get_user_closure";
constexpr char kScanUsersClosure[] = "dir_scan_users_closure";
constexpr char kDeptExistsIdp[] = "dir_dept_exists_idp";
constexpr char kReadChangeKeys[] = "dir_read_change_keys";

std::string LookupSql(const char* where) {
  return absl::StrCat("SELECT ", kUserColumns, " FROM users u WHERE u.tenant_id = $1 AND ", where,
                      " AND ($3 = '' OR u.idp_id::text = $3) ORDER BY u.user_id LIMIT 100");
}

absl::Status NotFound(const std::string& what, const std::string& id) {
  return absl::NotFoundError(absl::StrCat(what, ": ", id, " not found"));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DirectoryReader::Statements() {
  const std::string dept_cols = kDepartmentColumns;
  return {
      {kGetUser, absl::StrCat("SELECT ", kUserColumns, " FROM users u WHERE u.tenant_id = $1 AND u.user_id = $2::uuid")},
      {kBatchGetUsers, absl::StrCat("SELECT ", kUserColumns,
                                    " FROM users u WHERE u.tenant_id = $1 AND u.user_id = ANY($2::uuid[])")},
      {kLookupUserId, LookupSql("u.dingtalk_userid = $2")},
      {kLookupUnionId, LookupSql("u.unionid <> '' AND u.unionid = $2")},
      {kLookupEmail, LookupSql("u.email <> '' AND lower(u.email) = lower($2)")},
      {kLookupMobile, LookupSql("u.mobile <> '' AND u.mobile = $2")},
      {kLookupJobNumber, LookupSql("u.job_number <> '' AND u.job_number = $2")},
      {kListUsersTenant, absl::StrCat("SELECT ", kUserColumns,
                                      " FROM users u WHERE u.tenant_id = $1 AND u.user_id > $2::uuid"
                                      " AND ($3 = 0 OR u.status = $3) ORDER BY u.user_id LIMIT $4")},
      {kListUsersIdp, absl::StrCat("SELECT ", kUserColumns,
                                   " FROM users u WHERE u.tenant_id = $1 AND u.idp_id = $2::uuid"
                                   " AND u.user_id > $3::uuid AND ($4 = 0 OR u.status = $4)"
                                   " ORDER BY u.user_id LIMIT $5")},
      {kListUsersDept, absl::StrCat("SELECT ", kUserColumns,
                                    " FROM user_dept_closure c JOIN users u ON u.user_id = c.user_id"
                                    " WHERE c.tenant_id = $1 AND c.idp_id = $2::uuid AND c.dept_id = $3"
                                    " AND c.user_id > $4::uuid AND ($5 OR c.direct) AND u.tenant_id = $1"
                                    " AND ($6 = 0 OR u.status = $6) ORDER BY c.user_id LIMIT $7")},
      {kGetDept, absl::StrCat("SELECT ", dept_cols,
                              " FROM departments d WHERE d.tenant_id = $1 AND d.idp_id = $2::uuid AND d.dept_id = $3")},
      {kDeptExists, "SELECT 1 FROM departments WHERE tenant_id = $1 AND idp_id = $2::uuid AND dept_id = $3"},
      {kIdpExists, "SELECT 1 FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid"},
      {kListDeptChildren, absl::StrCat("SELECT ", dept_cols,
                                       " FROM departments d WHERE d.tenant_id = $1 AND d.idp_id = $2::uuid"
                                       " AND d.parent_id = $3 AND d.dept_id > $4 ORDER BY d.dept_id LIMIT $5")},
      {kListDeptRoots, absl::StrCat("SELECT ", dept_cols,
                                    " FROM departments d WHERE d.tenant_id = $1 AND d.idp_id = $2::uuid"
                                    " AND cardinality(d.ancestor_ids) = 0 AND d.dept_id > $3"
                                    " ORDER BY d.dept_id LIMIT $4")},
      {kListDeptSubtree, absl::StrCat("SELECT ", dept_cols,
                                      " FROM departments d WHERE d.tenant_id = $1 AND d.idp_id = $2::uuid"
                                      " AND $3 = ANY(d.ancestor_ids) AND d.dept_id > $4"
                                      " ORDER BY d.dept_id LIMIT $5")},
      {kListDeptAll, absl::StrCat("SELECT ", dept_cols,
                                  " FROM departments d WHERE d.tenant_id = $1 AND d.idp_id = $2::uuid"
                                  " AND d.dept_id > $3 ORDER BY d.dept_id LIMIT $4")},
      {kUserDepts, absl::StrCat("SELECT ", dept_cols,
                                ", u.dept_ids::text FROM users u JOIN departments d ON d.idp_id = u.idp_id"
                                " AND (d.dept_id = ANY(u.dept_ids) OR d.dept_id = ANY(u.dept_closure))"
                                " WHERE u.tenant_id = $1 AND u.user_id = $2::uuid AND d.tenant_id = $1")},
      {kUserExists, "SELECT u.dept_ids::text FROM users u WHERE u.tenant_id = $1 AND u.user_id = $2::uuid"},
      {kCheckMembership,
       "SELECT $3 = ANY(u.dept_closure), $3 = ANY(u.dept_ids) AND $3 = ANY(u.dept_closure),"
       " EXISTS (SELECT 1 FROM departments d WHERE d.idp_id = u.idp_id AND d.dept_id = $3)"
       " FROM users u WHERE u.tenant_id = $1 AND u.user_id = $2::uuid"},
      {kReadChanges,
       "SELECT seq, idp_id::text, kind, (extract(epoch from committed_at) * 1000000)::bigint, origin, payload"
       " FROM change_log WHERE tenant_id = $1 AND seq > $2 AND ($3 = '' OR idp_id::text = $3)"
       " ORDER BY seq LIMIT $4"},
      {kLatestSeq, "SELECT coalesce(max(seq), 0) FROM change_log"},
      {kGetUserClosure, absl::StrCat("SELECT ", kUserColumns, ", u.dept_closure::text"
                                     " FROM users u WHERE u.tenant_id = $1 AND u.user_id = $2::uuid")},
      {kScanUsersClosure, absl::StrCat("SELECT ", kUserColumns, ", u.dept_closure::text"
                                       " FROM users u WHERE u.user_id > $1::uuid ORDER BY u.user_id LIMIT $2")},
      {kDeptExistsIdp, "SELECT 1 FROM departments WHERE idp_id = $1::uuid AND dept_id = $2"},
      {kReadChangeKeys,
       "SELECT seq, tenant_id, idp_id::text, kind, object_id FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2"},
  };
}

absl::StatusOr<v1::User> DirectoryReader::GetUser(const std::string& tenant, const std::string& user_id) {
  return pool_.Run<v1::User>([&](pqxx::connection& c) -> absl::StatusOr<v1::User> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kGetUser, tenant, user_id);
    if (r.empty()) return NotFound("user_id", user_id);
    return UserFromRow(r[0]);
  });
}

absl::StatusOr<std::vector<v1::User>> DirectoryReader::BatchGetUsers(const std::string& tenant,
                                                                     const std::vector<std::string>& ids,
                                                                     std::vector<std::string>* not_found) {
  using Users = std::vector<v1::User>;
  absl::StatusOr<Users> found = pool_.Run<Users>([&](pqxx::connection& c) -> absl::StatusOr<Users> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kBatchGetUsers, tenant, dir_internal::TextArrayLiteral(ids));
    Users out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(UserFromRow(row));
    return out;
  });
  if (!found.ok()) return found.status();
  absl::flat_hash_map<std::string, size_t> by_id;
  for (size_t i = 0; i < found->size(); ++i) by_id[(*found)[i].user_id()] = i;
  std::vector<v1::User> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    std::string lower = id;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    auto it = by_id.find(lower);
    if (it == by_id.end()) {
      not_found->push_back(id);
    } else {
      out.push_back((*found)[it->second]);
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::User>> DirectoryReader::LookupUser(const std::string& tenant, const std::string& idp,
                                                                  LookupKey key, const std::string& value) {
  const char* stmt = kLookupUserId;
  switch (key) {
    case LookupKey::kDingTalkUserId: stmt = kLookupUserId; break;
    case LookupKey::kUnionId: stmt = kLookupUnionId; break;
    case LookupKey::kEmail: stmt = kLookupEmail; break;
    case LookupKey::kMobile: stmt = kLookupMobile; break;
    case LookupKey::kJobNumber: stmt = kLookupJobNumber; break;
  }
  using Users = std::vector<v1::User>;
  return pool_.Run<Users>([&](pqxx::connection& c) -> absl::StatusOr<Users> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(stmt, tenant, value, idp);
    Users out;
    for (const auto& row : r) out.push_back(UserFromRow(row));
    return out;
  });
}

absl::StatusOr<UserPage> DirectoryReader::ListUsers(const std::string& tenant, const std::string& idp,
                                                    int64_t dept_id, bool include_descendants, int status,
                                                    int page_size, const std::string& after_user_id) {
  const std::string after = after_user_id.empty() ? kNilUuid : after_user_id;
  const int limit = page_size + 1;
  return pool_.Run<UserPage>([&](pqxx::connection& c) -> absl::StatusOr<UserPage> {
    pqxx::nontransaction tx(c);
    pqxx::result r;
    if (idp.empty()) {
      r = tx.exec_prepared(kListUsersTenant, tenant, after, status, limit);
    } else if (dept_id == 0) {
      r = tx.exec_prepared(kListUsersIdp, tenant, idp, after, status, limit);
    } else {
      r = tx.exec_prepared(kListUsersDept, tenant, idp, dept_id, after, include_descendants, status, limit);
    }
    UserPage page;
    size_t n = std::min<size_t>(r.size(), static_cast<size_t>(page_size));
    page.users.reserve(n);
    for (size_t i = 0; i < n; ++i) page.users.push_back(UserFromRow(r[static_cast<int>(i)]));
    if (r.size() > n) page.next_after_user_id = page.users.back().user_id();
    if (page.users.empty() && after_user_id.empty() && !idp.empty()) {
      if (dept_id != 0) {
        if (tx.exec_prepared(kDeptExists, tenant, idp, dept_id).empty()) {
          return NotFound("department_id", absl::StrCat(dept_id));
        }
      } else if (tx.exec_prepared(kIdpExists, tenant, idp).empty()) {
        return NotFound("idp_id", idp);
      }
    }
    return page;
  });
}

absl::StatusOr<UserPage> DirectoryReader::SearchUsers(const std::string& tenant, const std::string& idp,
                                                      const std::string& query, int page_size,
                                                      const std::string& after_user_id) {
  std::string pattern;
  for (char ch : query) {
    if (ch == '%' || ch == '_' || ch == '\\') pattern.push_back('\\');
    pattern.push_back(ch);
  }
  pattern.push_back('%');
  const std::string after = after_user_id.empty() ? kNilUuid : after_user_id;
  // Unnamed statement: planned with the pattern known, so the prefix uses the text_pattern_ops indexes.
  static const std::string sql = absl::StrCat(
      "SELECT ", kUserColumns,
      " FROM users u WHERE u.tenant_id = $1 AND ($2 = '' OR u.idp_id::text = $2)"
      " AND (lower(u.name) LIKE lower($3) OR (u.email <> '' AND lower(u.email) LIKE lower($3)))"
      " AND u.user_id > $4::uuid ORDER BY u.user_id LIMIT $5");
  return pool_.Run<UserPage>([&](pqxx::connection& c) -> absl::StatusOr<UserPage> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(sql, tenant, idp, pattern, after, page_size + 1);
    UserPage page;
    size_t n = std::min<size_t>(r.size(), static_cast<size_t>(page_size));
    for (size_t i = 0; i < n; ++i) page.users.push_back(UserFromRow(r[static_cast<int>(i)]));
    if (r.size() > n) page.next_after_user_id = page.users.back().user_id();
    return page;
  });
}

absl::StatusOr<v1::Department> DirectoryReader::GetDepartment(const std::string& tenant, const std::string& idp,
                                                              int64_t dept_id) {
  return pool_.Run<v1::Department>([&](pqxx::connection& c) -> absl::StatusOr<v1::Department> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kGetDept, tenant, idp, dept_id);
    if (r.empty()) return NotFound("department_id", absl::StrCat(dept_id));
    return DepartmentFromRow(r[0]);
  });
}

absl::StatusOr<DepartmentPage> DirectoryReader::ListDepartments(const std::string& tenant, const std::string& idp,
                                                                int64_t parent_id, bool subtree, int page_size,
                                                                int64_t after_dept_id) {
  const int limit = page_size + 1;
  return pool_.Run<DepartmentPage>([&](pqxx::connection& c) -> absl::StatusOr<DepartmentPage> {
    pqxx::nontransaction tx(c);
    pqxx::result r;
    if (parent_id == 0) {
      r = subtree ? tx.exec_prepared(kListDeptAll, tenant, idp, after_dept_id, limit)
                  : tx.exec_prepared(kListDeptRoots, tenant, idp, after_dept_id, limit);
    } else {
      r = subtree ? tx.exec_prepared(kListDeptSubtree, tenant, idp, parent_id, after_dept_id, limit)
                  : tx.exec_prepared(kListDeptChildren, tenant, idp, parent_id, after_dept_id, limit);
    }
    DepartmentPage page;
    size_t n = std::min<size_t>(r.size(), static_cast<size_t>(page_size));
    for (size_t i = 0; i < n; ++i) page.departments.push_back(DepartmentFromRow(r[static_cast<int>(i)]));
    if (r.size() > n) page.next_after_dept_id = page.departments.back().department_id();
    if (page.departments.empty() && after_dept_id == 0) {
      if (parent_id != 0) {
        if (tx.exec_prepared(kDeptExists, tenant, idp, parent_id).empty()) {
          return NotFound("parent_id", absl::StrCat(parent_id));
        }
      } else if (tx.exec_prepared(kIdpExists, tenant, idp).empty()) {
        return NotFound("idp_id", idp);
      }
    }
    return page;
  });
}

absl::StatusOr<v1::ListUserDepartmentsResponse> DirectoryReader::ListUserDepartments(const std::string& tenant,
                                                                                     const std::string& user_id) {
  using Resp = v1::ListUserDepartmentsResponse;
  return pool_.Run<Resp>([&](pqxx::connection& c) -> absl::StatusOr<Resp> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kUserDepts, tenant, user_id);
    std::vector<int64_t> direct_ids;
    if (r.empty()) {
      pqxx::result u = tx.exec_prepared(kUserExists, tenant, user_id);
      if (u.empty()) return NotFound("user_id", user_id);
      return Resp();
    }
    direct_ids = dir_internal::ParseInt64Array(r[0][dir_internal::kDepartmentColumnCount].c_str());
    absl::flat_hash_map<int64_t, v1::Department> by_id;
    for (const auto& row : r) {
      v1::Department d = DepartmentFromRow(row);
      by_id.emplace(d.department_id(), std::move(d));
    }
    Resp resp;
    absl::flat_hash_set<int64_t> seen;
    std::vector<int64_t> ancestors;
    for (int64_t id : direct_ids) {
      auto it = by_id.find(id);
      if (it == by_id.end()) continue;
      *resp.add_direct() = it->second;
      for (int64_t a : it->second.ancestor_ids()) {
        if (seen.insert(a).second) ancestors.push_back(a);
      }
    }
    // Root first: order by depth, then id.
    std::stable_sort(ancestors.begin(), ancestors.end(), [&](int64_t a, int64_t b) {
      auto da = by_id.find(a), db = by_id.find(b);
      int la = da == by_id.end() ? 0 : da->second.ancestor_ids_size();
      int lb = db == by_id.end() ? 0 : db->second.ancestor_ids_size();
      return la != lb ? la < lb : a < b;
    });
    for (int64_t a : ancestors) {
      auto it = by_id.find(a);
      if (it != by_id.end()) *resp.add_ancestors() = it->second;
    }
    return resp;
  });
}

absl::StatusOr<MembershipResult> DirectoryReader::CheckMembership(const std::string& tenant,
                                                                  const std::string& user_id, int64_t dept_id) {
  return pool_.Run<MembershipResult>([&](pqxx::connection& c) -> absl::StatusOr<MembershipResult> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kCheckMembership, tenant, user_id, dept_id);
    if (r.empty()) return NotFound("user_id", user_id);
    if (!r[0][2].as<bool>()) return NotFound("department_id", absl::StrCat(dept_id));
    return MembershipResult{.member = r[0][0].as<bool>(), .direct = r[0][1].as<bool>()};
  });
}

absl::StatusOr<std::vector<v1::Change>> DirectoryReader::ReadChanges(const std::string& tenant,
                                                                     const std::string& idp, int64_t after_seq,
                                                                     int limit) {
  using Changes = std::vector<v1::Change>;
  return pool_.Run<Changes>([&](pqxx::connection& c) -> absl::StatusOr<Changes> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kReadChanges, tenant, after_seq, idp, limit);
    Changes out;
    out.reserve(r.size());
    for (const auto& row : r) {
      v1::Change ch;
      ch.set_seq(row[0].as<int64_t>());
      ch.set_tenant_id(tenant);
      ch.set_idp_id(row[1].c_str());
      int kind = row[2].as<int>();
      ch.set_kind(static_cast<v1::ChangeKind>(kind));
      common::SetTimestampMicros(row[3].as<int64_t>(), ch.mutable_commit_time());
      ch.set_origin(row[4].c_str());
      pqxx::binarystring payload(row[5]);
      if (kind >= v1::CHANGE_USER_CREATED && kind <= v1::CHANGE_USER_DELETED) {
        ch.mutable_user()->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      } else if (kind >= v1::CHANGE_DEPARTMENT_CREATED && kind <= v1::CHANGE_DEPARTMENT_DELETED) {
        ch.mutable_department()->ParseFromArray(payload.data(), static_cast<int>(payload.size()));
      } else {
        ch.set_identity_source_status(payload.str());
      }
      out.push_back(std::move(ch));
    }
    return out;
  });
}

absl::StatusOr<int64_t> DirectoryReader::LatestSeq() {
  return pool_.Run<int64_t>([&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::nontransaction tx(c);
    return tx.exec_prepared1(kLatestSeq)[0].as<int64_t>();
  });
}

absl::StatusOr<UserWithClosure> DirectoryReader::GetUserWithClosure(const std::string& tenant,
                                                                    const std::string& user_id) {
  return pool_.Run<UserWithClosure>([&](pqxx::connection& c) -> absl::StatusOr<UserWithClosure> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kGetUserClosure, tenant, user_id);
    if (r.empty()) return NotFound("user_id", user_id);
    return UserWithClosure{.user = UserFromRow(r[0]),
                           .closure = dir_internal::ParseInt64Array(r[0][dir_internal::kUserColumnCount].c_str())};
  });
}

absl::StatusOr<std::vector<UserWithClosure>> DirectoryReader::ScanUsersWithClosure(const std::string& after_user_id,
                                                                                   int limit) {
  const std::string after = after_user_id.empty() ? kNilUuid : after_user_id;
  using Out = std::vector<UserWithClosure>;
  return pool_.Run<Out>([&](pqxx::connection& c) -> absl::StatusOr<Out> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kScanUsersClosure, after, limit);
    Out out;
    out.reserve(r.size());
    for (const auto& row : r) {
      out.push_back({.user = UserFromRow(row),
                     .closure = dir_internal::ParseInt64Array(row[dir_internal::kUserColumnCount].c_str())});
    }
    return out;
  });
}

absl::StatusOr<bool> DirectoryReader::DepartmentExists(const std::string& idp, int64_t dept_id) {
  return pool_.Run<bool>([&](pqxx::connection& c) -> absl::StatusOr<bool> {
    pqxx::nontransaction tx(c);
    return !tx.exec_prepared(kDeptExistsIdp, idp, dept_id).empty();
  });
}

absl::StatusOr<SourceBaseline> DirectoryReader::ReadSourceBaseline(const std::string& tenant,
                                                                   const std::string& idp) {
  return pool_.Run<SourceBaseline>([&](pqxx::connection& c) -> absl::StatusOr<SourceBaseline> {
    pqxx::read_transaction tx(c);
    SourceBaseline b;
    for (const auto& row : tx.exec_params("SELECT dingtalk_userid FROM users WHERE tenant_id = $1 AND"
                                          " idp_id = $2::uuid AND status <> $3",
                                          tenant, idp, static_cast<int>(v1::USER_DEPARTED))) {
      b.active_userids.emplace_back(row[0].c_str());
    }
    for (const auto& row : tx.exec_params("SELECT dept_id, cardinality(ancestor_ids) FROM departments"
                                          " WHERE tenant_id = $1 AND idp_id = $2::uuid",
                                          tenant, idp)) {
      b.departments.emplace_back(row[0].as<int64_t>(), row[1].as<int>());
    }
    return b;
  });
}

absl::StatusOr<std::vector<int64_t>> DirectoryReader::PresentDepartments(const std::string& tenant,
                                                                         const std::string& idp,
                                                                         const std::vector<int64_t>& dept_ids) {
  using Out = std::vector<int64_t>;
  if (dept_ids.empty()) return Out{};
  return pool_.Run<Out>([&](pqxx::connection& c) -> absl::StatusOr<Out> {
    pqxx::read_transaction tx(c);
    Out out;
    for (const auto& row : tx.exec_params("SELECT dept_id FROM departments WHERE tenant_id = $1 AND idp_id = $2::uuid"
                                          " AND dept_id = ANY($3::bigint[])",
                                          tenant, idp, absl::StrCat("{", absl::StrJoin(dept_ids, ","), "}"))) {
      out.push_back(row[0].as<int64_t>());
    }
    return out;
  });
}

absl::StatusOr<std::vector<ChangeKey>> DirectoryReader::ReadChangeKeys(int64_t after_seq, int limit) {
  using Out = std::vector<ChangeKey>;
  return pool_.Run<Out>([&](pqxx::connection& c) -> absl::StatusOr<Out> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(kReadChangeKeys, after_seq, limit);
    Out out;
    out.reserve(r.size());
    for (const auto& row : r) {
      out.push_back({.seq = row[0].as<int64_t>(),
                     .tenant = row[1].c_str(),
                     .idp = row[2].c_str(),
                     .kind = row[3].as<int>(),
                     .object_id = row[4].c_str()});
    }
    return out;
  });
}

}  // namespace sase::store

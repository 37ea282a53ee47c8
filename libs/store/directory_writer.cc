#include "store/directory_writer.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/timestamp.h"
#include "common/validation.h"
#include "store/change_log.h"
#include "store/directory_plan.h"
#include "store/directory_reader.h"

namespace sase::store {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using dir_internal::BoolArrayLiteral;
using dir_internal::Int64ArrayLiteral;
using dir_internal::ParseInt64Array;
using dir_internal::TextArrayLiteral;
using dir_plan::AncestorMap;

constexpr int kDeparted = v1::USER_DEPARTED;

absl::Status CheckIdentitySource(pqxx::work& tx, const std::string& tenant, const std::string& idp) {
  if (!common::IsUuid(idp)) return absl::InvalidArgumentError("idp_id: not a UUID");
  pqxx::result r =
      tx.exec_params("SELECT 1 FROM identity_sources WHERE idp_id = $1::uuid AND tenant_id = $2", idp, tenant);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("idp_id: ", idp, " not found"));
  return absl::OkStatus();
}

// Seqs allocated under the change-log lock, so their order is the commit order.
std::vector<int64_t> AllocateSeqs(pqxx::work& tx, size_t n) {
  std::vector<int64_t> seqs;
  if (n == 0) return seqs;
  // One contiguous block: every writer of change_log holds the lock, so nothing else draws from the
  // sequence between nextval and setval.
  pqxx::row r = tx.exec_params1(
      "SELECT setval(pg_get_serial_sequence('change_log', 'seq'),"
      " nextval(pg_get_serial_sequence('change_log', 'seq')) + $1 - 1)",
      static_cast<int64_t>(n));
  const int64_t last = r[0].as<int64_t>();
  seqs.reserve(n);
  for (int64_t s = last - static_cast<int64_t>(n) + 1; s <= last; ++s) seqs.push_back(s);
  return seqs;
}

struct ChangeRows {
  std::vector<int64_t> seqs;
  std::vector<int64_t> kinds;
  std::vector<std::string> object_ids;
  std::vector<std::string> payloads_hex;

  void Add(int64_t seq, int kind, std::string object_id, const google::protobuf::Message& payload) {
    seqs.push_back(seq);
    kinds.push_back(kind);
    object_ids.push_back(std::move(object_id));
    payloads_hex.push_back(absl::BytesToHexString(payload.SerializeAsString()));
  }
};

void InsertChanges(pqxx::work& tx, const std::string& tenant, const std::string& idp, const std::string& origin,
                   const ChangeRows& rows) {
  if (rows.seqs.empty()) return;
  tx.exec_params(
      "INSERT INTO change_log (seq, tenant_id, idp_id, kind, object_id, origin, payload)"
      " SELECT t.s, $1, $2::uuid, t.k, t.o, $3, decode(t.p, 'hex')"
      " FROM unnest($4::bigint[], $5::int[], $6::text[], $7::text[]) AS t(s, k, o, p) ORDER BY t.s",
      tenant, idp, origin, Int64ArrayLiteral(rows.seqs), Int64ArrayLiteral(rows.kinds),
      TextArrayLiteral(rows.object_ids), TextArrayLiteral(rows.payloads_hex));
  NotifyChanges(tx, tenant);
}

// user_dept_closure rows for a set of users: the old ones are deleted first.
struct ClosureRows {
  std::vector<std::string> replace_user_ids;  // users whose old rows are deleted
  std::vector<int64_t> dept_ids;
  std::vector<std::string> user_ids;
  std::vector<bool> direct;

  void Add(const std::string& user_id, const std::vector<int64_t>& closure, const std::vector<int64_t>& direct_ids) {
    for (int64_t d : closure) {
      dept_ids.push_back(d);
      user_ids.push_back(user_id);
      direct.push_back(std::find(direct_ids.begin(), direct_ids.end(), d) != direct_ids.end());
    }
  }
};

void WriteClosureRows(pqxx::work& tx, const std::string& tenant, const std::string& idp, const ClosureRows& rows) {
  if (!rows.replace_user_ids.empty()) {
    tx.exec_params("DELETE FROM user_dept_closure WHERE user_id = ANY($1::uuid[])",
                   TextArrayLiteral(rows.replace_user_ids));
  }
  if (!rows.dept_ids.empty()) {
    tx.exec_params(
        "INSERT INTO user_dept_closure (idp_id, dept_id, user_id, tenant_id, direct)"
        " SELECT $1::uuid, t.d, t.u::uuid, $2, t.x FROM unnest($3::bigint[], $4::text[], $5::boolean[]) AS t(d, u, x)"
        " ORDER BY t.d, t.u",  // primary-key order: fewer page splits and cache misses in bulk loads
        idp, tenant, Int64ArrayLiteral(rows.dept_ids), TextArrayLiteral(rows.user_ids), BoolArrayLiteral(rows.direct));
  }
}

std::string AttributesJson(const v1::User& u) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : u.attributes()) j[k] = v;
  return j.dump();
}

std::string HiredLiteral(const std::vector<const v1::User*>& users) {
  std::string s = "{";
  for (size_t i = 0; i < users.size(); ++i) {
    if (i > 0) s.push_back(',');
    if (users[i]->has_hired_time()) {
      const auto& t = users[i]->hired_time();
      absl::StrAppend(&s, common::TimestampMicros(t));
    } else {
      s += "NULL";
    }
  }
  s.push_back('}');
  return s;
}

template <typename T>
std::vector<int64_t> ToVector(const google::protobuf::RepeatedField<T>& f) {
  return std::vector<int64_t>(f.begin(), f.end());
}

// Recomputes the closure of every active user below the departments in `moved` (whose paths
// changed) from `anc`; returns how many users' closures changed.
int RecomputeClosuresBelow(pqxx::work& tx, const std::string& tenant, const std::string& idp,
                           const std::vector<int64_t>& moved, const AncestorMap& anc) {
  // Two index lookups rather than one semi-join: while a sync streams users in, the tables'
  // statistics lag far behind their size and the planner would pick a nested loop of scans.
  std::vector<std::string> member_ids;
  for (const auto& row : tx.exec_params("SELECT DISTINCT c.user_id::text FROM user_dept_closure c"
                                        " WHERE c.idp_id = $1::uuid AND c.dept_id = ANY($2::bigint[])",
                                        idp, Int64ArrayLiteral(moved))) {
    member_ids.push_back(row[0].c_str());
  }
  if (member_ids.empty()) return 0;
  pqxx::result users = tx.exec_params(
      absl::StrCat("SELECT u.user_id::text, u.dept_ids::text, u.dept_closure::text, u.status FROM users u"
                   " WHERE u.user_id = ANY($3::uuid[]) AND u.tenant_id = $2 AND u.idp_id = $1::uuid"
                   " AND u.status <> ", kDeparted),
      idp, tenant, TextArrayLiteral(member_ids));
  ClosureRows closure_rows;
  std::vector<std::string> ids, closures;
  for (const auto& row : users) {
    std::vector<int64_t> direct = ParseInt64Array(row[1].c_str());
    std::vector<int64_t> closure = dir_plan::UserClosure(direct, row[3].as<int>() == kDeparted, anc);
    if (closure == ParseInt64Array(row[2].c_str())) continue;
    ids.push_back(row[0].c_str());
    closures.push_back(Int64ArrayLiteral(closure));
    closure_rows.replace_user_ids.push_back(row[0].c_str());
    closure_rows.Add(row[0].c_str(), closure, direct);
  }
  if (ids.empty()) return 0;
  tx.exec_params(
      "UPDATE users u SET dept_closure = t.c::bigint[] FROM unnest($1::text[], $2::text[]) AS t(id, c)"
      " WHERE u.user_id = t.id::uuid",
      TextArrayLiteral(ids), TextArrayLiteral(closures));
  WriteClosureRows(tx, tenant, idp, closure_rows);
  return static_cast<int>(ids.size());
}

// One multi-row upsert of users (normalized content, closure, content hash, version) through
// unnest(); returns (dingtalk_userid, user_id, created micros, updated micros) per row.
pqxx::result InsertUserRows(pqxx::work& tx, const std::string& tenant, const std::string& idp,
                            const std::vector<v1::User>& normalized, const std::vector<std::vector<int64_t>>& closures,
                            const std::vector<std::string>& hashes, const std::vector<int64_t>& seqs) {
  const size_t n = normalized.size();
  std::vector<std::string> c_userid(n), c_unionid(n), c_name(n), c_email(n), c_org_email(n), c_mobile(n),
      c_job(n), c_title(n), c_avatar(n), c_manager(n), c_depts(n), c_leaders(n), c_closure(n), c_attrs(n);
  std::vector<bool> c_active(n);
  std::vector<int64_t> c_status(n);
  for (size_t i = 0; i < n; ++i) {
    const v1::User& u = normalized[i];
    c_userid[i] = u.dingtalk_userid();
    c_unionid[i] = u.unionid();
    c_name[i] = u.name();
    c_email[i] = u.email();
    c_org_email[i] = u.org_email();
    c_mobile[i] = u.mobile();
    c_job[i] = u.job_number();
    c_title[i] = u.title();
    c_avatar[i] = u.avatar();
    c_manager[i] = u.manager_userid();
    c_active[i] = u.active();
    c_status[i] = u.status();
    c_depts[i] = Int64ArrayLiteral(ToVector(u.department_ids()));
    c_leaders[i] = Int64ArrayLiteral(ToVector(u.leader_department_ids()));
    c_closure[i] = Int64ArrayLiteral(closures[i]);
    c_attrs[i] = AttributesJson(u);
  }
  std::vector<const v1::User*> normalized_ptrs;
  for (const auto& u : normalized) normalized_ptrs.push_back(&u);

  return tx.exec_params(
      absl::StrCat(
          "INSERT INTO users AS u (idp_id, tenant_id, dingtalk_userid, unionid, name, email, org_email, mobile,"
          " job_number, title, avatar, manager_userid, active, status, dept_ids, leader_dept_ids, dept_closure,"
          " attributes, hired_at, content_hash, version)"
          " SELECT $1::uuid, $2, t.a, t.b, t.c, t.d, t.e, t.f, t.g, t.h, t.i, t.j, t.k, t.l, t.m::bigint[],"
          " t.n::bigint[], t.o::bigint[], t.p::jsonb,"
          " CASE WHEN t.q IS NULL THEN NULL ELSE 'epoch'::timestamptz + t.q * interval '1 microsecond' END,"
          " decode(t.r, 'hex'), t.s"
          " FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
          " $10::text[], $11::text[], $12::text[], $13::boolean[], $14::int[], $15::text[], $16::text[],"
          " $17::text[], $18::text[], $19::bigint[], $20::text[], $21::bigint[])"
          " AS t(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s)"
          " ON CONFLICT (idp_id, dingtalk_userid) DO UPDATE SET unionid = EXCLUDED.unionid, name = EXCLUDED.name,"
          " email = EXCLUDED.email, org_email = EXCLUDED.org_email, mobile = EXCLUDED.mobile,"
          " job_number = EXCLUDED.job_number, title = EXCLUDED.title, avatar = EXCLUDED.avatar,"
          " manager_userid = EXCLUDED.manager_userid, active = EXCLUDED.active, status = EXCLUDED.status,"
          " dept_ids = EXCLUDED.dept_ids, leader_dept_ids = EXCLUDED.leader_dept_ids,"
          " dept_closure = EXCLUDED.dept_closure, attributes = EXCLUDED.attributes, hired_at = EXCLUDED.hired_at,"
          " content_hash = EXCLUDED.content_hash, version = EXCLUDED.version, updated_at = now()"
          " RETURNING u.dingtalk_userid, u.user_id::text, (extract(epoch from u.created_at) * 1000000)::bigint,"
          " (extract(epoch from u.updated_at) * 1000000)::bigint"),
      idp, tenant, TextArrayLiteral(c_userid), TextArrayLiteral(c_unionid), TextArrayLiteral(c_name),
      TextArrayLiteral(c_email), TextArrayLiteral(c_org_email), TextArrayLiteral(c_mobile), TextArrayLiteral(c_job),
      TextArrayLiteral(c_title), TextArrayLiteral(c_avatar), TextArrayLiteral(c_manager), BoolArrayLiteral(c_active),
      Int64ArrayLiteral(c_status), TextArrayLiteral(c_depts), TextArrayLiteral(c_leaders),
      TextArrayLiteral(c_closure), TextArrayLiteral(c_attrs), HiredLiteral(normalized_ptrs), TextArrayLiteral(hashes),
      Int64ArrayLiteral(seqs));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Departments

absl::StatusOr<WriteResult> DirectoryWriter::UpsertDepartmentsInTx(pqxx::work& tx, const std::string& tenant,
                                                                   const std::string& idp,
                                                                   const std::vector<v1::Department>& batch,
                                                                   const std::string& origin,
                                                                   const DepartmentUpsertOptions& options) {
  WriteResult result;
  if (batch.empty()) return result;
  for (const auto& d : batch) {
    if (d.department_id() <= 0) return absl::InvalidArgumentError("department_id: must be a positive id");
    if (d.parent_id() < 0) return absl::InvalidArgumentError("parent_id: must not be negative");
    if (d.parent_id() == d.department_id()) {
      return absl::InvalidArgumentError(absl::StrCat("parent_id: department ", d.department_id(), " is its own parent"));
    }
  }
  absl::Status idp_ok = CheckIdentitySource(tx, tenant, idp);
  if (!idp_ok.ok()) return idp_ok;
  LockChangeLog(tx);

  struct Node {
    std::string name;
    int64_t parent = 0;
    int64_t order = 0;
    std::vector<std::string> managers;
    std::vector<int64_t> old_ancestors;
    std::vector<int64_t> ancestors;
    bool existed = false;
    bool in_batch = false;
    std::string old_name;
    int64_t old_parent = 0;
    int64_t old_order = 0;
    std::vector<std::string> old_managers;
  };
  absl::flat_hash_map<int64_t, Node> nodes;
  pqxx::result existing = tx.exec_params(
      "SELECT dept_id, name, parent_id, sort_order, ancestor_ids::text, array_to_json(manager_userids)::text"
      " FROM departments WHERE idp_id = $1::uuid AND tenant_id = $2",
      idp, tenant);
  nodes.reserve(existing.size() + batch.size());
  for (const auto& row : existing) {
    Node& n = nodes[row[0].as<int64_t>()];
    n.existed = true;
    n.name = n.old_name = row[1].c_str();
    n.parent = n.old_parent = row[2].as<int64_t>();
    n.order = n.old_order = row[3].as<int64_t>();
    n.old_ancestors = ParseInt64Array(row[4].c_str());
    n.managers = n.old_managers = dir_internal::ParseTextArrayJson(row[5].c_str());
  }
  std::vector<int64_t> batch_ids;
  for (const auto& d : batch) {
    Node& n = nodes[d.department_id()];
    if (!n.in_batch) batch_ids.push_back(d.department_id());
    n.in_batch = true;
    n.name = d.name();
    n.parent = d.parent_id();
    if (!n.existed || !options.keep_stored_order_and_managers) {
      n.order = d.order();
      n.managers.assign(d.manager_userids().begin(), d.manager_userids().end());
    }
  }

  absl::flat_hash_map<int64_t, int64_t> parent_of;
  parent_of.reserve(nodes.size());
  for (const auto& [id, n] : nodes) parent_of.emplace(id, n.parent);
  absl::StatusOr<AncestorMap> computed = dir_plan::AncestorPaths(parent_of);
  if (!computed.ok()) return computed.status();
  const AncestorMap& paths = *computed;
  for (auto& [id, n] : nodes) n.ancestors = paths.at(id);

  std::vector<int64_t> changed;
  std::vector<int64_t> path_changed;
  for (auto& [id, n] : nodes) {
    bool moved = !n.existed || n.ancestors != n.old_ancestors;
    if (moved) path_changed.push_back(id);
    if (!n.existed || moved || n.name != n.old_name || n.parent != n.old_parent || n.order != n.old_order ||
        n.managers != n.old_managers) {
      changed.push_back(id);
    }
  }
  result.unchanged = static_cast<int>(batch_ids.size());
  if (changed.empty()) return result;
  std::sort(changed.begin(), changed.end());

  std::vector<int64_t> seqs = AllocateSeqs(tx, changed.size());
  std::vector<std::string> names;
  std::vector<int64_t> parents, orders, versions;
  std::vector<std::string> ancestors, managers;
  for (size_t i = 0; i < changed.size(); ++i) {
    const Node& n = nodes.at(changed[i]);
    names.push_back(n.name);
    parents.push_back(n.parent);
    orders.push_back(n.order);
    ancestors.push_back(Int64ArrayLiteral(n.ancestors));
    managers.push_back(nlohmann::json(n.managers).dump());  // a JSON array per row (unnest is 1-D)
    versions.push_back(seqs[i]);
  }
  pqxx::result written = tx.exec_params(
      absl::StrCat(
          "INSERT INTO departments AS d (idp_id, dept_id, tenant_id, name, parent_id, ancestor_ids, sort_order,"
          " manager_userids, version)"
          " SELECT $1::uuid, t.id, $2, t.n, t.p, t.a::bigint[], t.o,"
          " ARRAY(SELECT x.e FROM jsonb_array_elements_text(t.m::jsonb) WITH ORDINALITY AS x(e, i) ORDER BY x.i), t.v"
          " FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::bigint[])"
          " AS t(id, n, p, a, o, m, v)"
          " ON CONFLICT (idp_id, dept_id) DO UPDATE SET name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,"
          " ancestor_ids = EXCLUDED.ancestor_ids, sort_order = EXCLUDED.sort_order,"
          " manager_userids = EXCLUDED.manager_userids, version = EXCLUDED.version, updated_at = now() RETURNING ",
          dir_internal::kDepartmentColumns),
      idp, tenant, Int64ArrayLiteral(changed), TextArrayLiteral(names), Int64ArrayLiteral(parents),
      TextArrayLiteral(ancestors), Int64ArrayLiteral(orders), TextArrayLiteral(managers), Int64ArrayLiteral(versions));
  ChangeRows changes;
  std::vector<v1::Department> depts;
  depts.reserve(written.size());
  for (const auto& row : written) depts.push_back(dir_internal::DepartmentFromRow(row));
  std::sort(depts.begin(), depts.end(),
            [](const v1::Department& a, const v1::Department& b) { return a.version() < b.version(); });
  for (const auto& d : depts) {
    const Node& n = nodes.at(d.department_id());
    changes.Add(d.version(), n.existed ? v1::CHANGE_DEPARTMENT_UPDATED : v1::CHANGE_DEPARTMENT_CREATED,
                absl::StrCat(d.department_id()), d);
    if (n.in_batch) --result.unchanged;
    if (n.existed) {
      ++result.updated;
    } else {
      ++result.created;
    }
  }
  result.last_seq = seqs.back();
  InsertChanges(tx, tenant, idp, origin, changes);

  // Users below a department whose path changed get their closure recomputed.
  if (!path_changed.empty()) {
    result.closures_recomputed = RecomputeClosuresBelow(tx, tenant, idp, path_changed, paths);
  }
  return result;
}

absl::StatusOr<WriteResult> DirectoryWriter::DeleteDepartmentsInTx(pqxx::work& tx, const std::string& tenant,
                                                                   const std::string& idp,
                                                                   const std::vector<int64_t>& dept_ids,
                                                                   const std::string& origin) {
  WriteResult result;
  if (dept_ids.empty()) return result;
  absl::Status idp_ok = CheckIdentitySource(tx, tenant, idp);
  if (!idp_ok.ok()) return idp_ok;
  LockChangeLog(tx);
  const std::string ids = Int64ArrayLiteral(dept_ids);
  pqxx::result child = tx.exec_params(
      "SELECT dept_id, parent_id FROM departments WHERE idp_id = $1::uuid AND tenant_id = $2"
      " AND parent_id = ANY($3::bigint[]) AND NOT (dept_id = ANY($3::bigint[])) LIMIT 1",
      idp, tenant, ids);
  if (!child.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("department_id: ", child[0][1].c_str(),
                                                      " still has child department ", child[0][0].c_str()));
  }
  pqxx::result before = tx.exec_params(
      absl::StrCat("SELECT ", dir_internal::kDepartmentColumns,
                   " FROM departments d WHERE d.idp_id = $1::uuid AND d.tenant_id = $2"
                   " AND d.dept_id = ANY($3::bigint[]) ORDER BY d.dept_id"),
      idp, tenant, ids);
  result.unchanged = static_cast<int>(dept_ids.size() - before.size());
  if (before.empty()) return result;
  pqxx::result users = tx.exec_params(
      "SELECT user_id::text FROM users WHERE idp_id = $1::uuid AND tenant_id = $2 AND"
      " (dept_ids && $3::bigint[] OR leader_dept_ids && $3::bigint[] OR dept_closure && $3::bigint[])"
      " ORDER BY user_id FOR UPDATE",
      idp, tenant, ids);
  std::vector<int64_t> seqs = AllocateSeqs(tx, before.size() + users.size());
  ChangeRows changes;
  for (int i = 0; i < static_cast<int>(before.size()); ++i) {
    v1::Department d = dir_internal::DepartmentFromRow(before[i]);
    d.set_version(seqs[static_cast<size_t>(i)]);
    changes.Add(d.version(), v1::CHANGE_DEPARTMENT_DELETED, absl::StrCat(d.department_id()), d);
  }
  if (!users.empty()) {
    std::vector<std::string> user_ids;
    std::vector<int64_t> user_seqs;
    for (size_t i = 0; i < users.size(); ++i) {
      user_ids.push_back(users[static_cast<int>(i)][0].c_str());
      user_seqs.push_back(seqs[before.size() + i]);
    }
    pqxx::result updated = tx.exec_params(
        absl::StrCat("UPDATE users u SET"
                     " dept_ids = ARRAY(SELECT x FROM unnest(u.dept_ids) x WHERE x <> ALL($3::bigint[])),"
                     " leader_dept_ids = ARRAY(SELECT x FROM unnest(u.leader_dept_ids) x WHERE x <> ALL($3::bigint[])),"
                     " dept_closure = ARRAY(SELECT x FROM unnest(u.dept_closure) x WHERE x <> ALL($3::bigint[])),"
                     " content_hash = NULL, version = t.s, updated_at = now()"
                     " FROM unnest($4::uuid[], $5::bigint[]) AS t(id, s)"
                     " WHERE u.user_id = t.id AND u.idp_id = $1::uuid AND u.tenant_id = $2 RETURNING ",
                     dir_internal::kUserColumns),
        idp, tenant, ids, TextArrayLiteral(user_ids), Int64ArrayLiteral(user_seqs));
    std::vector<v1::User> protos;
    for (const auto& row : updated) protos.push_back(dir_internal::UserFromRow(row));
    std::sort(protos.begin(), protos.end(),
              [](const v1::User& a, const v1::User& b) { return a.version() < b.version(); });
    for (const auto& u : protos) changes.Add(u.version(), v1::CHANGE_USER_UPDATED, u.user_id(), u);
  }
  tx.exec_params("DELETE FROM user_dept_closure WHERE idp_id = $1::uuid AND dept_id = ANY($2::bigint[])", idp, ids);
  tx.exec_params("DELETE FROM departments WHERE idp_id = $1::uuid AND tenant_id = $2 AND dept_id = ANY($3::bigint[])",
                 idp, tenant, ids);
  InsertChanges(tx, tenant, idp, origin, changes);
  result.deleted = static_cast<int>(before.size());
  result.updated = static_cast<int>(users.size());
  result.last_seq = seqs.back();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Users

absl::StatusOr<WriteResult> DirectoryWriter::UpsertUsersInTx(pqxx::work& tx, const std::string& tenant,
                                                             const std::string& idp,
                                                             const std::vector<v1::User>& batch,
                                                             const std::string& origin,
                                                             const UserUpsertOptions& options) {
  WriteResult result;
  if (batch.empty()) return result;
  // Last occurrence of a userid wins.
  absl::flat_hash_map<std::string, size_t> last;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].dingtalk_userid().empty()) return absl::InvalidArgumentError("dingtalk_userid: required");
    last[batch[i].dingtalk_userid()] = i;
  }
  std::vector<const v1::User*> users;
  users.reserve(last.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (last[batch[i].dingtalk_userid()] == i) users.push_back(&batch[i]);
  }
  absl::Status idp_ok = CheckIdentitySource(tx, tenant, idp);
  if (!idp_ok.ok()) return idp_ok;
  LockChangeLog(tx);

  // Ancestors of every referenced department.
  std::vector<int64_t> referenced;
  for (const v1::User* u : users) referenced.insert(referenced.end(), u->department_ids().begin(),
                                                    u->department_ids().end());
  std::sort(referenced.begin(), referenced.end());
  referenced.erase(std::unique(referenced.begin(), referenced.end()), referenced.end());
  AncestorMap anc;
  if (!referenced.empty()) {
    pqxx::result r = tx.exec_params(
        "SELECT dept_id, ancestor_ids::text FROM departments"
        " WHERE idp_id = $1::uuid AND tenant_id = $2 AND dept_id = ANY($3::bigint[])",
        idp, tenant, Int64ArrayLiteral(referenced));
    for (const auto& row : r) anc.emplace(row[0].as<int64_t>(), ParseInt64Array(row[1].c_str()));
  }

  absl::flat_hash_map<std::string, dir_plan::StoredUser> existing;
  {
    std::vector<std::string> userids;
    userids.reserve(users.size());
    for (const v1::User* u : users) userids.push_back(u->dingtalk_userid());
    pqxx::result r = tx.exec_params(
        // One probe of the unique (idp_id, dingtalk_userid) key per userid (the source's tenant was
        // checked above). A plain "= ANY(...)" let stale statistics during a bulk load pick a bitmap
        // over every row of the source, per batch; OFFSET 0 keeps the subquery a per-key lookup.
        "SELECT k.id, u.user_id::text, coalesce(encode(u.content_hash, 'hex'), ''), u.dept_closure::text, u.status,"
        " u.manager_userid FROM unnest($2::text[]) AS k(id) CROSS JOIN LATERAL (SELECT user_id, content_hash,"
        " dept_closure, status, manager_userid FROM users WHERE idp_id = $1::uuid AND dingtalk_userid = k.id"
        " OFFSET 0) u",
        idp, TextArrayLiteral(userids));
    existing.reserve(r.size());
    for (const auto& row : r) {
      existing.emplace(row[0].c_str(),
                       dir_plan::StoredUser{row[1].c_str(), row[2].c_str(), ParseInt64Array(row[3].c_str()),
                                            row[4].as<int>(), row[5].c_str()});
    }
  }

  // Decide what changed.
  dir_plan::UserPlan plan = dir_plan::PlanUsers(users, existing, anc, options.keep_stored_manager);
  result.unchanged = plan.unchanged;
  std::vector<const v1::User*>& changed = plan.changed;
  std::vector<v1::User>& normalized = plan.normalized;
  std::vector<std::string>& hashes = plan.hashes;
  std::vector<std::vector<int64_t>>& closures = plan.closures;
  if (changed.empty()) return result;
  std::vector<int64_t> seqs = AllocateSeqs(tx, changed.size());

  const size_t n = changed.size();
  pqxx::result written = InsertUserRows(tx, tenant, idp, normalized, closures, hashes, seqs);

  // The stored rows are the normalized content plus what the database assigned: the change
  // payloads are built from that rather than read back (same bytes as UserFromRow would give).
  absl::flat_hash_map<std::string, size_t> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) index[normalized[i].dingtalk_userid()] = i;
  if (written.size() != n) {
    return absl::InternalError(absl::StrCat("users upsert wrote ", written.size(), " rows for ", n, " users"));
  }
  std::vector<v1::User> protos(n);
  for (const auto& row : written) {
    const size_t i = index.at(row[0].c_str());
    v1::User& u = protos[i];
    u = std::move(normalized[i]);
    u.set_user_id(row[1].c_str());
    u.set_idp_id(idp);
    u.set_tenant_id(tenant);
    if (u.has_hired_time()) {
      auto* h = u.mutable_hired_time();
      common::SetTimestampMicros(common::TimestampMicros(*h), h);  // as stored: whole microseconds
    }
    common::SetTimestampMicros(row[2].as<int64_t>(), u.mutable_create_time());
    common::SetTimestampMicros(row[3].as<int64_t>(), u.mutable_update_time());
    u.set_version(seqs[i]);
  }
  ChangeRows changes;
  ClosureRows closure_rows;
  for (size_t i = 0; i < n; ++i) {
    const v1::User& u = protos[i];
    auto ex = existing.find(u.dingtalk_userid());
    int kind = v1::CHANGE_USER_UPDATED;
    if (ex == existing.end()) {
      kind = v1::CHANGE_USER_CREATED;
      ++result.created;
    } else {
      if (u.status() == kDeparted && ex->second.status != kDeparted) kind = v1::CHANGE_USER_DEPARTED;
      ++result.updated;
      closure_rows.replace_user_ids.push_back(u.user_id());
    }
    changes.Add(u.version(), kind, u.user_id(), u);
    closure_rows.Add(u.user_id(), closures[i], ToVector(u.department_ids()));
  }
  WriteClosureRows(tx, tenant, idp, closure_rows);
  InsertChanges(tx, tenant, idp, origin, changes);
  result.last_seq = seqs.back();
  return result;
}

absl::StatusOr<WriteResult> DirectoryWriter::MarkDepartedInTx(pqxx::work& tx, const std::string& tenant,
                                                              const std::string& idp,
                                                              const std::vector<std::string>& dingtalk_userids,
                                                              const std::string& origin) {
  WriteResult result;
  if (dingtalk_userids.empty()) return result;
  absl::Status idp_ok = CheckIdentitySource(tx, tenant, idp);
  if (!idp_ok.ok()) return idp_ok;
  LockChangeLog(tx);
  pqxx::result r = tx.exec_params(
      absl::StrCat("SELECT user_id::text FROM users WHERE idp_id = $1::uuid AND tenant_id = $2"
                   " AND dingtalk_userid = ANY($3::text[]) AND status <> ", kDeparted, " ORDER BY user_id FOR UPDATE"),
      idp, tenant, TextArrayLiteral(dingtalk_userids));
  absl::flat_hash_set<std::string> distinct(dingtalk_userids.begin(), dingtalk_userids.end());
  result.unchanged = static_cast<int>(distinct.size() - r.size());
  if (r.empty()) return result;
  std::vector<std::string> ids;
  for (const auto& row : r) ids.push_back(row[0].c_str());
  std::vector<int64_t> seqs = AllocateSeqs(tx, ids.size());
  pqxx::result updated = tx.exec_params(
      absl::StrCat("UPDATE users u SET status = ", kDeparted, ", dept_closure = '{}', content_hash = NULL, version = t.s,"
                   " updated_at = now() FROM unnest($3::uuid[], $4::bigint[]) AS t(id, s)"
                   " WHERE u.user_id = t.id AND u.idp_id = $1::uuid AND u.tenant_id = $2 RETURNING ",
                   dir_internal::kUserColumns),
      idp, tenant, TextArrayLiteral(ids), Int64ArrayLiteral(seqs));
  tx.exec_params("DELETE FROM user_dept_closure WHERE user_id = ANY($1::uuid[])", TextArrayLiteral(ids));
  std::vector<v1::User> protos;
  for (const auto& row : updated) protos.push_back(dir_internal::UserFromRow(row));
  std::sort(protos.begin(), protos.end(),
            [](const v1::User& a, const v1::User& b) { return a.version() < b.version(); });
  ChangeRows changes;
  for (const auto& u : protos) changes.Add(u.version(), v1::CHANGE_USER_DEPARTED, u.user_id(), u);
  InsertChanges(tx, tenant, idp, origin, changes);
  result.updated = static_cast<int>(protos.size());
  result.last_seq = seqs.back();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Pool wrappers: one transaction each.

namespace {
template <typename Fn>
absl::StatusOr<WriteResult> InTransaction(PgPool& pool, Fn fn) {
  return pool.Run<WriteResult>([&](pqxx::connection& c) -> absl::StatusOr<WriteResult> {
    pqxx::work tx(c);
    absl::StatusOr<WriteResult> r = fn(tx);
    if (r.ok()) tx.commit();
    return r;
  });
}
}  // namespace

absl::StatusOr<WriteResult> DirectoryWriter::UpsertDepartments(const std::string& tenant, const std::string& idp,
                                                               const std::vector<v1::Department>& batch,
                                                               const std::string& origin,
                                                               const DepartmentUpsertOptions& options) {
  return InTransaction(pool_,
                       [&](pqxx::work& tx) { return UpsertDepartmentsInTx(tx, tenant, idp, batch, origin, options); });
}

absl::StatusOr<WriteResult> DirectoryWriter::UpsertUsers(const std::string& tenant, const std::string& idp,
                                                         const std::vector<v1::User>& batch,
                                                         const std::string& origin, const UserUpsertOptions& options) {
  return InTransaction(pool_,
                       [&](pqxx::work& tx) { return UpsertUsersInTx(tx, tenant, idp, batch, origin, options); });
}

absl::StatusOr<WriteResult> DirectoryWriter::MarkDeparted(const std::string& tenant, const std::string& idp,
                                                          const std::vector<std::string>& dingtalk_userids,
                                                          const std::string& origin) {
  return InTransaction(pool_,
                       [&](pqxx::work& tx) { return MarkDepartedInTx(tx, tenant, idp, dingtalk_userids, origin); });
}

absl::StatusOr<WriteResult> DirectoryWriter::DeleteDepartments(const std::string& tenant, const std::string& idp,
                                                               const std::vector<int64_t>& dept_ids,
                                                               const std::string& origin) {
  return InTransaction(pool_,
                       [&](pqxx::work& tx) { return DeleteDepartmentsInTx(tx, tenant, idp, dept_ids, origin); });
}

}  // namespace sase::store

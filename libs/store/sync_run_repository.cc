#include "store/sync_run_repository.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/timestamp.h"
#include "common/validation.h"
#include "store/directory_writer.h"

namespace sase::store {
namespace {

namespace v1 = ::sase::dingtalk::v1;

constexpr char kColumns[] =
    "run_id::text, tenant_id, idp_id::text, trigger, state, departments_only, progress::text, counts::text,"
    " failure_reason, failure_detail, lease_owner,"
    " (extract(epoch FROM started_at) * 1000000)::bigint,"
    " (extract(epoch FROM ended_at) * 1000000)::bigint,"
    " array_to_json(held_userids)::text, array_to_json(held_dept_ids)::text, attempts";
constexpr char kPageKind[] = "sync_runs";

template <typename Msg>
std::string ToJson(const Msg& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out.empty() ? "{}" : out;
}

template <typename Msg>
void FromJson(const std::string& text, Msg* m) {
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  (void)google::protobuf::util::JsonStringToMessage(text, m, o);
}

SyncRunRecord FromRow(const pqxx::row& row) {
  SyncRunRecord r;
  v1::SyncRun& run = r.run;
  run.set_run_id(row[0].c_str());
  run.set_tenant_id(row[1].c_str());
  run.set_idp_id(row[2].c_str());
  run.set_trigger(static_cast<v1::SyncTrigger>(row[3].as<int>()));
  run.set_state(static_cast<v1::SyncRunState>(row[4].as<int>()));
  run.set_departments_only(row[5].as<bool>());
  FromJson(row[6].c_str(), run.mutable_progress());
  FromJson(row[7].c_str(), run.mutable_counts());
  run.set_failure_reason(row[8].c_str());
  run.set_failure_detail(row[9].c_str());
  r.lease_owner = row[10].c_str();
  common::SetTimestampMicros(row[11].as<int64_t>(), run.mutable_start_time());
  if (!row[12].is_null()) common::SetTimestampMicros(row[12].as<int64_t>(), run.mutable_end_time());
  nlohmann::json users = nlohmann::json::parse(row[13].c_str(), nullptr, false);
  if (users.is_array()) {
    for (const auto& u : users) r.held_userids.push_back(u.get<std::string>());
  }
  nlohmann::json depts = nlohmann::json::parse(row[14].c_str(), nullptr, false);
  if (depts.is_array()) {
    for (const auto& d : depts) r.held_dept_ids.push_back(d.get<int64_t>());
  }
  r.attempts = row[15].as<int>();
  return r;
}

std::string TextArray(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string IntArray(const std::vector<int64_t>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", v[i]);
  return out + "}";
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// A PENDING run leased to owner; no row when the source already has an unfinished run (the
// unique partial index on kRunUnfinished).
pqxx::result InsertPendingRun(pqxx::work& tx, const std::string& idp, const std::string& tenant, v1::SyncTrigger trigger,
                              bool departments_only, const std::string& owner, absl::Duration lease) {
  return tx.exec_params(
      absl::StrCat("INSERT INTO sync_runs (idp_id, tenant_id, trigger, state, departments_only, lease_owner,"
                   " lease_expires_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, now() + $7 * interval '1 second')"
                   " ON CONFLICT (idp_id) WHERE ", kRunUnfinished, " DO NOTHING RETURNING ", kColumns),
      idp, tenant, static_cast<int>(trigger), static_cast<int>(v1::PENDING), departments_only, owner, Seconds(lease));
}

}  // namespace

absl::StatusOr<SyncRunRecord> SyncRunRepository::CreateManual(const std::string& tenant, const std::string& idp_id,
                                                         bool departments_only, const std::string& owner,
                                                         absl::Duration lease) {
  return pool_.Run<SyncRunRecord>([&](pqxx::connection& c) -> absl::StatusOr<SyncRunRecord> {
    pqxx::work tx(c);
    pqxx::result src = tx.exec_params(
        "SELECT 1 FROM identity_sources WHERE tenant_id = $1 AND idp_id = $2::uuid FOR SHARE", tenant, idp_id);
    if (src.empty()) return absl::NotFoundError(absl::StrCat("identity source ", idp_id, " not found"));
    pqxx::result r = InsertPendingRun(tx, idp_id, tenant, v1::MANUAL, departments_only, owner, lease);
    if (r.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("identity source ", idp_id, " already has a sync run in progress"));
    }
    SyncRunRecord rec = FromRow(r[0]);
    tx.commit();
    return rec;
  });
}

absl::StatusOr<std::optional<SyncRunRecord>> SyncRunRepository::ClaimScheduled(const std::string& owner,
                                                                          absl::Duration lease) {
  return pool_.Run<std::optional<SyncRunRecord>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<SyncRunRecord>> {
        pqxx::work tx(c);
        // A due retry first (it is older news than a cycle), then the cycle.
        pqxx::result due = tx.exec(
            "SELECT idp_id::text, tenant_id, sync_user_info, sync_retry_at <= now() FROM identity_sources"
            " WHERE sync_retry_at <= now() OR (auto_sync AND (next_sync_at IS NULL OR next_sync_at <= now()))"
            " ORDER BY LEAST(sync_retry_at, next_sync_at) NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED");
        if (due.empty()) return std::optional<SyncRunRecord>();
        const std::string idp = due[0][0].c_str();
        const std::string tenant = due[0][1].c_str();
        const bool users = due[0][2].as<bool>();
        const bool retry = !due[0][3].is_null() && due[0][3].as<bool>();
        if (retry) {
          tx.exec_params0("UPDATE identity_sources SET sync_retry_at = NULL WHERE idp_id = $1::uuid", idp);
        } else {
          tx.exec_params0(
              "UPDATE identity_sources SET next_sync_at = now() + sync_cycle_hours * (0.95 + random() * 0.1)"
              " * interval '1 hour' WHERE idp_id = $1::uuid",
              idp);
        }
        pqxx::result r =
            InsertPendingRun(tx, idp, tenant, retry ? v1::RETRY : v1::SCHEDULED, !users, owner, lease);
        std::optional<SyncRunRecord> out;
        if (!r.empty()) out = FromRow(r[0]);  // else a run is in progress: this cycle (or retry) is skipped
        tx.commit();
        return out;
      });
}

absl::StatusOr<std::optional<SyncRunRecord>> SyncRunRepository::ClaimExpired(const std::string& owner,
                                                                        absl::Duration lease) {
  return pool_.Run<std::optional<SyncRunRecord>>(
      [&](pqxx::connection& c) -> absl::StatusOr<std::optional<SyncRunRecord>> {
        pqxx::work tx(c);
        pqxx::result r = tx.exec_params(
            absl::StrCat("UPDATE sync_runs SET lease_owner = $1, lease_expires_at = now() + $2 * interval '1 second',"
                         " state = ", static_cast<int>(v1::PENDING), ", attempts = attempts + 1"
                         " WHERE run_id = (SELECT run_id FROM sync_runs WHERE ", kRunUnfinished,
                         " AND (lease_expires_at IS NULL OR lease_expires_at < now())"
                         " ORDER BY lease_expires_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED)"
                         " RETURNING ",
                         kColumns),
            owner, Seconds(lease));
        std::optional<SyncRunRecord> out;
        if (!r.empty()) out = FromRow(r[0]);
        tx.commit();
        return out;
      });
}

absl::Status SyncRunRepository::Heartbeat(const std::string& run_id, const std::string& owner, absl::Duration lease,
                                     int state, const v1::SyncProgress& progress, const v1::SyncCounts& counts) {
  return pool_.RunStatus([&](pqxx::connection& c) -> absl::Status {
    pqxx::work tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE sync_runs SET lease_expires_at = now() + $3 * interval '1 second', state = $4,"
                     " progress = $5::jsonb, counts = $6::jsonb"
                     " WHERE run_id = $1::uuid AND lease_owner = $2 AND ", kRunUnfinished, " RETURNING 1"),
        run_id, owner, Seconds(lease), state, ToJson(progress), ToJson(counts));
    if (r.empty()) return absl::FailedPreconditionError(absl::StrCat("sync run ", run_id, ": lease lost"));
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status SyncRunRepository::Release(const std::string& run_id, const std::string& owner) {
  return pool_.RunStatus([&](pqxx::connection& c) -> absl::Status {
    pqxx::work tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE sync_runs SET lease_owner = '', lease_expires_at = NULL"
                     " WHERE run_id = $1::uuid AND lease_owner = $2 AND ", kRunUnfinished, " RETURNING 1"),
        run_id, owner);
    if (r.empty()) return absl::FailedPreconditionError(absl::StrCat("sync run ", run_id, ": lease lost"));
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<absl::Time>> SyncRunRepository::Finish(const std::string& run_id,
                                                                     const std::string& owner,
                                                                     const RunOutcome& o) {
  return pool_.Run<std::optional<absl::Time>>([&](pqxx::connection& c) -> absl::StatusOr<std::optional<absl::Time>> {
    pqxx::work tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE sync_runs SET state = $3, progress = $4::jsonb, counts = $5::jsonb, failure_reason = $6,"
                     " failure_detail = $7, held_userids = $8::text[], held_dept_ids = $9::bigint[], lease_owner = '',"
                     " lease_expires_at = NULL, ended_at = now()"
                     " WHERE run_id = $1::uuid AND lease_owner = $2 AND ", kRunUnfinished, " RETURNING idp_id::text"),
        run_id, owner, o.state, ToJson(o.progress), ToJson(o.counts), o.failure_reason, o.failure_detail,
        TextArray(o.held_userids), IntArray(o.held_dept_ids));
    if (r.empty()) return absl::FailedPreconditionError(absl::StrCat("sync run ", run_id, ": lease lost"));
    const std::string idp = r[0][0].c_str();
    std::optional<absl::Time> retry_at;
    if (o.retry.has_value()) {
      // base * 2^failures (failures counted before this one), capped; the exponent is bounded so
      // the interval arithmetic cannot overflow.
      pqxx::result due = tx.exec_params(
          "UPDATE identity_sources SET sync_failures = sync_failures + 1,"
          " sync_retry_at = now() + LEAST($2::float8, $3::float8 * power(2, LEAST(sync_failures, 30)))"
          " * interval '1 second'"
          " WHERE idp_id = $1::uuid RETURNING (extract(epoch FROM sync_retry_at) * 1000000)::bigint",
          idp, Seconds(o.retry->max), Seconds(o.retry->base));
      if (!due.empty()) retry_at = absl::FromUnixMicros(due[0][0].as<int64_t>());
    } else {
      tx.exec_params0(
          "UPDATE identity_sources SET sync_failures = CASE WHEN $2 THEN sync_failures ELSE 0 END,"
          " sync_retry_at = NULL WHERE idp_id = $1::uuid",
          idp, o.state == v1::FAILED);
    }
    tx.commit();
    return retry_at;
  });
}

absl::StatusOr<SyncRunRecord> SyncRunRepository::Get(const std::string& tenant, const std::string& run_id) {
  return pool_.Run<SyncRunRecord>([&](pqxx::connection& c) -> absl::StatusOr<SyncRunRecord> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kColumns, " FROM sync_runs WHERE tenant_id = $1 AND run_id = $2::uuid"), tenant,
        run_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("sync run ", run_id, " not found"));
    return FromRow(r[0]);
  });
}

absl::StatusOr<SyncRunPage> SyncRunRepository::List(const std::string& tenant, const std::string& idp_id, int page_size,
                                               const std::string& page_token) {
  int64_t after_micros = 0;
  std::string after_id;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> payload = common::DecodePageToken(kPageKind, page_token);
    if (!payload.ok()) return absl::InvalidArgumentError("page_token: malformed");
    std::vector<std::string> parts = absl::StrSplit(*payload, '|');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &after_micros) || !common::IsUuid(parts[1])) {
      return absl::InvalidArgumentError("page_token: malformed");
    }
    after_id = parts[1];
  }
  return pool_.Run<SyncRunPage>([&](pqxx::connection& c) -> absl::StatusOr<SyncRunPage> {
    pqxx::read_transaction tx(c);
    std::string sql = absl::StrCat("SELECT ", kColumns, " FROM sync_runs WHERE tenant_id = $1",
                                   " AND ($2 = '' OR idp_id = NULLIF($2, '')::uuid)",
                                   " AND ($3 = '' OR (started_at, run_id) < ('epoch'::timestamptz + $4 *"
                                   " interval '1 microsecond', NULLIF($3, '')::uuid))",
                                   " ORDER BY started_at DESC, run_id DESC LIMIT $5");
    pqxx::result r = tx.exec_params(sql, tenant, idp_id, after_id, after_micros, page_size + 1);
    SyncRunPage page;
    for (size_t i = 0; i < r.size() && static_cast<int>(i) < page_size; ++i) {
      page.runs.push_back(FromRow(r[static_cast<pqxx::result::size_type>(i)]).run);
    }
    if (static_cast<int>(r.size()) > page_size) {
      const pqxx::row last = r[static_cast<pqxx::result::size_type>(page_size - 1)];
      page.next_page_token = common::EncodePageToken(kPageKind, absl::StrCat(last[11].as<int64_t>(), "|",
                                                                             last[0].c_str()));
    }
    return page;
  });
}

absl::StatusOr<SyncRunRecord> SyncRunRepository::ApproveDeletions(const std::string& tenant, const std::string& run_id) {
  return pool_.Run<SyncRunRecord>([&](pqxx::connection& c) -> absl::StatusOr<SyncRunRecord> {
    pqxx::work tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kColumns, " FROM sync_runs WHERE tenant_id = $1 AND run_id = $2::uuid FOR UPDATE"),
        tenant, run_id);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("sync run ", run_id, " not found"));
    SyncRunRecord rec = FromRow(r[0]);
    if (rec.run.state() != v1::AWAITING_APPROVAL) {
      return absl::FailedPreconditionError(absl::StrCat("sync run ", run_id, " is not awaiting approval"));
    }
    pqxx::result newer = tx.exec_params(
        absl::StrCat("SELECT 1 FROM sync_runs WHERE idp_id = $1::uuid AND run_id <> $2::uuid AND (", kRunUnfinished,
                     " OR started_at > (SELECT started_at FROM sync_runs WHERE run_id = $2::uuid)) LIMIT 1"),
        rec.run.idp_id(), run_id);
    if (!newer.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("sync run ", run_id, " was superseded by a newer run of its identity source"));
    }
    const std::string origin = absl::StrCat("sync:", run_id);
    absl::StatusOr<WriteResult> departed =
        DirectoryWriter::MarkDepartedInTx(tx, tenant, rec.run.idp_id(), rec.held_userids, origin);
    if (!departed.ok()) return departed.status();
    absl::StatusOr<WriteResult> deleted =
        DirectoryWriter::DeleteDepartmentsInTx(tx, tenant, rec.run.idp_id(), rec.held_dept_ids, origin);
    if (!deleted.ok()) return deleted.status();
    v1::SyncCounts counts = rec.run.counts();
    counts.set_users_departed(counts.users_departed() + departed->updated);
    counts.set_departments_deleted(counts.departments_deleted() + deleted->deleted);
    pqxx::result u = tx.exec_params(
        absl::StrCat("UPDATE sync_runs SET state = $2, counts = $3::jsonb, ended_at = now()"
                     " WHERE run_id = $1::uuid RETURNING ",
                     kColumns),
        run_id, static_cast<int>(v1::SUCCEEDED), ToJson(counts));
    SyncRunRecord out = FromRow(u[0]);
    tx.commit();
    return out;
  });
}

}  // namespace sase::store

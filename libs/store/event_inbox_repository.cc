#include "store/event_inbox_repository.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/validation.h"

namespace sase::store {
namespace {

std::string IdList(const std::vector<int64_t>& ids) { return nlohmann::json(ids).dump(); }

// Back-off of a row that goes back to PENDING: 2^attempts seconds, at most 5 minutes.
constexpr char kBackOff[] = "next_attempt_at = now() + make_interval(secs => least(300, power(2, attempts)))";
constexpr char kIdsIn[] = "id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)";

}  // namespace

absl::StatusOr<std::vector<absl::StatusOr<InboxInsertResult>>> EventInboxRepository::Insert(
    const std::vector<InboxSubmission>& batch) {
  using Results = std::vector<absl::StatusOr<InboxInsertResult>>;
  return pool_.Run<Results>([&](pqxx::connection& c) -> absl::StatusOr<Results> {
    pqxx::work tx(c);
    // Ownership of every source in the batch, in one statement. FOR KEY SHARE (what a foreign
    // key check takes, once per batch instead of once per row): a concurrent delete of a source
    // waits for this batch, then deletes its events (trigger, migration 005); updates of the
    // source are not blocked.
    // Ids in their canonical spelling: they are compared with what PostgreSQL returns.
    std::vector<std::string> idp_of(batch.size());
    nlohmann::json idps = nlohmann::json::array();
    for (size_t i = 0; i < batch.size(); ++i) {
      idp_of[i] = common::CanonicalUuid(batch[i].idp_id);
      idps.push_back(idp_of[i]);
    }
    absl::flat_hash_map<std::string, std::string> tenant_of;
    for (const auto& row : tx.exec_params(
             "SELECT idp_id::text, tenant_id FROM identity_sources "
             "WHERE idp_id IN (SELECT json_array_elements_text($1::json)::uuid) FOR KEY SHARE",
             idps.dump())) {
      tenant_of[row[0].c_str()] = row[1].c_str();
    }
    auto owned = [&](size_t i) {
      auto it = tenant_of.find(idp_of[i]);
      return it != tenant_of.end() && it->second == batch[i].tenant_id;
    };
    // Rows in (idp_id, dedupe_key) order: concurrent batches that share keys (a push and its
    // retry, two ingress replicas) then take the unique-index locks in the same order and wait
    // for each other instead of deadlocking.
    std::vector<std::pair<size_t, const InboxEvent*>> ordered;  // (submission, event)
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!owned(i)) continue;
      for (const InboxEvent& e : *batch[i].events) ordered.emplace_back(i, &e);
    }
    std::sort(ordered.begin(), ordered.end(), [&](const auto& a, const auto& b) {
      return std::tie(idp_of[a.first], a.second->dedupe_key) < std::tie(idp_of[b.first], b.second->dedupe_key);
    });
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [i, e] : ordered) {
      rows.push_back({{"i", idp_of[i]},
                      {"t", batch[i].tenant_id},
                      {"k", e->dedupe_key},
                      {"y", e->event_type},
                      {"m", e->event_time_ms},
                      {"u", e->user_ids},
                      {"d", e->department_ids},
                      {"p", e->payload_json}});
    }
    // One INSERT for the whole group; json_to_recordset turns the rows (and their id arrays)
    // into columns in one pass.
    absl::flat_hash_set<std::string> inserted;
    bool all_inserted = false;
    if (!rows.empty()) {
      pqxx::result r = tx.exec_params(
          "INSERT INTO event_inbox (idp_id, tenant_id, dedupe_key, event_type, event_time_ms, user_ids, "
          "dept_ids, payload) "
          "SELECT i, t, k, y, m, coalesce(u, '{}'), coalesce(d, '{}'), p "
          "FROM json_to_recordset($1::json) AS x(i uuid, t text, k text, y text, m bigint, u text[], "
          "d bigint[], p text) "
          "ON CONFLICT (idp_id, dedupe_key) DO NOTHING RETURNING idp_id::text, dedupe_key",
          rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      all_inserted = r.size() == rows.size();
      if (!all_inserted) {
        for (const auto& row : r) inserted.insert(absl::StrCat(row[0].c_str(), "|", row[1].c_str()));
      }
    }
    tx.commit();
    Results out;
    out.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const InboxSubmission& s = batch[i];
      if (!owned(i)) {
        out.push_back(absl::NotFoundError(
            absl::StrCat("identity source ", s.idp_id, " not found in tenant ", s.tenant_id)));
        continue;
      }
      InboxInsertResult r;
      if (all_inserted) {  // the common case: every row new
        r.accepted = static_cast<int>(s.events->size());
        r.duplicate.assign(s.events->size(), false);
        out.push_back(std::move(r));
        continue;
      }
      r.duplicate.reserve(s.events->size());
      for (const InboxEvent& e : *s.events) {
        // erase(): a key repeated within the batch counts as stored once, then as a duplicate.
        bool stored = inserted.erase(absl::StrCat(idp_of[i], "|", e.dedupe_key)) > 0;
        r.duplicate.push_back(!stored);
        ++(stored ? r.accepted : r.duplicates);
      }
      out.push_back(std::move(r));
    }
    return out;
  });
}

absl::StatusOr<std::vector<ClaimedEvent>> EventInboxRepository::Claim(int limit, absl::Duration lease,
                                                                      const std::vector<std::string>& paused) {
  // Per source through the partial index (idp_id, next_attempt_at) WHERE state = 0: the literal
  // must match the index predicate, so it is spliced in rather than bound.
  static const std::string kSql = absl::StrCat(
      "UPDATE event_inbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2) "
      "WHERE id IN (SELECT c.id FROM identity_sources s CROSS JOIN LATERAL ("
      "  SELECT e.id FROM event_inbox e WHERE e.idp_id = s.idp_id AND e.state = ",
      kInboxPending,
      "  AND e.next_attempt_at <= now() ORDER BY e.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) c "
      "  WHERE s.idp_id <> ALL($3::uuid[]) LIMIT $1) "
      "RETURNING id, tenant_id, idp_id::text, event_type, array_to_json(user_ids)::text, "
      "array_to_json(dept_ids)::text, attempts");
  return pool_.Run<std::vector<ClaimedEvent>>([&](pqxx::connection& conn) -> absl::StatusOr<std::vector<ClaimedEvent>> {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_params(kSql, limit, absl::ToDoubleSeconds(lease),
                                    absl::StrCat("{", absl::StrJoin(paused, ","), "}"));
    tx.commit();
    std::vector<ClaimedEvent> rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      ClaimedEvent x;
      x.id = row[0].as<int64_t>();
      x.tenant_id = row[1].c_str();
      x.idp_id = row[2].c_str();
      x.event_type = row[3].c_str();
      for (const auto& u : nlohmann::json::parse(row[4].c_str())) x.user_ids.push_back(u.get<std::string>());
      for (const auto& d : nlohmann::json::parse(row[5].c_str())) x.dept_ids.push_back(d.get<int64_t>());
      x.attempts = row[6].as<int>();
      rows.push_back(std::move(x));
    }
    return rows;
  });
}

absl::StatusOr<std::vector<double>> EventInboxRepository::Settle(const InboxSettlement& s) {
  return pool_.Run<std::vector<double>>([&](pqxx::connection& conn) -> absl::StatusOr<std::vector<double>> {
    pqxx::work tx(conn);
    std::vector<double> lags;
    if (!s.recheck.empty()) {
      tx.exec_params(absl::StrCat("UPDATE event_inbox SET state = ", kInboxPending, ", last_error = $2, ", kBackOff,
                                  " WHERE ", kIdsIn),
                     IdList(s.recheck), s.recheck_reason);
    }
    if (!s.applied.empty()) {
      pqxx::result r = tx.exec_params(absl::StrCat("UPDATE event_inbox SET state = ", kInboxApplied,
                                                   ", last_error = '' WHERE ", kIdsIn,
                                                   " RETURNING extract(epoch FROM now() - received_at)"),
                                      IdList(s.applied));
      lags.reserve(r.size());
      for (const auto& l : r) lags.push_back(l[0].as<double>());
    }
    if (!s.failed.empty()) {
      tx.exec_params(absl::StrCat("UPDATE event_inbox SET state = $2, last_error = $3, ", kBackOff, " WHERE ", kIdsIn),
                     IdList(s.failed), s.park ? kInboxParked : kInboxPending, s.reason);
    }
    tx.commit();
    return lags;
  });
}

absl::StatusOr<int64_t> EventInboxRepository::PendingCount() {
  static const std::string kSql = absl::StrCat("SELECT count(*) FROM event_inbox WHERE state = ", kInboxPending);
  return pool_.Run<int64_t>([](pqxx::connection& c) -> absl::StatusOr<int64_t> {
    pqxx::read_transaction tx(c);
    return tx.exec1(kSql)[0].as<int64_t>();
  });
}

}  // namespace sase::store

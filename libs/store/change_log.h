#pragma once
// Writing the change log. Every directory write appends one row per changed object, in the same
// transaction, after taking the change-log lock: the lock serialises change-writing transactions
// so that seq order equals commit order and a WatchChanges reader following the cursor never
// skips a row that commits later with a smaller seq. The transaction also NOTIFYs
// kChangeChannel so watchers wake within milliseconds of the commit.

#include <cstdint>
#include <string>

#include <pqxx/pqxx>

namespace sase::store {

inline constexpr char kChangeChannel[] = "sase_changes";

// Takes the transaction-scoped change-log lock (idempotent within a transaction).
void LockChangeLog(pqxx::transaction_base& tx);

// Appends one change (LockChangeLog first) and returns its seq. kind is a
// sase.dingtalk.v1.ChangeKind value; payload the serialized User or Department.
int64_t AppendChange(pqxx::transaction_base& tx, const std::string& tenant_id, const std::string& idp_id, int kind,
                     const std::string& object_id, const std::string& origin, const std::string& payload);

// Queues a NOTIFY on kChangeChannel with the tenant as payload (delivered at commit).
void NotifyChanges(pqxx::transaction_base& tx, const std::string& tenant_id);

}  // namespace sase::store

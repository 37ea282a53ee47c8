#pragma once
// Composition of the full-sync engine from the sync_worker configuration: one process-wide DingTalk
// rate limiter (per (app, API) buckets at dingtalk_qps plus the process cap), an HttpClient per
// identity source against the configured base URLs, metrics on the process registry.

#include <memory>

#include "common/clock.h"
#include "store/pg_pool.h"
#include "sync_worker/full_sync/sync_engine.h"
#include "sync_worker/sync_config.h"

namespace prometheus {
class Registry;
}

namespace sase::sync_worker {

// HttpClients for identity sources, sharing one process-wide rate limiter and the registry.
ClientFactory MakeClientFactory(const SyncSettings& settings, prometheus::Registry& registry, common::Clock& clock);

// The engine with the options of `settings`, on the process's shared SourceClients.
std::unique_ptr<SyncEngine> MakeSyncEngine(const SyncSettings& settings, store::PgPool& pool, SourceClients& sources,
                                           prometheus::Registry& registry, common::Clock& clock);

}  // namespace sase::sync_worker

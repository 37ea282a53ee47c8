#include "sync_worker/sync_wiring.h"

#include <algorithm>

#include "common/clock.h"
#include "dingtalk/http_client.h"
#include "dingtalk/rate_limiter.h"

namespace sase::sync_worker {

ClientFactory MakeClientFactory(const SyncSettings& settings, prometheus::Registry& registry, common::Clock& clock) {
  dingtalk::RateLimitConfig limits;
  limits.qps_per_api = static_cast<double>(settings.dingtalk_qps);
  limits.process_qps = static_cast<double>(settings.dingtalk_process_qps);
  auto limiter = std::make_shared<dingtalk::RateLimiter>(limits, clock);
  return [settings, limiter, &registry, &clock](
             const SourceConfig& src) -> absl::StatusOr<std::shared_ptr<dingtalk::Client>> {
    dingtalk::ClientConfig cfg;
    cfg.app_key = src.record.app_key;
    cfg.app_secret = src.app_secret;
    cfg.oapi_base_url = settings.dingtalk_oapi_base;
    cfg.api_base_url = settings.dingtalk_api_base;
    cfg.rate_limit = limiter->config();
    dingtalk::ClientDeps deps;
    deps.registry = &registry;
    deps.limiter = limiter;
    deps.clock = &clock;
    absl::StatusOr<std::unique_ptr<dingtalk::HttpClient>> c = dingtalk::HttpClient::Create(cfg, deps);
    if (!c.ok()) return c.status();
    return std::shared_ptr<dingtalk::Client>(std::move(*c));
  };
}

std::unique_ptr<SyncEngine> MakeSyncEngine(const SyncSettings& settings, store::PgPool& pool, SourceClients& sources,
                                           prometheus::Registry& registry, common::Clock& clock) {
  SyncEngineOptions opts;
  opts.lease = absl::Seconds(settings.sync_lease_seconds);
  opts.poll_interval = absl::Milliseconds(settings.sync_poll_ms);
  opts.scheduler_enabled = settings.sync_scheduler;
  opts.max_concurrent_runs = static_cast<int>(settings.sync_max_concurrent_runs);
  opts.user_workers = static_cast<int>(settings.sync_fetch_workers);
  opts.department_workers = static_cast<int>(settings.sync_fetch_workers);
  opts.apply_batch = static_cast<int>(settings.sync_apply_batch);
  opts.outage.budget = absl::Seconds(settings.sync_outage_budget_seconds);
  opts.outage.ip_ban_wait = absl::Seconds(settings.sync_ip_ban_wait_seconds);
  opts.retry.base = absl::Seconds(settings.sync_retry_backoff_seconds);
  opts.retry.max = absl::Seconds(settings.sync_retry_backoff_max_seconds);
  return std::make_unique<SyncEngine>(pool, sources, registry, clock, std::move(opts));
}

}  // namespace sase::sync_worker

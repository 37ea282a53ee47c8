#include "sync_worker/sync_config.h"

#include "absl/strings/str_cat.h"

namespace sase::sync_worker {
namespace {

absl::Status ValidateBase(const char* key, const std::string& url) {
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("config key ", key, ": must be an http(s):// URL"));
  }
  if (url.find_first_of(" \t\r\n?#") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("config key ", key, ": must be a base URL without query"));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterSyncConfig(common::ConfigParser& p, SyncSettings* s) {
  p.String("dingtalk_oapi_base", &s->dingtalk_oapi_base, "https://oapi.dingtalk.com",
           "base URL of DingTalk's old API (oapi); the simulator's URL in tests");
  p.String("dingtalk_api_base", &s->dingtalk_api_base, "https://api.dingtalk.com",
           "base URL of DingTalk's new API (/v1.0)");
  p.Int("dingtalk_qps", &s->dingtalk_qps, 20, "DingTalk calls per second per app per API", {.min = 1, .max = 1000});
  p.Int("dingtalk_process_qps", &s->dingtalk_process_qps, 400,
        "DingTalk calls per second of this process (all apps and APIs; DingTalk bans an IP above 500/s)",
        {.min = 1, .max = 10000});
  p.Bool("sync_scheduler", &s->sync_scheduler, true, "run scheduled full syncs of auto_sync identity sources");
  p.Int("sync_lease_seconds", &s->sync_lease_seconds, 30,
        "sync run lease; a run whose worker stopped renewing it is taken over after this long",
        {.min = 3, .max = 3600});
  p.Int("sync_poll_ms", &s->sync_poll_ms, 1000, "how often to look for due sources and expired runs",
        {.min = 10, .max = 600000});
  p.Int("sync_max_concurrent_runs", &s->sync_max_concurrent_runs, 4,
        "scheduled/taken-over runs at once on this worker", {.min = 1, .max = 64});
  p.Int("sync_fetch_workers", &s->sync_fetch_workers, 8, "concurrent user-list fetchers per run",
        {.min = 1, .max = 64});
  p.Int("sync_outage_budget_seconds", &s->sync_outage_budget_seconds, 1800,
        "how long one run may wait out DingTalk outages in total before it fails", {.min = 0, .max = 86400});
  p.Int("sync_ip_ban_wait_seconds", &s->sync_ip_ban_wait_seconds, 300,
        "pause of a run each time DingTalk answers with its IP-ban page", {.min = 1, .max = 3600});
  p.Int("sync_retry_backoff_seconds", &s->sync_retry_backoff_seconds, 60,
        "first retry of a run that failed on a transient reason; doubles per failure in a row",
        {.min = 1, .max = 86400});
  p.Int("sync_retry_backoff_max_seconds", &s->sync_retry_backoff_max_seconds, 1800,
        "longest wait between retries of a failing source", {.min = 1, .max = 86400});
  p.Int("sync_apply_batch", &s->sync_apply_batch, 1000, "users/departments per directory write transaction",
        {.min = 1, .max = 10000});
}

absl::Status ValidateSyncSettings(const SyncSettings& s) {
  if (s.sync_retry_backoff_max_seconds < s.sync_retry_backoff_seconds) {
    return absl::InvalidArgumentError(
        "config key sync_retry_backoff_max_seconds: must not be below sync_retry_backoff_seconds");
  }
  if (absl::Status st = ValidateBase("dingtalk_oapi_base", s.dingtalk_oapi_base); !st.ok()) return st;
  return ValidateBase("dingtalk_api_base", s.dingtalk_api_base);
}

}  // namespace sase::sync_worker

#pragma once
// sync_worker configuration keys of the full-sync engine and the DingTalk client (part of
// SyncWorkerConfig; registered on its ConfigParser).

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "common/config.h"

namespace sase::sync_worker {

struct SyncSettings {
  std::string dingtalk_oapi_base;  // default https://oapi.dingtalk.com (the simulator URL in tests)
  std::string dingtalk_api_base;   // default https://api.dingtalk.com
  int64_t dingtalk_qps = 20;       // per app per API
  int64_t dingtalk_process_qps = 400;  // all apps and APIs of this process together
  bool sync_scheduler = true;      // claim due auto_sync sources
  int64_t sync_lease_seconds = 30;
  int64_t sync_poll_ms = 1000;
  int64_t sync_max_concurrent_runs = 4;
  int64_t sync_fetch_workers = 8;
  int64_t sync_apply_batch = 1000;
  int64_t sync_outage_budget_seconds = 1800;
  int64_t sync_ip_ban_wait_seconds = 300;
  int64_t sync_retry_backoff_seconds = 60;
  int64_t sync_retry_backoff_max_seconds = 1800;
};

void RegisterSyncConfig(common::ConfigParser& p, SyncSettings* s);
// InvalidArgument naming the key.
absl::Status ValidateSyncSettings(const SyncSettings& s);

}  // namespace sase::sync_worker

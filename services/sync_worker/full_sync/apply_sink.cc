#include "sync_worker/full_sync/apply_sink.h"

#include <utility>

#include "common/log.h"

namespace sase::sync_worker {

ApplySink::~ApplySink() {
  (void)Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (writer_thread_.joinable()) writer_thread_.join();
}

absl::Status ApplySink::Departments(const std::vector<dingtalk::v1::Department>& batch) {
  if (absl::Status s = Finish(); !s.ok()) return s;
  if (rs_.cancel.load()) return absl::CancelledError("cancelled");
  const absl::Time t0 = absl::Now();
  // department/listsub carries neither order nor managers: what department events stored is kept.
  absl::StatusOr<store::WriteResult> w = writer_.UpsertDepartments(
      tenant_, idp_, batch, origin_, store::DepartmentUpsertOptions{.keep_stored_order_and_managers = true});
  dept_busy_ += absl::Now() - t0;
  ++dept_calls_;
  if (!w.ok()) return w.status();
  rs_.Update([&](dingtalk::v1::SyncCounts& c) {
    c.set_departments_created(c.departments_created() + w->created);
    c.set_departments_updated(c.departments_updated() + w->updated);
  });
  return absl::OkStatus();
}

absl::Status ApplySink::Users(const std::vector<dingtalk::v1::User>& batch) {
  if (absl::Status s = Finish(); !s.ok()) return s;
  if (rs_.cancel.load()) return absl::CancelledError("cancelled");
  std::lock_guard<std::mutex> lock(mu_);
  if (!writer_thread_.joinable()) writer_thread_ = std::thread([this] { WriterLoop(); });
  next_ = batch;
  has_next_ = true;
  cv_.notify_all();
  return absl::OkStatus();
}

absl::Status ApplySink::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !has_next_ && !writing_; });
  absl::Status s = std::move(error_);
  error_ = absl::OkStatus();
  return s;
}

void ApplySink::LogFetched(const std::string& run_id, absl::Time started) const {
  common::LogInfo("sync run fetched",
                  {{"run_id", run_id},
                   {"elapsed_ms", static_cast<int64_t>(absl::ToInt64Milliseconds(absl::Now() - started))},
                   {"dept_write_ms", static_cast<int64_t>(absl::ToInt64Milliseconds(dept_busy_))},
                   {"dept_writes", dept_calls_},
                   {"user_write_ms", static_cast<int64_t>(absl::ToInt64Milliseconds(user_busy_))},
                   {"user_writes", user_calls_}});
}

void ApplySink::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return has_next_ || stopping_; });
    if (!has_next_) return;
    std::vector<dingtalk::v1::User> batch = std::move(next_);
    next_.clear();
    has_next_ = false;
    writing_ = true;
    lock.unlock();
    absl::Status s = WriteUsers(batch);
    batch.clear();
    lock.lock();
    writing_ = false;
    if (!s.ok() && error_.ok()) error_ = s;
    cv_.notify_all();
  }
}

absl::Status ApplySink::WriteUsers(const std::vector<dingtalk::v1::User>& batch) {
  const absl::Time t0 = absl::Now();
  // v2/user/list carries no manager_userid: what user events (user/get) stored is kept.
  absl::StatusOr<store::WriteResult> w =
      writer_.UpsertUsers(tenant_, idp_, batch, origin_, store::UserUpsertOptions{.keep_stored_manager = true});
  user_busy_ += absl::Now() - t0;
  ++user_calls_;
  if (!w.ok()) return w.status();
  rs_.Update([&](dingtalk::v1::SyncCounts& c) {
    c.set_users_created(c.users_created() + w->created);
    c.set_users_updated(c.users_updated() + w->updated);
  });
  return absl::OkStatus();
}

}  // namespace sase::sync_worker

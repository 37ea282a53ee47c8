#pragma once
// The full sync's snapshot sink: creates and updates are written to the directory as the snapshot
// streams in, counted into the run's RunState.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "store/directory_writer.h"
#include "sync_worker/full_sync/run_state.h"
#include "sync_worker/full_sync/snapshot_fetcher.h"

namespace sase::sync_worker {

// Applies the streamed snapshot: departments and users upserted batch by batch. One user batch is
// written on a writer thread while the fetcher assembles the next (the database and the DingTalk
// calls overlap); departments are written in line, after any user write in flight, so a user is
// never written before the departments it references. Finish() waits for the last write.
class ApplySink : public SnapshotSink {
 public:
  ApplySink(store::DirectoryWriter& writer, const std::string& tenant, const std::string& idp,
            const std::string& origin, RunState& rs)
      : writer_(writer), tenant_(tenant), idp_(idp), origin_(origin), rs_(rs) {}
  ~ApplySink() override;

  absl::Status Departments(const std::vector<dingtalk::v1::Department>& batch) override;
  absl::Status Users(const std::vector<dingtalk::v1::User>& batch) override;
  // Waits for the user write in flight; its error, if any (reported once).
  absl::Status Finish();
  // Time spent in the directory writer and its calls, by kind (the rest of the fetch overlaps).
  void LogFetched(const std::string& run_id, absl::Time started) const;

 private:
  void WriterLoop();

  absl::Status WriteUsers(const std::vector<dingtalk::v1::User>& batch);

  store::DirectoryWriter& writer_;
  const std::string& tenant_;
  const std::string& idp_;
  const std::string& origin_;
  RunState& rs_;
  // One long-lived writer thread (a thread per batch would give glibc a new malloc arena each
  // time: +60 MiB peak RSS on a 100k-user sync).
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<dingtalk::v1::User> next_;
  bool has_next_ = false;
  bool writing_ = false;
  bool stopping_ = false;
  absl::Status error_;
  std::thread writer_thread_;
  absl::Duration dept_busy_;
  absl::Duration user_busy_;  // written by the writer thread; read after Finish()
  int64_t dept_calls_ = 0;
  int64_t user_calls_ = 0;
};

}  // namespace sase::sync_worker

#pragma once
// In-process cache of users (and of department existence) for the hot directory reads GetUser
// and CheckMembership, kept coherent with PostgreSQL by following the change log.
//
// Coherence: a follower thread reads every change_log row (all tenants) after the last applied
// seq whenever the ChangeNotifier moves (NOTIFY at commit, or its poll tick). A user row evicts
// that user; a department or identity-source row evicts every user and every department fact of
// the source (a move changes the closures of users the log does not name). Seq order equals
// commit order (store/change_log.h), so following the seq never skips a commit.
//
// Stale-insert race (read old row -> invalidation applied -> insert old row): a miss remembers
// the applied seq S before its database read and inserts only if no change applied since S
// touched the user's source; the check runs under the shard lock and the follower records the
// source's seq before evicting, so either the insert is refused or the eviction follows it.
// If the follower cannot read the log the cache is emptied and bypassed until it catches up.
//
// Entries are keyed by tenant and user_id and re-checked against the tenant on every hit.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "sase/dingtalk/v1/directory.pb.h"
#include "directory/change_notifier.h"
#include "store/directory_reader.h"

namespace sase::directory {

class UserCache {
 public:
  struct Options {
    // Bounds (whichever is hit first). Entry bytes are estimated (serialized user, closure, keys,
    // container overhead).
    size_t max_entries = 200000;
    size_t max_bytes = size_t{80} << 20;
    // Fill the cache in the background at Start() (all tenants, by user_id) until a bound is hit.
    bool warm = true;
    int warm_batch = 1000;
    int follow_batch = 1000;
  };

  struct Entry {
    std::string tenant;
    std::string idp;
    std::string serialized;        // v1::User
    std::vector<int64_t> closure;  // sorted
    std::vector<int64_t> direct;   // sorted
    size_t bytes = 0;
  };

  UserCache(store::DirectoryReader& reader, ChangeNotifier& notifier, Options options);
  UserCache(store::DirectoryReader& reader, ChangeNotifier& notifier) : UserCache(reader, notifier, Options()) {}
  ~UserCache();  // Stop()
  UserCache(const UserCache&) = delete;
  UserCache& operator=(const UserCache&) = delete;

  // Reads the current log position and starts the follower (and the warmer). Until it succeeds
  // the cache is bypassed.
  absl::Status Start();
  void Stop();

  // Inputs validated and lowercased by the caller. Same answers (and NotFound texts) as
  // DirectoryReader::GetUser / CheckMembership.
  absl::Status GetUser(const std::string& tenant, const std::string& user_id, dingtalk::v1::User* out);
  absl::StatusOr<store::MembershipResult> CheckMembership(const std::string& tenant, const std::string& user_id,
                                                          int64_t dept_id);

  // For tests and metrics.
  int64_t applied_seq() const { return applied_seq_.load(std::memory_order_acquire); }
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }
  size_t size() const;
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  bool warm_done() const { return warm_done_.load(std::memory_order_acquire); }
  // Returns warm_done() once it holds or `timeout` passed.
  bool WaitWarm(std::chrono::milliseconds timeout) const;

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<const Entry>> map ABSL_GUARDED_BY(mu);
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
  };
  struct IdpDepts {
    absl::flat_hash_set<int64_t> present;
    absl::flat_hash_set<int64_t> absent;
  };

  static std::string Key(const std::string& tenant, const std::string& user_id);
  Shard& ShardFor(const std::string& key);
  std::shared_ptr<const Entry> Find(const std::string& tenant, const std::string& user_id);
  // Loads from the database and inserts unless a change raced with the read.
  absl::StatusOr<std::shared_ptr<const Entry>> Load(const std::string& tenant, const std::string& user_id);
  // Find, counted as a hit, else Load.
  absl::StatusOr<std::shared_ptr<const Entry>> FindOrLoad(const std::string& tenant, const std::string& user_id);
  std::shared_ptr<const Entry> MakeEntry(store::UserWithClosure row) const;
  // false when a bound is hit (and evict_on_full is false) or a change raced.
  bool Insert(const std::string& key, std::shared_ptr<const Entry> entry, int64_t read_seq, bool evict_on_full);
  absl::StatusOr<bool> DepartmentExists(const std::string& idp, int64_t dept_id);
  int64_t IdpSeq(const std::string& idp) const;

  void Follow();
  void Warm();
  absl::Status CatchUp();
  void EvictUser(const std::string& tenant, const std::string& user_id);
  void EvictIdp(const std::string& idp);
  void Clear();

  store::DirectoryReader& reader_;
  ChangeNotifier& notifier_;
  Options options_;
  Shard shards_[kShards];
  std::atomic<int64_t> applied_seq_{0};
  std::atomic<bool> enabled_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> warm_done_{false};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};

  // Seq of the last applied change touching each source; department facts per source.
  mutable absl::Mutex idp_mu_;
  absl::flat_hash_map<std::string, int64_t> idp_seq_ ABSL_GUARDED_BY(idp_mu_);
  absl::flat_hash_map<std::string, IdpDepts> depts_ ABSL_GUARDED_BY(idp_mu_);
  size_t dept_facts_ ABSL_GUARDED_BY(idp_mu_) = 0;

  std::thread follower_;
  std::thread warmer_;
};

}  // namespace sase::directory

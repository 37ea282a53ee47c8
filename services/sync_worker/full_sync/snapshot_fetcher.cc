#include "sync_worker/full_sync/snapshot_fetcher.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "dingtalk/error.h"

namespace sase::sync_worker {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using dingtalk::ApiError;
using dingtalk::ReasonOf;
using Clock = std::chrono::steady_clock;

// Calls fn until it succeeds, fails with a non-retryable reason, or the attempts run out.
// A call through the run's outage gate (which waits out DingTalk outages), or once without one.
template <typename Fn>
auto ThroughOutageGate(const FetchOptions& opts, const std::atomic<bool>& cancel, Fn fn) -> decltype(fn()) {
  if (opts.outage == nullptr) return fn();
  return opts.outage->Call(cancel, fn);
}

// Merges `add` (sorted, unique) into `into` (sorted, unique); true when something was new.
bool MergeSorted(std::vector<int64_t>& into, const std::vector<int64_t>& add) {
  if (std::includes(into.begin(), into.end(), add.begin(), add.end())) return false;
  std::vector<int64_t> out;
  out.reserve(into.size() + add.size());
  std::set_union(into.begin(), into.end(), add.begin(), add.end(), std::back_inserter(out));
  into.swap(out);
  return true;
}

// What is kept of every user for the whole fetch: the departments named so far (unfiltered).
struct SeenUser {
  std::vector<int64_t> depts;
  std::vector<int64_t> leader_of;
};

// One user of a page, mapped outside the lock.
struct PageUser {
  v1::User user;
  std::vector<int64_t> depts;
  std::vector<int64_t> leader_of;
};

class Fetcher {
 public:
  Fetcher(dingtalk::Client& client, const FetchOptions& opts, FetchProgress& progress, const std::atomic<bool>& cancel)
      : client_(client), opts_(opts), progress_(progress), cancel_(cancel) {}

  absl::StatusOr<FetchSummary> Run(SnapshotSink& sink) {
    dingtalk::CallOptions call = dingtalk::CallOptions::Bulk(opts_.stats);
    std::vector<int64_t> roots = opts_.scope_roots;
    const bool whole_org = roots.empty();
    if (whole_org) roots.push_back(dingtalk::kRootDeptId);
    if (whole_org && !opts_.departments_only) {
      absl::StatusOr<int64_t> count = client_.CountUsers(false, call);
      if (count.ok()) progress_.users_total.store(*count);
    }
    for (int64_t root : roots) {
      if (visited_.contains(root)) continue;
      absl::StatusOr<dingtalk::Department> d =
          ThroughOutageGate(opts_, cancel_, [&] { return client_.GetDepartment(root, call); });
      if (!d.ok()) {
        if (ReasonOf(d.status()) == ApiError::kNotFound) continue;  // scope root deleted: empty subtree
        return d.status();
      }
      if (root == dingtalk::kRootDeptId) d->parent_id = 0;
      std::lock_guard<std::mutex> lock(mu_);
      DiscoverLocked(*d);
    }
    std::vector<std::thread> threads;
    auto spawn = [&](void (Fetcher::*fn)()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++workers_running_;
      }
      threads.emplace_back([this, fn] {
        (this->*fn)();
        std::lock_guard<std::mutex> lock(mu_);
        --workers_running_;
        cv_.notify_all();
      });
    };
    for (int i = 0; i < std::max(1, opts_.department_workers); ++i) spawn(&Fetcher::DeptWorker);
    if (!opts_.departments_only) {
      for (int i = 0; i < std::max(1, opts_.user_workers); ++i) spawn(&Fetcher::UserWorker);
    }
    Consume(sink);
    for (auto& t : threads) t.join();
    if (!error_.ok()) return error_;
    if (cancel_.load()) return absl::CancelledError("fetch cancelled");

    FetchSummary sum;
    sum.users_fetched = !opts_.departments_only;
    sum.department_ids = std::move(visited_);
    sum.userids.reserve(seen_.size());
    for (auto& [userid, seen] : seen_) sum.userids.insert(userid);
    seen_.clear();
    progress_.users_total.store(static_cast<int64_t>(sum.userids.size()));
    return sum;
  }

 private:
  bool StoppedLocked() const { return !error_.ok() || cancel_.load(); }
  void FailLocked(const absl::Status& s) {
    if (error_.ok()) error_ = s;
    cv_.notify_all();
  }

  // Adds a department (once) and queues its listings.
  void DiscoverLocked(const dingtalk::Department& d) {
    if (!visited_.insert(d.dept_id).second) return;
    v1::Department out;
    out.set_department_id(d.dept_id);
    out.set_name(d.name);
    out.set_parent_id(d.parent_id);
    dept_pending_.push_back(std::move(out));
    dept_queue_.push_back(d.dept_id);
    if (!opts_.departments_only) user_queue_.push_back(d.dept_id);
    progress_.departments_total.fetch_add(1);
    cv_.notify_all();
  }

  // A department is settled once the sink has it, or once discovery is over and it is not part of
  // the snapshot. A user is final once all of its departments are settled.
  // For a user, a department of the snapshot is settled once the sink has it and its user listing
  // is complete (a user's leader_in_dept can differ between listings; the union is kept).
  bool SettledLocked(int64_t id) const {
    if (written_.contains(id)) return opts_.departments_only || listed_.contains(id);
    return discovery_done_ && !visited_.contains(id);
  }
  bool ReadyLocked(const SeenUser& s) const {
    for (int64_t id : s.depts) {
      if (!SettledLocked(id)) return false;
    }
    for (int64_t id : s.leader_of) {
      if (!SettledLocked(id)) return false;
    }
    return true;
  }
  void FinalizeLocked(v1::User& u, const SeenUser& s) {
    auto assign = [&](const std::vector<int64_t>& ids, google::protobuf::RepeatedField<int64_t>* out) {
      out->Clear();
      for (int64_t id : ids) {
        if (visited_.contains(id)) out->Add(id);
      }
    };
    assign(s.depts, u.mutable_department_ids());
    assign(s.leader_of, u.mutable_leader_department_ids());
  }
  void StageLocked(v1::User&& u, const SeenUser& s) {
    if (ReadyLocked(s)) {
      waiting_.erase(u.dingtalk_userid());
      FinalizeLocked(u, s);
      ready_.push_back(std::move(u));
    } else {
      std::string key = u.dingtalk_userid();
      waiting_.insert_or_assign(std::move(key), std::move(u));
    }
  }
  void RecheckWaitingLocked() {
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      const SeenUser& s = seen_.at(it->first);
      if (!ReadyLocked(s)) {
        ++it;
        continue;
      }
      FinalizeLocked(it->second, s);
      ready_.push_back(std::move(it->second));
      auto done = it++;
      waiting_.erase(done);
    }
  }

  // The calling thread: hands departments and final users to the sink until the workers are done.
  void Consume(SnapshotSink& sink) {
    const size_t batch = static_cast<size_t>(std::max(1, opts_.batch));
    // Partial batches only when the source is slow (throttled) or at the end.
    const auto user_tick = std::chrono::seconds(1);
    const auto dept_tick = std::chrono::milliseconds(300);
    auto last_users = Clock::now();
    auto last_depts = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] {
        return StoppedLocked() || workers_running_ == 0 || ready_.size() >= batch || dept_pending_.size() >= batch;
      });
      if (StoppedLocked()) return;
      const bool done = workers_running_ == 0;
      const bool depts_due = dept_pending_.size() >= batch || done || discovery_done_ ||
                             (!waiting_.empty() && Clock::now() - last_depts >= dept_tick);
      if (!dept_pending_.empty() && depts_due) {
        std::vector<v1::Department> depts;
        depts.swap(dept_pending_);
        lock.unlock();
        absl::Status s = sink.Departments(depts);
        lock.lock();
        if (!s.ok()) return FailLocked(s);
        last_depts = Clock::now();
        for (const v1::Department& d : depts) written_.insert(d.department_id());
        RecheckWaitingLocked();
      } else if (!waiting_.empty() && (settle_epoch_ != checked_epoch_ || discovery_done_)) {
        RecheckWaitingLocked();  // user listings completed, or discovery is over
      }
      checked_epoch_ = settle_epoch_;
      for (;;) {
        const bool flush = done || Clock::now() - last_users >= user_tick;
        if (ready_.empty() || (ready_.size() < batch && !flush)) break;
        const size_t n = std::min(batch, ready_.size());
        std::vector<v1::User> part(std::make_move_iterator(ready_.begin()),
                                   std::make_move_iterator(ready_.begin() + static_cast<ptrdiff_t>(n)));
        ready_.erase(ready_.begin(), ready_.begin() + static_cast<ptrdiff_t>(n));
        cv_.notify_all();  // user listing may continue
        lock.unlock();
        absl::Status s = sink.Users(part);
        part.clear();
        lock.lock();
        if (!s.ok()) return FailLocked(s);
        if (StoppedLocked()) return;
        last_users = Clock::now();
      }
      if (done && dept_pending_.empty() && ready_.empty() && waiting_.empty()) return;
    }
  }

  void DeptWorker() {
    dingtalk::CallOptions call = dingtalk::CallOptions::Bulk(opts_.stats);
    for (;;) {
      int64_t id = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto ready = [&] { return !dept_queue_.empty() || dept_in_flight_ == 0 || StoppedLocked(); };
        while (!ready()) cv_.wait_for(lock, std::chrono::milliseconds(100));
        if (StoppedLocked()) return;
        if (dept_queue_.empty()) {
          discovery_done_ = true;
          cv_.notify_all();
          return;
        }
        id = dept_queue_.front();
        dept_queue_.pop_front();
        ++dept_in_flight_;
      }
      absl::StatusOr<std::vector<dingtalk::Department>> children =
          ThroughOutageGate(opts_, cancel_, [&] { return client_.ListSubDepartments(id, call); });
      std::lock_guard<std::mutex> lock(mu_);
      --dept_in_flight_;
      if (!children.ok() && ReasonOf(children.status()) != ApiError::kNotFound) {
        FailLocked(children.status());
      } else if (children.ok()) {
        for (dingtalk::Department& c : *children) {
          if (c.parent_id == 0) c.parent_id = id;
          DiscoverLocked(c);
        }
      }
      progress_.departments_done.fetch_add(1);
      cv_.notify_all();
    }
  }

  // Departments are all discovered once the department queue is empty and nothing is in flight.
  void UserWorker() {
    dingtalk::CallOptions call = dingtalk::CallOptions::Bulk(opts_.stats);
    for (;;) {
      int64_t id = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto ready = [&] {
          return !user_queue_.empty() || (dept_queue_.empty() && dept_in_flight_ == 0) || StoppedLocked();
        };
        while (!ready()) cv_.wait_for(lock, std::chrono::milliseconds(100));
        if (StoppedLocked() || user_queue_.empty()) return;
        id = user_queue_.front();
        user_queue_.pop_front();
      }
      absl::Status s = ListDepartmentUsers(id, call);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        FailLocked(s);
        return;
      }
    }
  }

  absl::Status Listed(int64_t dept_id) {
    std::lock_guard<std::mutex> lock(mu_);
    listed_.insert(dept_id);
    ++settle_epoch_;
    return absl::OkStatus();
  }

  absl::Status ListDepartmentUsers(int64_t dept_id, const dingtalk::CallOptions& call) {
    const size_t max_ready =
        static_cast<size_t>(std::max(1, opts_.batch)) * static_cast<size_t>(std::max(1, opts_.max_buffered_batches));
    int64_t cursor = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        while (!StoppedLocked() && ready_.size() >= max_ready) cv_.wait_for(lock, std::chrono::milliseconds(100));
        if (StoppedLocked()) return absl::OkStatus();
      }
      absl::StatusOr<dingtalk::UserPage> page =
          ThroughOutageGate(opts_, cancel_, [&] { return client_.ListUsersPage(dept_id, cursor, opts_.page_size, call); });
      if (!page.ok()) {
        if (ReasonOf(page.status()) == ApiError::kNotFound) return Listed(dept_id);
        return page.status();
      }
      std::vector<PageUser> mapped;
      mapped.reserve(page->users.size());
      for (const dingtalk::User& u : page->users) {
        PageUser p;
        Memberships m = MembershipsOf(u, dept_id);
        p.depts = std::move(m.depts);
        p.leader_of = std::move(m.leader_of);
        p.user = MapUser(u, opts_.mappings);
        mapped.push_back(std::move(p));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (PageUser& p : mapped) {
          auto [it, inserted] = seen_.try_emplace(p.user.dingtalk_userid());
          SeenUser& s = it->second;
          if (inserted) {
            s.depts = std::move(p.depts);
            s.leader_of = std::move(p.leader_of);
            progress_.users_done.fetch_add(1);
          } else {
            const bool more_depts = MergeSorted(s.depts, p.depts);
            const bool more_leads = MergeSorted(s.leader_of, p.leader_of);
            if (!more_depts && !more_leads) continue;
          }
          StageLocked(std::move(p.user), s);
        }
        cv_.notify_all();
      }
      if (!page->has_more) return Listed(dept_id);
      if (page->next_cursor <= cursor) return absl::InternalError("user list: cursor did not advance");
      cursor = page->next_cursor;
    }
  }

  dingtalk::Client& client_;
  const FetchOptions& opts_;
  FetchProgress& progress_;
  const std::atomic<bool>& cancel_;

  std::mutex mu_;
  std::condition_variable cv_;
  absl::Status error_;
  int workers_running_ = 0;
  // Departments.
  absl::flat_hash_set<int64_t> visited_;  // discovered (the snapshot's departments)
  absl::flat_hash_set<int64_t> written_;  // handed to the sink
  absl::flat_hash_set<int64_t> listed_;   // user listing complete
  int64_t settle_epoch_ = 0;              // bumped when listed_ grows
  int64_t checked_epoch_ = 0;
  std::vector<v1::Department> dept_pending_;  // discovered, not yet handed over (discovery order)
  std::deque<int64_t> dept_queue_;
  std::deque<int64_t> user_queue_;
  int dept_in_flight_ = 0;
  bool discovery_done_ = false;
  // Users.
  absl::flat_hash_map<std::string, SeenUser> seen_;
  absl::flat_hash_map<std::string, v1::User> waiting_;  // listed, some department not settled yet
  std::deque<v1::User> ready_;                          // final, not yet handed over
};

// Collects a streamed snapshot (the later copy of a user wins, in its first position).
class CollectingSink : public SnapshotSink {
 public:
  explicit CollectingSink(Snapshot& snap) : snap_(snap) {}
  absl::Status Departments(const std::vector<v1::Department>& batch) override {
    snap_.departments.insert(snap_.departments.end(), batch.begin(), batch.end());
    return absl::OkStatus();
  }
  absl::Status Users(const std::vector<v1::User>& batch) override {
    for (const v1::User& u : batch) {
      auto [it, inserted] = index_.try_emplace(u.dingtalk_userid(), snap_.users.size());
      if (inserted) {
        snap_.users.push_back(u);
      } else {
        snap_.users[it->second] = u;
      }
    }
    return absl::OkStatus();
  }

 private:
  Snapshot& snap_;
  absl::flat_hash_map<std::string, size_t> index_;
};

}  // namespace

absl::StatusOr<FetchSummary> FetchStreaming(dingtalk::Client& client, const FetchOptions& options,
                                            FetchProgress& progress, const std::atomic<bool>& cancel,
                                            SnapshotSink& sink) {
  Fetcher f(client, options, progress, cancel);
  return f.Run(sink);
}

absl::StatusOr<Snapshot> FetchSnapshot(dingtalk::Client& client, const FetchOptions& options, FetchProgress& progress,
                                       const std::atomic<bool>& cancel) {
  Snapshot snap;
  CollectingSink sink(snap);
  absl::StatusOr<FetchSummary> sum = FetchStreaming(client, options, progress, cancel, sink);
  if (!sum.ok()) return sum.status();
  snap.users_fetched = sum->users_fetched;
  return snap;
}

}  // namespace sase::sync_worker

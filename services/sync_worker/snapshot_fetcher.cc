#include "sync_worker/snapshot_fetcher.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "dingtalk/error.h"

namespace sase::sync_worker {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using dingtalk::ApiError;
using dingtalk::ReasonOf;

// Calls fn until it succeeds, fails with a non-retryable reason, or the attempts run out.
template <typename Fn>
auto WithRetry(const FetchOptions& opts, const std::atomic<bool>& cancel, Fn fn) -> decltype(fn()) {
  auto result = fn();
  for (int i = 0; i < opts.extra_attempts && !result.ok() && !cancel.load(); ++i) {
    if (!dingtalk::IsRetryable(ReasonOf(result.status()))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250 << i));
    if (cancel.load()) break;
    result = fn();
  }
  return result;
}

struct StagedUser {
  v1::User user;
  std::vector<int64_t> depts;
  std::vector<int64_t> leader_of;
};

class Fetcher {
 public:
  Fetcher(dingtalk::Client& client, const FetchOptions& opts, FetchProgress& progress, const std::atomic<bool>& cancel)
      : client_(client), opts_(opts), progress_(progress), cancel_(cancel) {}

  absl::StatusOr<Snapshot> Run() {
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
          WithRetry(opts_, cancel_, [&] { return client_.GetDepartment(root, call); });
      if (!d.ok()) {
        if (ReasonOf(d.status()) == ApiError::kNotFound) continue;  // scope root deleted: empty subtree
        return d.status();
      }
      if (root == dingtalk::kRootDeptId) d->parent_id = 0;
      Discover(*d);
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < std::max(1, opts_.department_workers); ++i) threads.emplace_back([this] { DeptWorker(); });
    if (!opts_.departments_only) {
      for (int i = 0; i < std::max(1, opts_.user_workers); ++i) threads.emplace_back([this] { UserWorker(); });
    }
    for (auto& t : threads) t.join();
    if (cancel_.load()) return absl::CancelledError("fetch cancelled");
    if (!error_.ok()) return error_;

    Snapshot snap;
    snap.departments = std::move(departments_);
    snap.users_fetched = !opts_.departments_only;
    snap.users.reserve(users_.size());
    for (auto& [userid, staged] : users_) {
      auto keep = [&](std::vector<int64_t>& ids) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        ids.erase(std::remove_if(ids.begin(), ids.end(), [&](int64_t id) { return !visited_.contains(id); }),
                  ids.end());
      };
      keep(staged.depts);
      keep(staged.leader_of);
      v1::User& u = staged.user;
      u.mutable_department_ids()->Assign(staged.depts.begin(), staged.depts.end());
      u.mutable_leader_department_ids()->Assign(staged.leader_of.begin(), staged.leader_of.end());
      snap.users.push_back(std::move(u));
    }
    users_.clear();
    progress_.users_total.store(static_cast<int64_t>(snap.users.size()));
    return snap;
  }

 private:
  // Requires no lock held; adds a department (once) and queues its listings.
  void Discover(const dingtalk::Department& d) {
    std::lock_guard<std::mutex> lock(mu_);
    DiscoverLocked(d);
  }
  void DiscoverLocked(const dingtalk::Department& d) {
    if (!visited_.insert(d.dept_id).second) return;
    v1::Department out;
    out.set_department_id(d.dept_id);
    out.set_name(d.name);
    out.set_parent_id(d.parent_id);
    departments_.push_back(std::move(out));
    dept_queue_.push_back(d.dept_id);
    if (!opts_.departments_only) user_queue_.push_back(d.dept_id);
    progress_.departments_total.fetch_add(1);
    cv_.notify_all();
  }

  void Fail(const absl::Status& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = s;
    cv_.notify_all();
  }
  bool Stopped() const { return cancel_.load() || failed_.load(); }

  void DeptWorker() {
    dingtalk::CallOptions call = dingtalk::CallOptions::Bulk(opts_.stats);
    for (;;) {
      int64_t id = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto ready = [&] { return !dept_queue_.empty() || dept_in_flight_ == 0 || !error_.ok() || cancel_.load(); };
        while (!ready()) cv_.wait_for(lock, std::chrono::milliseconds(100));
        if (!error_.ok() || cancel_.load() || dept_queue_.empty()) {
          cv_.notify_all();
          return;
        }
        id = dept_queue_.front();
        dept_queue_.pop_front();
        ++dept_in_flight_;
      }
      absl::StatusOr<std::vector<dingtalk::Department>> children =
          WithRetry(opts_, cancel_, [&] { return client_.ListSubDepartments(id, call); });
      std::lock_guard<std::mutex> lock(mu_);
      --dept_in_flight_;
      if (!children.ok() && ReasonOf(children.status()) != ApiError::kNotFound) {
        if (error_.ok()) error_ = children.status();
        failed_ = true;
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
          return !user_queue_.empty() || (dept_queue_.empty() && dept_in_flight_ == 0) || !error_.ok() ||
                 cancel_.load();
        };
        while (!ready()) cv_.wait_for(lock, std::chrono::milliseconds(100));
        if (!error_.ok() || cancel_.load() || user_queue_.empty()) {
          cv_.notify_all();
          return;
        }
        id = user_queue_.front();
        user_queue_.pop_front();
      }
      absl::Status s = ListDepartmentUsers(id, call);
      if (!s.ok()) {
        failed_ = true;
        Fail(s);
        return;
      }
    }
  }

  absl::Status ListDepartmentUsers(int64_t dept_id, const dingtalk::CallOptions& call) {
    int64_t cursor = 0;
    for (;;) {
      if (Stopped()) return absl::OkStatus();
      absl::StatusOr<dingtalk::UserPage> page =
          WithRetry(opts_, cancel_, [&] { return client_.ListUsersPage(dept_id, cursor, opts_.page_size, call); });
      if (!page.ok()) {
        if (ReasonOf(page.status()) == ApiError::kNotFound) return absl::OkStatus();
        return page.status();
      }
      std::vector<StagedUser> mapped;
      mapped.reserve(page->users.size());
      for (const dingtalk::User& u : page->users) {
        StagedUser s;
        s.depts = u.dept_id_list;
        s.depts.push_back(dept_id);
        for (const dingtalk::DeptLeader& l : u.leader_in_dept) {
          if (l.leader) s.leader_of.push_back(l.dept_id);
        }
        mapped.push_back(std::move(s));
      }
      {
        std::lock_guard<std::mutex> lock(users_mu_);
        for (size_t i = 0; i < mapped.size(); ++i) {
          const dingtalk::User& src = page->users[i];
          auto [it, inserted] = users_.try_emplace(src.userid);
          StagedUser& dst = it->second;
          if (inserted) {
            dst.user = MapUser(src, opts_.mappings);
            progress_.users_done.fetch_add(1);
          }
          dst.depts.insert(dst.depts.end(), mapped[i].depts.begin(), mapped[i].depts.end());
          dst.leader_of.insert(dst.leader_of.end(), mapped[i].leader_of.begin(), mapped[i].leader_of.end());
        }
      }
      if (!page->has_more) return absl::OkStatus();
      if (page->next_cursor <= cursor) return absl::InternalError("user list: cursor did not advance");
      cursor = page->next_cursor;
    }
  }

  dingtalk::Client& client_;
  const FetchOptions& opts_;
  FetchProgress& progress_;
  const std::atomic<bool>& cancel_;
  std::atomic<bool> failed_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  absl::flat_hash_set<int64_t> visited_;
  std::vector<v1::Department> departments_;
  std::deque<int64_t> dept_queue_;
  std::deque<int64_t> user_queue_;
  int dept_in_flight_ = 0;
  absl::Status error_;

  std::mutex users_mu_;
  absl::flat_hash_map<std::string, StagedUser> users_;
};

}  // namespace

absl::StatusOr<Snapshot> FetchSnapshot(dingtalk::Client& client, const FetchOptions& options, FetchProgress& progress,
                                       const std::atomic<bool>& cancel) {
  Fetcher f(client, options, progress, cancel);
  return f.Run();
}

}  // namespace sase::sync_worker

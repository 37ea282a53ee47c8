#include "directory/user_cache.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace sase::directory {
namespace {

namespace v1 = ::sase::dingtalk::v1;

constexpr size_t kMaxDeptFacts = 200000;

bool IsUserChange(int kind) { return kind >= v1::CHANGE_USER_CREATED && kind <= v1::CHANGE_USER_DELETED; }

}  // namespace

UserCache::UserCache(store::DirectoryReader& reader, ChangeNotifier& notifier, Options options)
    : reader_(reader), notifier_(notifier), options_(options) {}

UserCache::~UserCache() { Stop(); }

absl::Status UserCache::Start() {
  absl::StatusOr<int64_t> latest = reader_.LatestSeq();
  if (!latest.ok()) return latest.status();
  applied_seq_.store(*latest, std::memory_order_release);
  enabled_.store(true, std::memory_order_release);
  follower_ = std::thread([this] { Follow(); });
  if (options_.warm) {
    warmer_ = std::thread([this] { Warm(); });
  } else {
    warm_done_.store(true);
  }
  return absl::OkStatus();
}

void UserCache::Stop() {
  stop_.store(true);
  if (warmer_.joinable()) warmer_.join();
  if (follower_.joinable()) follower_.join();
}

bool UserCache::WaitWarm(std::chrono::milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!warm_done() && !stop_.load() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return warm_done();
}

std::string UserCache::Key(const std::string& tenant, const std::string& user_id) {
  // A tenant id never contains '/'; the user id is a lowercase UUID.
  return absl::StrCat(tenant, "/", user_id);
}

UserCache::Shard& UserCache::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

size_t UserCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    n += s.map.size();
  }
  return n;
}

int64_t UserCache::IdpSeq(const std::string& idp) const {
  absl::ReaderMutexLock lock(&idp_mu_);
  auto it = idp_seq_.find(idp);
  return it == idp_seq_.end() ? 0 : it->second;
}

std::shared_ptr<const UserCache::Entry> UserCache::Find(const std::string& tenant, const std::string& user_id) {
  if (!enabled()) return nullptr;
  const std::string key = Key(tenant, user_id);
  Shard& s = ShardFor(key);
  std::shared_ptr<const Entry> e;
  {
    absl::MutexLock lock(&s.mu);
    auto it = s.map.find(key);
    if (it != s.map.end()) e = it->second;
  }
  if (e != nullptr && e->tenant != tenant) return nullptr;  // never another tenant's user
  return e;
}

std::shared_ptr<const UserCache::Entry> UserCache::MakeEntry(store::UserWithClosure row) const {
  auto e = std::make_shared<Entry>();
  e->tenant = row.user.tenant_id();
  e->idp = row.user.idp_id();
  e->direct.assign(row.user.department_ids().begin(), row.user.department_ids().end());
  std::sort(e->direct.begin(), e->direct.end());
  e->closure = std::move(row.closure);
  std::sort(e->closure.begin(), e->closure.end());
  row.user.SerializeToString(&e->serialized);
  e->bytes = sizeof(Entry) + e->serialized.capacity() + e->tenant.capacity() + e->idp.capacity() +
             8 * (e->closure.capacity() + e->direct.capacity()) + 2 * (e->tenant.size() + 40) + 64;
  return e;
}

bool UserCache::Insert(const std::string& key, std::shared_ptr<const Entry> entry, int64_t read_seq,
                       bool evict_on_full) {
  const size_t max_entries = std::max<size_t>(1, options_.max_entries / kShards);
  const size_t max_bytes = std::max<size_t>(1, options_.max_bytes / kShards);
  Shard& s = ShardFor(key);
  absl::MutexLock lock(&s.mu);
  if (!enabled() || IdpSeq(entry->idp) > read_seq) return false;  // a change may postdate the read
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    s.bytes -= it->second->bytes;
    s.map.erase(it);
  }
  if (s.map.size() + 1 > max_entries || s.bytes + entry->bytes > max_bytes) {
    if (!evict_on_full) return false;
    // Drop about an eighth of the shard (arbitrary entries): bounded, amortised.
    size_t drop = std::max<size_t>(1, s.map.size() / 8);
    for (auto i = s.map.begin(); i != s.map.end() && drop > 0; --drop) {
      s.bytes -= i->second->bytes;
      s.map.erase(i++);
    }
  }
  s.bytes += entry->bytes;
  s.map.emplace(key, std::move(entry));
  return true;
}

absl::StatusOr<std::shared_ptr<const UserCache::Entry>> UserCache::Load(const std::string& tenant,
                                                                         const std::string& user_id) {
  misses_.fetch_add(1, std::memory_order_relaxed);
  const int64_t read_seq = applied_seq();
  absl::StatusOr<store::UserWithClosure> row = reader_.GetUserWithClosure(tenant, user_id);
  if (!row.ok()) return row.status();
  std::shared_ptr<const Entry> e = MakeEntry(std::move(*row));
  Insert(Key(tenant, user_id), e, read_seq, /*evict_on_full=*/true);
  return e;
}

absl::StatusOr<std::shared_ptr<const UserCache::Entry>> UserCache::FindOrLoad(const std::string& tenant,
                                                                               const std::string& user_id) {
  std::shared_ptr<const Entry> e = Find(tenant, user_id);
  if (e == nullptr) return Load(tenant, user_id);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return e;
}

absl::Status UserCache::GetUser(const std::string& tenant, const std::string& user_id, v1::User* out) {
  absl::StatusOr<std::shared_ptr<const Entry>> found = FindOrLoad(tenant, user_id);
  if (!found.ok()) return found.status();
  const std::shared_ptr<const Entry> e = *std::move(found);
  if (!out->ParseFromString(e->serialized)) return absl::InternalError("user_id: cached user unreadable");
  return absl::OkStatus();
}

absl::StatusOr<bool> UserCache::DepartmentExists(const std::string& idp, int64_t dept_id) {
  if (enabled()) {
    absl::ReaderMutexLock lock(&idp_mu_);
    auto it = depts_.find(idp);
    if (it != depts_.end()) {
      if (it->second.present.contains(dept_id)) return true;
      if (it->second.absent.contains(dept_id)) return false;
    }
  }
  const int64_t read_seq = applied_seq();
  absl::StatusOr<bool> exists = reader_.DepartmentExists(idp, dept_id);
  if (!exists.ok()) return exists.status();
  absl::MutexLock lock(&idp_mu_);
  auto seq = idp_seq_.find(idp);
  if (enabled() && (seq == idp_seq_.end() || seq->second <= read_seq)) {
    if (dept_facts_ >= kMaxDeptFacts) {
      depts_.clear();
      dept_facts_ = 0;
    }
    IdpDepts& d = depts_[idp];
    if ((*exists ? d.present : d.absent).insert(dept_id).second) ++dept_facts_;
  }
  return *exists;
}

absl::StatusOr<store::MembershipResult> UserCache::CheckMembership(const std::string& tenant,
                                                                    const std::string& user_id, int64_t dept_id) {
  absl::StatusOr<std::shared_ptr<const Entry>> found = FindOrLoad(tenant, user_id);
  if (!found.ok()) return found.status();
  const std::shared_ptr<const Entry> e = *std::move(found);
  store::MembershipResult r;
  r.member = std::binary_search(e->closure.begin(), e->closure.end(), dept_id);
  r.direct = r.member && std::binary_search(e->direct.begin(), e->direct.end(), dept_id);
  // A department in the closure exists (a deletion evicts the source's users); otherwise ask.
  if (!r.member) {
    absl::StatusOr<bool> exists = DepartmentExists(e->idp, dept_id);
    if (!exists.ok()) return exists.status();
    if (!*exists) return absl::NotFoundError(absl::StrCat("department_id: ", dept_id, " not found"));
  }
  return r;
}

void UserCache::EvictUser(const std::string& tenant, const std::string& user_id) {
  const std::string key = Key(tenant, user_id);
  Shard& s = ShardFor(key);
  absl::MutexLock lock(&s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    s.bytes -= it->second->bytes;
    s.map.erase(it);
  }
}

void UserCache::EvictIdp(const std::string& idp) {
  for (Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) {
      if (it->second->idp == idp) {
        s.bytes -= it->second->bytes;
        s.map.erase(it++);
      } else {
        ++it;
      }
    }
  }
}

void UserCache::Clear() {
  {
    absl::MutexLock lock(&idp_mu_);
    depts_.clear();
    dept_facts_ = 0;
  }
  for (Shard& s : shards_) {
    absl::MutexLock lock(&s.mu);
    s.map.clear();
    s.bytes = 0;
  }
}

absl::Status UserCache::CatchUp() {
  while (!stop_.load()) {
    absl::StatusOr<std::vector<store::ChangeKey>> rows = reader_.ReadChangeKeys(applied_seq(), options_.follow_batch);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return absl::OkStatus();
    // Record every touched source's seq first (refuses racing inserts), then evict.
    absl::flat_hash_set<std::string> whole_idps;
    {
      absl::MutexLock lock(&idp_mu_);
      for (const store::ChangeKey& c : *rows) {
        idp_seq_[c.idp] = c.seq;
        if (!IsUserChange(c.kind)) {
          whole_idps.insert(c.idp);
          auto d = depts_.find(c.idp);
          if (d != depts_.end()) {
            dept_facts_ -= d->second.present.size() + d->second.absent.size();
            depts_.erase(d);
          }
        }
      }
    }
    for (const store::ChangeKey& c : *rows) {
      if (IsUserChange(c.kind) && !whole_idps.contains(c.idp)) EvictUser(c.tenant, c.object_id);
    }
    for (const std::string& idp : whole_idps) EvictIdp(idp);
    applied_seq_.store(rows->back().seq, std::memory_order_release);
    if (static_cast<int>(rows->size()) < options_.follow_batch) return absl::OkStatus();
  }
  return absl::OkStatus();
}

void UserCache::Follow() {
  bool failing = false;
  while (!stop_.load() && !notifier_.stopped()) {
    uint64_t seen = notifier_.generation();
    absl::Status s = CatchUp();
    if (!s.ok()) {
      if (!failing) common::LogWarn("user cache cannot read the change log; bypassing the cache",
                                    {{"reason", std::string(s.message())}});
      failing = true;
      enabled_.store(false, std::memory_order_release);
      Clear();
    } else if (failing) {
      failing = false;
      enabled_.store(true, std::memory_order_release);
      common::LogInfo("user cache following the change log again");
    }
    notifier_.WaitForChange(seen, std::chrono::milliseconds(200));
  }
}

void UserCache::Warm() {
  std::string after;
  size_t loaded = 0;
  while (!stop_.load()) {
    const int64_t read_seq = applied_seq();
    absl::StatusOr<std::vector<store::UserWithClosure>> page = reader_.ScanUsersWithClosure(after, options_.warm_batch);
    if (!page.ok()) {
      common::LogWarn("user cache warm-up stopped", {{"reason", std::string(page.status().message())}});
      break;
    }
    if (page->empty()) break;
    after = page->back().user.user_id();
    bool full = false;
    for (store::UserWithClosure& row : *page) {
      const std::string key = Key(row.user.tenant_id(), row.user.user_id());
      std::shared_ptr<const Entry> e = MakeEntry(std::move(row));
      if (Insert(key, std::move(e), read_seq, /*evict_on_full=*/false)) {
        ++loaded;
      } else if (size() >= options_.max_entries) {
        full = true;
        break;
      }
    }
    if (full || static_cast<int>(page->size()) < options_.warm_batch) break;
  }
  common::LogInfo("user cache warmed", {{"users", static_cast<int64_t>(loaded)}});
  warm_done_.store(true, std::memory_order_release);
}

}  // namespace sase::directory

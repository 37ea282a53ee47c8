#include "store/directory_plan.h"

#include <algorithm>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "store/directory_reader.h"

namespace sase::store::dir_plan {
namespace {

namespace v1 = ::sase::dingtalk::v1;

std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

}  // namespace

absl::StatusOr<AncestorMap> AncestorPaths(const absl::flat_hash_map<int64_t, int64_t>& parent_of) {
  AncestorMap paths;
  paths.reserve(parent_of.size());
  // Iteratively: walk up to a resolved department (or a top-level one), then fill down.
  std::vector<int64_t> chain;
  absl::flat_hash_set<int64_t> on_chain;
  for (const auto& [id, unused] : parent_of) {
    if (paths.contains(id)) continue;
    chain.clear();
    on_chain.clear();
    std::vector<int64_t> base;
    for (int64_t cur = id;;) {
      if (!on_chain.insert(cur).second) {
        return absl::InvalidArgumentError(absl::StrCat("parent_id: department ", cur, " is its own ancestor"));
      }
      chain.push_back(cur);
      const int64_t parent = parent_of.at(cur);
      if (parent == 0 || !parent_of.contains(parent)) break;  // root or parent unknown: top-level
      if (auto done = paths.find(parent); done != paths.end()) {
        base = done->second;
        base.push_back(parent);
        break;
      }
      cur = parent;
    }
    // chain.back() gets `base`; each one below it gets its parent's path + parent.
    for (size_t i = chain.size(); i-- > 0;) {
      if (i == chain.size() - 1) {
        paths[chain[i]] = base;
      } else {
        std::vector<int64_t> p = paths.at(chain[i + 1]);
        p.push_back(chain[i + 1]);
        paths[chain[i]] = std::move(p);
      }
    }
  }
  return paths;
}

std::vector<int64_t> UserClosure(const std::vector<int64_t>& direct, bool departed, const AncestorMap& ancestors) {
  std::vector<int64_t> out;
  if (departed) return out;
  for (int64_t d : direct) {
    out.push_back(d);
    auto it = ancestors.find(d);
    if (it != ancestors.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

v1::User NormalizedContent(const v1::User& in) {
  v1::User u = in;
  u.clear_tenant_id();
  u.clear_idp_id();
  u.clear_user_id();
  u.clear_version();
  u.clear_create_time();
  u.clear_update_time();
  if (u.status() == v1::USER_STATUS_UNSPECIFIED) u.set_status(v1::USER_ACTIVE);
  return u;
}

std::string ContentHash(const v1::User& normalized) {
  return absl::BytesToHexString(common::Sha256(DeterministicBytes(normalized)));
}

UserPlan PlanUsers(const std::vector<const v1::User*>& users, const absl::flat_hash_map<std::string, StoredUser>& stored,
                   const AncestorMap& ancestors, bool keep_stored_manager) {
  UserPlan plan;
  for (const v1::User* u : users) {
    auto it = stored.find(u->dingtalk_userid());
    v1::User content = NormalizedContent(*u);
    if (keep_stored_manager && it != stored.end()) content.set_manager_userid(it->second.manager_userid);
    std::string hash = ContentHash(content);
    std::vector<int64_t> closure =
        UserClosure({content.department_ids().begin(), content.department_ids().end()},
                    content.status() == v1::USER_DEPARTED, ancestors);
    if (it != stored.end() && it->second.hash == hash && it->second.closure == closure) {
      ++plan.unchanged;
      continue;
    }
    plan.changed.push_back(u);
    plan.normalized.push_back(std::move(content));
    plan.hashes.push_back(std::move(hash));
    plan.closures.push_back(std::move(closure));
  }
  return plan;
}

}  // namespace sase::store::dir_plan

#pragma once
// A deterministic demo organisation (same options → same output, on every machine), for tests,
// the README's run command (until the DingTalk simulator exists) and the directory benchmark.
//
// The default is small and readable: 8 departments with Chinese and ASCII names under the root
// (dept 1, "演示科技"), 30 users in 1–3 departments each, a leader per department, user
// "u0029" departed and "u0028" disabled. Bigger shapes (e.g. 100k users, 5k departments,
// depth ≥ 8) come from the same generator with other options.

#include <cstdint>
#include <string>
#include <vector>

#include "sase/dingtalk/v1/directory.pb.h"

namespace sase::store::testing {

struct DemoOrgOptions {
  int departments = 8;  // including the root; at least 1
  int users = 30;
  int max_depth = 4;    // depth of the deepest department (root = 1); the generator reaches it
  uint64_t seed = 20240601;
};

struct DemoOrg {
  std::vector<dingtalk::v1::Department> departments;  // parents before children
  // Every user, all ACTIVE except `disabled` (status DISABLED). The departed one is ACTIVE here:
  // load it, then MarkDeparted(departed) so the departure is a change of its own.
  std::vector<dingtalk::v1::User> users;
  std::vector<std::string> departed;  // dingtalk userids
  std::vector<std::string> disabled;
};

DemoOrg GenerateDemoOrg(const DemoOrgOptions& options = {});

}  // namespace sase::store::testing

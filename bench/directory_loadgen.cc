// Load generator for DirectoryService: a separate process driving one RPC at fixed concurrency
// (closed loop) or at a fixed rate (open loop, latency measured from the scheduled send time so
// queueing is not hidden). Ids are sampled from PostgreSQL first. Prints one JSON line to stdout.
//
//   directory_loadgen --target=127.0.0.1:50062 --pg_dsn=... --tenant=bench --rpc=get_user
//                     --concurrency=32 --duration_s=10 [--rate=10000]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "bench/stats.h"
#include "common/config.h"
#include "sase/dingtalk/v1/directory.grpc.pb.h"

namespace {

using ::sase::bench::Percentile;

using Clock = std::chrono::steady_clock;
namespace v1 = sase::dingtalk::v1;

struct Sample {
  std::string user_id;
  std::string idp_id;
  std::string dingtalk_userid;
  int64_t dept_id = 0;  // a department in the user's closure (member) or elsewhere
};

struct Shared {
  std::vector<Sample> samples;
  std::vector<int64_t> list_depts;
  std::string tenant;
  std::string rpc;
};

class Recorder {
 public:
  void Add(double ms, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) {
      lat_.push_back(ms);
    } else {
      ++errors_;
    }
  }
  std::vector<double> Take(int64_t* errors) {
    std::lock_guard<std::mutex> lock(mu_);
    *errors = errors_;
    return std::move(lat_);
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    lat_.clear();
    errors_ = 0;
  }

 private:
  std::mutex mu_;
  std::vector<double> lat_;
  int64_t errors_ = 0;
};

// One in-flight call; issues itself again when done in closed-loop mode.
class Caller {
 public:
  Caller(v1::DirectoryService::Stub* stub, const Shared* shared, Recorder* rec, std::atomic<bool>* stop,
         std::atomic<int>* inflight, uint64_t seed)
      : stub_(stub), shared_(shared), rec_(rec), stop_(stop), inflight_(inflight), rng_(seed) {}

  // Starts one call; `scheduled` is when it should have been sent (open loop) or now.
  void Issue(Clock::time_point scheduled, bool again) {
    auto* call = new Call;
    call->scheduled = scheduled;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const Sample& s = shared_->samples[rng_() % shared_->samples.size()];
    inflight_->fetch_add(1);
    auto done = [this, call, again](grpc::Status st) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - call->scheduled).count();
      rec_->Add(ms, st.ok());
      delete call;
      inflight_->fetch_sub(1);
      if (again && !stop_->load()) Issue(Clock::now(), true);
    };
    const std::string& rpc = shared_->rpc;
    if (rpc == "get_user") {
      call->get.set_tenant_id(shared_->tenant);
      call->get.set_user_id(s.user_id);
      stub_->async()->GetUser(&call->ctx, &call->get, &call->user, done);
    } else if (rpc == "lookup_user") {
      call->lookup.set_tenant_id(shared_->tenant);
      call->lookup.set_idp_id(s.idp_id);
      call->lookup.set_dingtalk_userid(s.dingtalk_userid);
      stub_->async()->LookupUser(&call->ctx, &call->lookup, &call->lookup_resp, done);
    } else if (rpc == "check_membership") {
      call->check.set_tenant_id(shared_->tenant);
      call->check.set_user_id(s.user_id);
      call->check.set_department_id(s.dept_id);
      stub_->async()->CheckMembership(&call->ctx, &call->check, &call->check_resp, done);
    } else {
      call->list.set_tenant_id(shared_->tenant);
      call->list.set_idp_id(s.idp_id);
      call->list.set_department_id(shared_->list_depts[rng_() % shared_->list_depts.size()]);
      call->list.set_include_descendants(true);
      call->list.set_page_size(100);
      stub_->async()->ListUsers(&call->ctx, &call->list, &call->list_resp, done);
    }
  }

 private:
  struct Call {
    grpc::ClientContext ctx;
    Clock::time_point scheduled;
    v1::GetUserRequest get;
    v1::User user;
    v1::LookupUserRequest lookup;
    v1::LookupUserResponse lookup_resp;
    v1::CheckMembershipRequest check;
    v1::CheckMembershipResponse check_resp;
    v1::ListUsersRequest list;
    v1::ListUsersResponse list_resp;
  };
  v1::DirectoryService::Stub* stub_;
  const Shared* shared_;
  Recorder* rec_;
  std::atomic<bool>* stop_;
  std::atomic<int>* inflight_;
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string target, pg_dsn, tenant, rpc;
  int64_t concurrency = 32, duration_s = 10, warmup_s = 2, rate = 0, channels = 2;
  sase::common::ConfigParser p("directory_loadgen");
  p.String("target", &target, "127.0.0.1:50062", "directory address");
  p.String("pg_dsn", &pg_dsn, "", "PostgreSQL DSN to sample ids from", {.required = true, .secret = true});
  p.String("tenant", &tenant, "bench", "tenant id");
  p.String("rpc", &rpc, "get_user", "get_user|lookup_user|check_membership|list_users");
  p.Int("concurrency", &concurrency, 32, "in-flight calls (closed loop)", {.min = 1, .max = 4096});
  p.Int("duration_s", &duration_s, 10, "measured seconds", {.min = 1, .max = 600});
  p.Int("warmup_s", &warmup_s, 2, "warm-up seconds", {.min = 0, .max = 60});
  p.Int("rate", &rate, 0, "open-loop calls per second (0: closed loop)", {.min = 0, .max = 1000000});
  p.Int("channels", &channels, 2, "gRPC channels", {.min = 1, .max = 64});
  if (absl::Status s = p.Parse(argc, argv, std::getenv); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  if (rpc != "get_user" && rpc != "lookup_user" && rpc != "check_membership" && rpc != "list_users") {
    std::cerr << "rpc: unknown " << rpc << "\n";
    return 2;
  }

  Shared shared;
  shared.tenant = tenant;
  shared.rpc = rpc;
  try {
    pqxx::connection c(pg_dsn);
    pqxx::read_transaction tx(c);
    // Half the checks hit a department in the closure, half a random department.
    for (const auto& row : tx.exec_params(
             "SELECT user_id::text, idp_id::text, dingtalk_userid, "
             "CASE WHEN random() < 0.5 THEN dept_closure[1 + floor(random() * cardinality(dept_closure))::int] "
             "ELSE (SELECT dept_id FROM departments d WHERE d.idp_id = u.idp_id ORDER BY random() LIMIT 1) END "
             "FROM users u WHERE tenant_id = $1 ORDER BY random() LIMIT 20000",
             tenant)) {
      shared.samples.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].is_null() ? 1 : row[3].as<int64_t>()});
    }
    for (const auto& row :
         tx.exec_params("SELECT dept_id FROM departments WHERE tenant_id = $1 ORDER BY random() LIMIT 5000", tenant)) {
      shared.list_depts.push_back(row[0].as<int64_t>());
    }
  } catch (const std::exception& e) {
    std::cerr << "sampling ids: " << e.what() << "\n";
    return 1;
  }
  if (shared.samples.empty() || shared.list_depts.empty()) {
    std::cerr << "no users for tenant " << tenant << "\n";
    return 1;
  }

  std::vector<std::unique_ptr<v1::DirectoryService::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct channels, distinct connections
    stubs.push_back(v1::DirectoryService::NewStub(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  Recorder rec;
  std::atomic<bool> stop{false};
  std::atomic<int> inflight{0};
  std::vector<std::unique_ptr<Caller>> callers;
  for (int i = 0; i < (rate > 0 ? channels : concurrency); ++i) {
    callers.push_back(std::make_unique<Caller>(stubs[static_cast<size_t>(i) % stubs.size()].get(), &shared, &rec,
                                               &stop, &inflight, 1234 + static_cast<uint64_t>(i)));
  }

  auto start = Clock::now();
  auto measure_from = start + std::chrono::seconds(warmup_s);
  auto end = measure_from + std::chrono::seconds(duration_s);
  bool reset_done = false;
  if (rate == 0) {
    for (auto& c : callers) c->Issue(Clock::now(), true);
    std::this_thread::sleep_until(measure_from);
    rec.Reset();
    reset_done = true;
    std::this_thread::sleep_until(end);
    stop = true;
  } else {
    auto interval = std::chrono::duration<double>(1.0 / static_cast<double>(rate));
    int64_t n = 0;
    while (true) {
      auto next = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
      if (next >= end) break;
      if (!reset_done && next >= measure_from) {
        rec.Reset();
        reset_done = true;
      }
      std::this_thread::sleep_until(next);
      callers[static_cast<size_t>(n) % callers.size()]->Issue(next, false);
      ++n;
    }
    stop = true;
  }
  auto measured_end = Clock::now();
  int64_t errors = 0;
  std::vector<double> lat = rec.Take(&errors);
  while (inflight.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double secs = std::chrono::duration<double>(measured_end - measure_from).count();
  nlohmann::json out;
  out["rpc"] = rpc;
  out["mode"] = rate > 0 ? "open" : "closed";
  out["concurrency"] = rate > 0 ? 0 : concurrency;
  out["rate"] = rate;
  out["calls"] = lat.size();
  out["errors"] = errors;
  out["qps"] = static_cast<double>(lat.size()) / secs;
  out["p50_ms"] = Percentile(lat, 0.50);
  out["p99_ms"] = Percentile(lat, 0.99);
  std::cout << out.dump() << std::endl;
  return errors > 0 && lat.empty() ? 1 : 0;
}

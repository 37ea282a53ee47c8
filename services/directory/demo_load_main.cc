// directory_demo_load: creates the demo identity source (if absent) and loads a generated demo
// organisation through DirectoryWriter. Idempotent: a second run with the same options writes
// nothing. Prints one JSON object (tenant, idp_id, counts, seconds) on stdout.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/config.h"
#include "common/log.h"
#include "store/directory_writer.h"
#include "store/migrations.h"
#include "store/pg_pool.h"
#include "store/testing/demo_org.h"

namespace {

absl::StatusOr<std::string> EnsureIdentitySource(sase::store::PgPool& pool, const std::string& tenant,
                                                 const std::string& name) {
  return pool.Run<std::string>([&](pqxx::connection& c) -> absl::StatusOr<std::string> {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO identity_sources (tenant_id, name, description, status, dingtalk_type, sync_cycle_hours)"
        " VALUES ($1, $2, 'Demo organisation', 1, 1, 24) ON CONFLICT (tenant_id, name) DO NOTHING",
        tenant, name);
    std::string id =
        tx.exec_params1("SELECT idp_id::text FROM identity_sources WHERE tenant_id = $1 AND name = $2", tenant, name)[0]
            .c_str();
    tx.commit();
    return id;
  });
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sase;  // NOLINT
  common::InitLogging("directory_demo_load");
  std::string dsn, tenant, idp_name;
  int64_t users = 0, departments = 0, max_depth = 0, batch = 0, seed = 0;
  bool migrate = true;
  common::ConfigParser p("directory_demo_load");
  p.String("pg_dsn", &dsn, "", "PostgreSQL connection string", {.required = true, .secret = true});
  p.String("tenant", &tenant, "demo", "tenant id");
  p.String("idp_name", &idp_name, "demo-dingtalk", "identity source name (created if absent)");
  p.Int("users", &users, 30, "users to generate", {.min = 0, .max = 10000000});
  p.Int("departments", &departments, 8, "departments to generate (including the root)", {.min = 1, .max = 1000000});
  p.Int("max_depth", &max_depth, 4, "depth of the deepest department (root = 1)", {.min = 1, .max = 100});
  p.Int("batch", &batch, 5000, "users per transaction", {.min = 1, .max = 100000});
  p.Int("seed", &seed, 20240601, "generator seed", {.min = 0});
  p.Bool("migrate", &migrate, true, "apply schema migrations first");
  absl::Status parsed = p.Parse(argc, argv, std::getenv);
  if (!parsed.ok()) {
    if (parsed.code() == absl::StatusCode::kCancelled) {
      std::cout << parsed.message() << "\n";
      return 0;
    }
    std::cerr << "directory_demo_load: config: " << parsed.message() << "\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  if (migrate) {
    absl::StatusOr<int> applied = store::ApplyMigrations(dsn);
    if (!applied.ok()) {
      std::cerr << "directory_demo_load: migrations: " << applied.status().message() << "\n";
      return 3;
    }
  }
  store::PgPool::Options o;
  o.dsn = dsn;
  o.size = 1;
  auto pool = store::PgPool::Create(o);
  if (!pool.ok()) {
    std::cerr << "directory_demo_load: " << pool.status().message() << "\n";
    return 3;
  }
  absl::StatusOr<std::string> idp = EnsureIdentitySource(**pool, tenant, idp_name);
  if (!idp.ok()) {
    std::cerr << "directory_demo_load: identity source: " << idp.status().message() << "\n";
    return 3;
  }
  store::testing::DemoOrg org = store::testing::GenerateDemoOrg({.departments = static_cast<int>(departments),
                                                                 .users = static_cast<int>(users),
                                                                 .max_depth = static_cast<int>(max_depth),
                                                                 .seed = static_cast<uint64_t>(seed)});
  // Departed users are loaded as departed, so a re-run with the same options writes nothing.
  for (auto& u : org.users) {
    if (std::find(org.departed.begin(), org.departed.end(), u.dingtalk_userid()) != org.departed.end()) {
      u.set_status(dingtalk::v1::USER_DEPARTED);
    }
  }
  store::DirectoryWriter writer(**pool);
  const std::string origin = "demo";
  store::WriteResult total;
  auto add = [&](const store::WriteResult& r) {
    total.created += r.created;
    total.updated += r.updated;
    total.unchanged += r.unchanged;
  };
  auto d = writer.UpsertDepartments(tenant, *idp, org.departments, origin);
  if (!d.ok()) {
    std::cerr << "directory_demo_load: departments: " << d.status().message() << "\n";
    return 4;
  }
  add(*d);
  for (size_t i = 0; i < org.users.size(); i += static_cast<size_t>(batch)) {
    size_t end = std::min(org.users.size(), i + static_cast<size_t>(batch));
    std::vector<dingtalk::v1::User> chunk(org.users.begin() + static_cast<std::ptrdiff_t>(i),
                                          org.users.begin() + static_cast<std::ptrdiff_t>(end));
    auto u = writer.UpsertUsers(tenant, *idp, chunk, origin);
    if (!u.ok()) {
      std::cerr << "directory_demo_load: users: " << u.status().message() << "\n";
      return 4;
    }
    add(*u);
  }
  auto dep = writer.MarkDeparted(tenant, *idp, org.departed, origin);
  if (!dep.ok()) {
    std::cerr << "directory_demo_load: departures: " << dep.status().message() << "\n";
    return 4;
  }
  total.updated += dep->updated;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json out = {{"tenant", tenant},
                        {"idp_id", *idp},
                        {"departments", org.departments.size()},
                        {"users", org.users.size()},
                        {"created", total.created},
                        {"updated", total.updated},
                        {"unchanged", total.unchanged},
                        {"departed", org.departed},
                        {"seconds", secs}};
  std::cout << out.dump() << std::endl;
  return 0;
}

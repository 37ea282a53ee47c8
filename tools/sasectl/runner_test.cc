// RunSasectl against in-process fake services on 127.0.0.1:0: paging, exit codes, JSON,
// update masks on the wire, watch streaming and sync --wait polling.
#include "sasectl/runner.h"

#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sase/dingtalk/v1/directory.grpc.pb.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "sase/dingtalk/v1/tenant.grpc.pb.h"

namespace sase::sasectl {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class FakeIdp final : public v1::IdentitySourceService::Service {
 public:
  grpc::Status CreateIdentitySource(grpc::ServerContext*, const v1::CreateIdentitySourceRequest* req,
                                    v1::IdentitySource* resp) override {
    std::lock_guard<std::mutex> l(mu);
    last_create = *req;
    *resp = req->identity_source();
    resp->set_idp_id("idp-1");
    resp->set_app_secret_set(!resp->app_secret().empty());
    resp->set_app_secret(resp->app_secret().empty() ? "" : "********");
    return grpc::Status::OK;
  }
  grpc::Status UpdateIdentitySource(grpc::ServerContext*, const v1::UpdateIdentitySourceRequest* req,
                                    v1::IdentitySource* resp) override {
    std::lock_guard<std::mutex> l(mu);
    last_update = *req;
    *resp = req->identity_source();
    resp->clear_app_secret();
    return grpc::Status::OK;
  }
  grpc::Status GetIdentitySource(grpc::ServerContext*, const v1::GetIdentitySourceRequest* req,
                                 v1::IdentitySource*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("identity source ", req->idp_id()));
  }
  grpc::Status ListIdentitySources(grpc::ServerContext*, const v1::ListIdentitySourcesRequest* req,
                                   v1::ListIdentitySourcesResponse* resp) override {
    // Two pages; the CLI always follows them for identity sources.
    v1::IdentitySource* s = resp->add_identity_sources();
    s->set_tenant_id(req->tenant_id());
    if (req->page_token().empty()) {
      s->set_idp_id("a");
      s->set_name("总部");
      resp->set_next_page_token("p2");
    } else {
      s->set_idp_id("b");
      s->set_name("branch");
    }
    return grpc::Status::OK;
  }
  grpc::Status CreateExtendedField(grpc::ServerContext*, const v1::CreateExtendedFieldRequest* req,
                                   v1::ExtendedField*) override {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat("field.name: bad \"", req->field().name(), "\""));
  }

  std::mutex mu;
  v1::CreateIdentitySourceRequest last_create;
  v1::UpdateIdentitySourceRequest last_update;
};

class FakeDirectory final : public v1::DirectoryService::Service {
 public:
  grpc::Status ListUsers(grpc::ServerContext*, const v1::ListUsersRequest* req, v1::ListUsersResponse* resp) override {
    if (req->tenant_id() != "acme") return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "tenant_id");
    int page = req->page_token().empty() ? 0 : std::stoi(req->page_token());
    v1::User* u = resp->add_users();
    u->set_user_id(absl::StrCat("u", page));
    u->set_name(page == 1 ? "欧阳娜娜" : "Bob");
    u->set_status(v1::USER_ACTIVE);
    if (page < 2) resp->set_next_page_token(absl::StrCat(page + 1));
    return grpc::Status::OK;
  }
  grpc::Status WatchChanges(grpc::ServerContext*, const v1::WatchChangesRequest* req,
                            grpc::ServerWriter<v1::Change>* writer) override {
    for (int64_t seq = req->after_seq() + 1; seq <= req->after_seq() + 2; ++seq) {
      v1::Change c;
      c.set_seq(seq);
      c.set_kind(v1::CHANGE_DEPARTMENT_CREATED);
      c.mutable_department()->set_department_id(seq);
      c.mutable_department()->set_name("部门");
      writer->Write(c);
    }
    return grpc::Status::OK;  // a real server keeps the stream open; ending it ends the CLI
  }
};

class FakeSync final : public v1::SyncService::Service {
 public:
  grpc::Status StartSync(grpc::ServerContext*, const v1::StartSyncRequest* req, v1::SyncRun* run) override {
    if (req->idp_id() == "unimpl") return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "sync lands later");
    run->set_run_id("run-1");
    run->set_state(v1::PENDING);
    return grpc::Status::OK;
  }
  grpc::Status GetSyncRun(grpc::ServerContext*, const v1::GetSyncRunRequest* req, v1::SyncRun* run) override {
    std::lock_guard<std::mutex> l(mu);
    ++polls;
    run->set_run_id(req->run_id());
    run->mutable_progress()->set_departments_total(4);
    run->mutable_progress()->set_departments_done(std::min(4, polls * 2));
    run->set_state(polls >= 2 ? v1::SUCCEEDED : v1::FETCHING);
    return grpc::Status::OK;
  }
  std::mutex mu;
  int polls = 0;
};

class FakeTenants final : public v1::TenantService::Service {
 public:
  grpc::Status GetTenantSettings(grpc::ServerContext*, const v1::GetTenantSettingsRequest* req,
                                 v1::TenantSettings* resp) override {
    std::lock_guard<std::mutex> l(mu);
    *resp = stored;
    resp->set_tenant_id(req->tenant_id());
    return grpc::Status::OK;
  }
  grpc::Status UpdateTenantSettings(grpc::ServerContext*, const v1::UpdateTenantSettingsRequest* req,
                                    v1::TenantSettings* resp) override {
    std::lock_guard<std::mutex> l(mu);
    last_update = *req;
    if (req->settings().enterprise_id() == "taken") {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "enterprise_id taken is used by another tenant");
    }
    if (req->settings().enterprise_id() == "-bad") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "enterprise_id: 3-64 characters of [a-z0-9-]");
    }
    stored = req->settings();
    stored.set_version(stored.version() + 1);
    *resp = stored;
    return grpc::Status::OK;
  }
  std::mutex mu;
  v1::TenantSettings stored;
  v1::UpdateTenantSettingsRequest last_update;
};

class SasectlRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&idp_);
    b.RegisterService(&dir_);
    b.RegisterService(&sync_);
    b.RegisterService(&tenants_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    addr_ = absl::StrCat("127.0.0.1:", port_);
  }
  void TearDown() override { server_->Shutdown(); }

  int Run(std::vector<std::string> argv, std::map<std::string, std::string> env = {}) {
    env.emplace("SASE_SYNC_WORKER_ADDR", addr_);
    env.emplace("SASE_DIRECTORY_ADDR", addr_);
    out_.str("");
    err_.str("");
    return RunSasectl(argv, out_, err_, [&env](const char* name) -> const char* {
      auto it = env.find(name);
      return it == env.end() ? nullptr : it->second.c_str();
    });
  }

  FakeIdp idp_;
  FakeDirectory dir_;
  FakeSync sync_;
  FakeTenants tenants_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string addr_;
  std::ostringstream out_, err_;
};

TEST_F(SasectlRunnerTest, ListFollowsPagesWithAllAndHintsOtherwise) {
  EXPECT_EQ(Run({"user", "list", "--idp", "i", "--tenant", "acme"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("u0"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("u1")));
  EXPECT_THAT(err_.str(), HasSubstr("--page-token 1"));

  EXPECT_EQ(Run({"user", "list", "--idp", "i", "--tenant", "acme", "--all", "--json"}), 0) << err_.str();
  nlohmann::json j = nlohmann::json::parse(out_.str());
  ASSERT_EQ(j["users"].size(), 3u);
  EXPECT_EQ(j["users"][1]["name"], "欧阳娜娜");
  EXPECT_EQ(j["next_page_token"], "");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SasectlRunnerTest, ExitCodesAndErrorFormat) {
  EXPECT_EQ(Run({"idp", "get", "nope"}), 3);
  EXPECT_EQ(err_.str(), "error: NOT_FOUND: identity source nope\n");
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(Run({"user", "list", "--idp", "i"}), 4);  // tenant "demo" refused by the fake
  EXPECT_EQ(err_.str(), "error: INVALID_ARGUMENT: tenant_id\n");
  EXPECT_EQ(Run({"field", "create", "Bad", "--display-name", "x"}), 4);
  EXPECT_EQ(Run({"user", "list"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("error: \"user list\" needs --idp"));
  EXPECT_EQ(Run({"sync", "start", "--idp", "unimpl", "--wait"}), 1);
  EXPECT_EQ(err_.str(), "error: UNIMPLEMENTED: sync lands later\n");
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("usage: sasectl"));
}

TEST_F(SasectlRunnerTest, UnreachableServiceIsUnavailable) {
  EXPECT_EQ(Run({"idp", "list", "--sync-worker", "127.0.0.1:1", "--timeout", "2"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("error: UNAVAILABLE: "));
  EXPECT_THAT(err_.str(), HasSubstr("127.0.0.1:1"));
}

TEST_F(SasectlRunnerTest, IdentitySourcesListMergesPages) {
  EXPECT_EQ(Run({"idp", "list"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("总部"));
  EXPECT_THAT(out_.str(), HasSubstr("branch"));
}

TEST_F(SasectlRunnerTest, CreateAndUpdateNeverEchoSecrets) {
  EXPECT_EQ(Run({"idp", "create", "--name", "总部", "--app-secret", "hunter2-secret", "--aes-key", "aeskeyvalue"}), 0)
      << err_.str();
  EXPECT_EQ(idp_.last_create.identity_source().app_secret(), "hunter2-secret");
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(out_.str() + err_.str(), Not(HasSubstr("aeskeyvalue")));
  EXPECT_THAT(out_.str(), HasSubstr("app_secret:               set (hidden)"));

  EXPECT_EQ(Run({"--json", "idp", "create", "--name", "x"}, {{"SASE_APP_SECRET", "env-secret-1"}}), 0);
  EXPECT_EQ(idp_.last_create.identity_source().app_secret(), "env-secret-1");
  EXPECT_THAT(out_.str(), Not(HasSubstr("env-secret-1")));
  // The fake echoes aes_key back: the CLI still masks it.
  EXPECT_EQ(nlohmann::json::parse(out_.str())["aes_key"], "");

  EXPECT_EQ(Run({"idp", "update", "idp-1", "--status", "closed", "--token", "tok-secret-xyz", "--json"}), 0);
  EXPECT_THAT(std::vector<std::string>(idp_.last_update.update_mask().paths().begin(),
                                       idp_.last_update.update_mask().paths().end()),
              ElementsAre("status", "token"));
  EXPECT_EQ(nlohmann::json::parse(out_.str())["token"], "********");
}

TEST_F(SasectlRunnerTest, WatchPrintsOneLinePerChange) {
  EXPECT_EQ(Run({"watch", "--after", "10"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "11  -  department_created  idp=-  dept 11 部门  origin=-\n"
            "12  -  department_created  idp=-  dept 12 部门  origin=-\n");
  EXPECT_EQ(Run({"watch", "--json"}), 0) << err_.str();
  std::istringstream lines(out_.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["seq"], std::to_string(++n));
    EXPECT_EQ(j["department"]["name"], "部门");
  }
  EXPECT_EQ(n, 2);
}

TEST_F(SasectlRunnerTest, SyncWaitPollsUntilTheRunEnds) {
  EXPECT_EQ(Run({"sync", "start", "--idp", "i", "--wait", "--json"}), 0) << err_.str();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["state"], "SUCCEEDED");
  EXPECT_EQ(sync_.polls, 2);
  // Progress lines (stderr is not a terminal here), one per change.
  EXPECT_THAT(err_.str(), HasSubstr("departments 0/?  users 0/?  pending\n"));
  EXPECT_THAT(err_.str(), HasSubstr("[###############...............] 50%  departments 2/4  users 0/?  fetching\n"));
  EXPECT_THAT(err_.str(), HasSubstr("100%  departments 4/4  users 0/?  succeeded\n"));
}

TEST_F(SasectlRunnerTest, TenantShowAndSet) {
  EXPECT_EQ(Run({"tenant", "show"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("tenant:         demo\n"));
  EXPECT_THAT(out_.str(), HasSubstr("enterprise_id:  - (no logon discovery)\n"));

  EXPECT_EQ(Run({"tenant", "set", "--enterprise-id", "acme-corp", "--tenant", "acme", "--expected-version", "0"}), 0)
      << err_.str();
  EXPECT_EQ(tenants_.last_update.settings().tenant_id(), "acme");
  EXPECT_EQ(tenants_.last_update.settings().enterprise_id(), "acme-corp");
  EXPECT_THAT(out_.str(), HasSubstr("enterprise_id:  acme-corp\n"));
  EXPECT_EQ(Run({"--json", "tenant", "show"}), 0);
  EXPECT_EQ(nlohmann::json::parse(out_.str())["enterprise_id"], "acme-corp");
  EXPECT_EQ(nlohmann::json::parse(out_.str())["version"], "1");

  EXPECT_EQ(Run({"tenant", "set", "--enterprise-id", "taken"}), 1);
  EXPECT_EQ(err_.str(), "error: ALREADY_EXISTS: enterprise_id taken is used by another tenant\n");
  EXPECT_EQ(Run({"tenant", "set", "--enterprise-id", "-bad"}), 4);
  EXPECT_THAT(err_.str(), HasSubstr("error: INVALID_ARGUMENT: enterprise_id"));
  EXPECT_EQ(Run({"tenant", "set", "--enterprise-id", "x", "--expected-version", "v"}), 2);
}

TEST_F(SasectlRunnerTest, UpdateSendsLoginRedirects) {
  EXPECT_EQ(Run({"idp", "update", "idp-1", "--login-redirect-uri", "app://cb"}), 0) << err_.str();
  EXPECT_THAT(std::vector<std::string>(idp_.last_update.update_mask().paths().begin(),
                                       idp_.last_update.update_mask().paths().end()),
              ElementsAre("login_redirect_uris"));
  EXPECT_THAT(out_.str(), HasSubstr("login_redirect_uris:      app://cb\n"));
}

}  // namespace
}  // namespace sase::sasectl

#include "sasectl/runner.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_security.h"
#include "common/watch_cursor.h"
#include "sase/dingtalk/v1/directory.grpc.pb.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "sase/dingtalk/v1/tenant.grpc.pb.h"
#include "sasectl/errors.h"
#include "sasectl/login_flow.h"
#include "sasectl/render.h"
#include "sasectl/requests.h"
#include "sasectl/table.h"

namespace sase::sasectl {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted.store(true); }

// Lets `watch` and `sync start --wait` stop cleanly on Ctrl-C / SIGTERM (other commands keep
// the default: die at once).
void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Sleeps up to `total`, returning early (true) when interrupted.
bool InterruptibleSleep(std::chrono::milliseconds total) {
  auto until = std::chrono::steady_clock::now() + total;
  while (std::chrono::steady_clock::now() < until) {
    if (g_interrupted.load()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return g_interrupted.load();
}

class Runner {
 public:
  Runner(const Invocation& inv, std::ostream& out, std::ostream& err, const GetEnv& getenv)
      : inv_(inv), out_(out), err_(err), getenv_(getenv) {
    for (const std::string& name : SecretFlagNames()) {
      for (const std::string& v : inv.GetAll(name)) secrets_.push_back(v);
    }
    if (const char* s = getenv_ ? getenv_("SASE_APP_SECRET") : nullptr; s != nullptr && s[0] != '\0') {
      secrets_.push_back(s);
    }
  }

  int Run();

 private:
  std::unique_ptr<grpc::ClientContext> Ctx() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(inv_.global.timeout_seconds * 1000)));
    return ctx;
  }
  v1::IdentitySourceService::Stub& Idp() {
    if (!idp_) idp_ = v1::IdentitySourceService::NewStub(SyncWorkerChannel());
    return *idp_;
  }
  v1::TenantService::Stub& Tenants() {
    if (!tenants_) tenants_ = v1::TenantService::NewStub(SyncWorkerChannel());
    return *tenants_;
  }
  v1::SyncService::Stub& Sync() {
    if (!sync_) sync_ = v1::SyncService::NewStub(SyncWorkerChannel());
    return *sync_;
  }
  v1::DirectoryService::Stub& Dir() {
    if (!dir_) {
      dir_ = v1::DirectoryService::NewStub(
          common::MakeGrpcChannel(inv_.global.directory_addr, Security()));
    }
    return *dir_;
  }
  common::GrpcSecurity Security() const {
    const GlobalOptions& g = inv_.global;
    if (g.tls_cert.empty()) return common::GrpcSecurity::Plaintext();
    common::GrpcSecurity s;
    s.cert_file = g.tls_cert;
    s.key_file = g.tls_key;
    s.ca_file = g.tls_ca;
    s.server_name = g.tls_server_name;
    return s;
  }
  std::shared_ptr<grpc::Channel> SyncWorkerChannel() {
    if (!sync_worker_channel_) {
      sync_worker_channel_ = common::MakeGrpcChannel(inv_.global.sync_worker_addr, Security());
    }
    return sync_worker_channel_;
  }

  int Fail(const grpc::Status& s) {
    auto code = static_cast<absl::StatusCode>(s.error_code());
    std::string message = s.error_message();
    if (code == absl::StatusCode::kUnavailable) {
      absl::StrAppend(&message, " (is the service running at ",
                      inv_.command->group == "user" || inv_.command->group == "dept" || inv_.command->group == "watch"
                          ? inv_.global.directory_addr
                          : inv_.global.sync_worker_addr,
                      inv_.global.tls_cert.empty() ? "? does it need --tls-cert, --tls-key and --tls-ca?)" : "?)");
    }
    err_ << FormatError(code, message, secrets_);
    return ExitCodeFor(code);
  }
  int Usage(const absl::Status& s) {
    err_ << FormatUsageError(std::string(s.message()), secrets_);
    return kExitUsage;
  }
  int Print(const google::protobuf::Message& m, const std::string& text) {
    out_ << (inv_.global.json ? ToJson(m) : text);
    return kExitOk;
  }
  void MoreHint(const std::string& token) {
    if (!token.empty() && !inv_.global.json) {
      err_ << "(more results: add --all, or --page-token " << token << ")\n";
    }
  }

  // Calls `call(ctx, req, resp)` page after page (with --all), merging into `merged`.
  template <typename Req, typename Resp, typename Call>
  grpc::Status Pages(Req req, bool all, Call call, Resp* merged) {
    std::string last_token;
    for (;;) {
      Resp resp;
      grpc::Status s = call(Ctx().get(), req, &resp);
      if (!s.ok()) return s;
      std::string token = resp.next_page_token();
      merged->MergeFrom(resp);
      merged->set_next_page_token(token);
      if (!all || token.empty() || token == last_token) return grpc::Status::OK;
      last_token = token;
      req.set_page_token(token);
    }
  }

  int IdpCommand(const std::string& verb);
  int TenantCommand(const std::string& verb);
  int LoginTest();
  int FailLogin(const absl::Status& s);
  int FieldCommand(const std::string& verb);
  int UserCommand(const std::string& verb);
  int DeptCommand(const std::string& verb);
  int SyncCommand(const std::string& verb);
  int Watch();
  int WaitForRun(v1::SyncRun run);

  const Invocation& inv_;
  std::ostream& out_;
  std::ostream& err_;
  GetEnv getenv_;
  std::vector<std::string> secrets_;
  std::shared_ptr<grpc::Channel> sync_worker_channel_;
  std::unique_ptr<v1::IdentitySourceService::Stub> idp_;
  std::unique_ptr<v1::SyncService::Stub> sync_;
  std::unique_ptr<v1::TenantService::Stub> tenants_;
  std::unique_ptr<v1::DirectoryService::Stub> dir_;
};

int Runner::Run() {
  const std::string& group = inv_.command->group;
  const std::string& verb = inv_.command->verb;
  if (group == "idp") return IdpCommand(verb);
  if (group == "tenant") return TenantCommand(verb);
  if (group == "field") return FieldCommand(verb);
  if (group == "user") return UserCommand(verb);
  if (group == "dept") return DeptCommand(verb);
  if (group == "sync") return SyncCommand(verb);
  if (group == "watch") return Watch();
  if (group == "login-test") return LoginTest();
  return Usage(absl::InvalidArgumentError("unknown command"));
}

int Runner::IdpCommand(const std::string& verb) {
  const std::string& tenant = inv_.global.tenant;
  if (verb == "create") {
    absl::StatusOr<v1::CreateIdentitySourceRequest> req = BuildCreateIdentitySource(inv_, getenv_, ReadSecretFile);
    if (!req.ok()) return Usage(req.status());
    v1::IdentitySource resp;
    if (grpc::Status s = Idp().CreateIdentitySource(Ctx().get(), *req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderIdentitySource(resp));
  }
  if (verb == "update") {
    absl::StatusOr<v1::UpdateIdentitySourceRequest> req = BuildUpdateIdentitySource(inv_, getenv_, ReadSecretFile);
    if (!req.ok()) return Usage(req.status());
    v1::IdentitySource resp;
    if (grpc::Status s = Idp().UpdateIdentitySource(Ctx().get(), *req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderIdentitySource(resp));
  }
  if (verb == "list") {
    v1::ListIdentitySourcesRequest req;
    req.set_tenant_id(tenant);
    v1::ListIdentitySourcesResponse resp;
    grpc::Status s = Pages(
        req, true,
        [&](grpc::ClientContext* c, const auto& r, auto* p) { return Idp().ListIdentitySources(c, r, p); }, &resp);
    if (!s.ok()) return Fail(s);
    return Print(resp, RenderIdentitySources({resp.identity_sources().begin(), resp.identity_sources().end()}));
  }
  if (verb == "get") {
    v1::GetIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(inv_.args[0]);
    v1::IdentitySource resp;
    if (grpc::Status s = Idp().GetIdentitySource(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderIdentitySource(resp));
  }
  if (verb == "delete") {
    v1::DeleteIdentitySourceRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(inv_.args[0]);
    v1::DeleteIdentitySourceResponse resp;
    if (grpc::Status s = Idp().DeleteIdentitySource(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, absl::StrCat("deleted identity source ", inv_.args[0], "\n"));
  }
  if (verb == "links") {
    v1::GetIntegrationLinksRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(inv_.args[0]);
    v1::IntegrationLinks resp;
    if (grpc::Status s = Idp().GetIntegrationLinks(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderIntegrationLinks(resp));
  }
  if (verb == "test") {
    v1::TestConnectivityRequest req;
    req.set_tenant_id(tenant);
    req.set_idp_id(inv_.args[0]);
    v1::TestConnectivityResponse resp;
    if (grpc::Status s = Idp().TestConnectivity(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    Print(resp, RenderConnectivity(resp));
    return resp.ok() ? kExitOk : kExitError;
  }
  if (verb == "fields") {
    v1::ListMappableFieldsRequest req;
    req.set_tenant_id(tenant);
    if (!inv_.args.empty()) req.set_idp_id(inv_.args[0]);
    v1::ListMappableFieldsResponse resp;
    if (grpc::Status s = Idp().ListMappableFields(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderMappableFields(resp));
  }
  return Usage(absl::InvalidArgumentError("unknown idp verb"));
}

int Runner::LoginTest() {
  absl::StatusOr<LoginTestOptions> options = BuildLoginTestOptions(inv_);
  if (!options.ok()) return Usage(options.status());
  absl::StatusOr<LoginTestResult> result = RunLoginTest(*options);
  if (!result.ok()) return FailLogin(result.status());
  out_ << (inv_.global.json ? LoginTestJson(*result) : RenderLoginTest(*result));
  return kExitOk;
}

// A refusal prints as "login refused: <reason> (<message>)"; anything else as other errors do.
int Runner::FailLogin(const absl::Status& s) {
  const std::string message(s.message());
  if (absl::StartsWith(message, kLoginRefusedPrefix)) {
    err_ << SanitizeForTerminal(message) << "\n";
  } else {
    err_ << FormatError(s.code(), message, secrets_);
  }
  return ExitCodeFor(s.code());
}

int Runner::TenantCommand(const std::string& verb) {
  v1::TenantSettings resp;
  if (verb == "show") {
    v1::GetTenantSettingsRequest req;
    req.set_tenant_id(inv_.global.tenant);
    if (grpc::Status s = Tenants().GetTenantSettings(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderTenantSettings(resp));
  }
  if (verb == "set") {
    absl::StatusOr<v1::UpdateTenantSettingsRequest> req = BuildUpdateTenantSettings(inv_);
    if (!req.ok()) return Usage(req.status());
    if (grpc::Status s = Tenants().UpdateTenantSettings(Ctx().get(), *req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderTenantSettings(resp));
  }
  return Usage(absl::InvalidArgumentError("unknown tenant verb"));
}

int Runner::FieldCommand(const std::string& verb) {
  const std::string& tenant = inv_.global.tenant;
  if (verb == "list") {
    v1::ListExtendedFieldsRequest req;
    req.set_tenant_id(tenant);
    v1::ListExtendedFieldsResponse resp;
    if (grpc::Status s = Idp().ListExtendedFields(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderExtendedFields({resp.fields().begin(), resp.fields().end()}));
  }
  if (verb == "delete") {
    v1::DeleteExtendedFieldRequest req;
    req.set_tenant_id(tenant);
    req.set_name(inv_.args[0]);
    v1::DeleteExtendedFieldResponse resp;
    if (grpc::Status s = Idp().DeleteExtendedField(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, absl::StrCat("deleted extended field ", inv_.args[0], "\n"));
  }
  absl::StatusOr<v1::ExtendedField> field = BuildExtendedField(inv_);
  if (!field.ok()) return Usage(field.status());
  v1::ExtendedField resp;
  if (verb == "create") {
    v1::CreateExtendedFieldRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_field() = *field;
    if (grpc::Status s = Idp().CreateExtendedField(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderExtendedField(resp));
  }
  if (verb == "update") {
    // The RPC replaces display_name and type: fill the one not given from the current field.
    if (!inv_.Has("display-name") || !inv_.Has("type")) {
      v1::ListExtendedFieldsRequest list_req;
      list_req.set_tenant_id(tenant);
      v1::ListExtendedFieldsResponse list;
      if (grpc::Status s = Idp().ListExtendedFields(Ctx().get(), list_req, &list); !s.ok()) return Fail(s);
      for (const v1::ExtendedField& f : list.fields()) {
        if (f.name() != field->name()) continue;
        if (!inv_.Has("display-name")) field->set_display_name(f.display_name());
        if (!inv_.Has("type")) field->set_type(f.type());
      }
    }
    v1::UpdateExtendedFieldRequest req;
    req.set_tenant_id(tenant);
    *req.mutable_field() = *field;
    if (grpc::Status s = Idp().UpdateExtendedField(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderExtendedField(resp));
  }
  return Usage(absl::InvalidArgumentError("unknown field verb"));
}

int Runner::UserCommand(const std::string& verb) {
  const std::string& tenant = inv_.global.tenant;
  if (verb == "get") {
    v1::GetUserRequest req;
    req.set_tenant_id(tenant);
    req.set_user_id(inv_.args[0]);
    v1::User resp;
    if (grpc::Status s = Dir().GetUser(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderUser(resp));
  }
  if (verb == "lookup") {
    absl::StatusOr<v1::LookupUserRequest> req = BuildLookupUser(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::LookupUserResponse resp;
    if (grpc::Status s = Dir().LookupUser(Ctx().get(), *req, &resp); !s.ok()) return Fail(s);
    if (resp.users().empty()) return Fail(grpc::Status(grpc::StatusCode::NOT_FOUND, "no user matches"));
    if (resp.users_size() == 1 && !inv_.global.json) return Print(resp, RenderUser(resp.users(0)));
    return Print(resp, RenderUsers({resp.users().begin(), resp.users().end()}));
  }
  if (verb == "list") {
    absl::StatusOr<v1::ListUsersRequest> req = BuildListUsers(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::ListUsersResponse resp;
    grpc::Status s = Pages(
        *req, inv_.IsSet("all"),
        [&](grpc::ClientContext* c, const auto& r, auto* p) { return Dir().ListUsers(c, r, p); }, &resp);
    if (!s.ok()) return Fail(s);
    Print(resp, RenderUsers({resp.users().begin(), resp.users().end()}));
    MoreHint(resp.next_page_token());
    return kExitOk;
  }
  if (verb == "search") {
    absl::StatusOr<v1::SearchUsersRequest> req = BuildSearchUsers(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::SearchUsersResponse resp;
    grpc::Status s = Pages(
        *req, inv_.IsSet("all"),
        [&](grpc::ClientContext* c, const auto& r, auto* p) { return Dir().SearchUsers(c, r, p); }, &resp);
    if (!s.ok()) return Fail(s);
    Print(resp, RenderUsers({resp.users().begin(), resp.users().end()}));
    MoreHint(resp.next_page_token());
    return kExitOk;
  }
  if (verb == "depts") {
    v1::ListUserDepartmentsRequest req;
    req.set_tenant_id(tenant);
    req.set_user_id(inv_.args[0]);
    v1::ListUserDepartmentsResponse resp;
    if (grpc::Status s = Dir().ListUserDepartments(Ctx().get(), req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderUserDepartments(resp));
  }
  if (verb == "check") {
    absl::StatusOr<v1::CheckMembershipRequest> req = BuildCheckMembership(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::CheckMembershipResponse resp;
    if (grpc::Status s = Dir().CheckMembership(Ctx().get(), *req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderMembership(*req, resp));
  }
  return Usage(absl::InvalidArgumentError("unknown user verb"));
}

int Runner::DeptCommand(const std::string& verb) {
  if (verb == "get") {
    absl::StatusOr<v1::GetDepartmentRequest> req = BuildGetDepartment(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::Department resp;
    if (grpc::Status s = Dir().GetDepartment(Ctx().get(), *req, &resp); !s.ok()) return Fail(s);
    return Print(resp, RenderDepartment(resp));
  }
  if (verb == "list") {
    absl::StatusOr<v1::ListDepartmentsRequest> req = BuildListDepartments(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::ListDepartmentsResponse resp;
    grpc::Status s = Pages(
        *req, inv_.IsSet("all"),
        [&](grpc::ClientContext* c, const auto& r, auto* p) { return Dir().ListDepartments(c, r, p); }, &resp);
    if (!s.ok()) return Fail(s);
    Print(resp, RenderDepartments({resp.departments().begin(), resp.departments().end()}));
    MoreHint(resp.next_page_token());
    return kExitOk;
  }
  return Usage(absl::InvalidArgumentError("unknown dept verb"));
}

int Runner::SyncCommand(const std::string& verb) {
  const std::string& tenant = inv_.global.tenant;
  if (verb == "start") {
    absl::StatusOr<v1::StartSyncRequest> req = BuildStartSync(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::SyncRun run;
    if (grpc::Status s = Sync().StartSync(Ctx().get(), *req, &run); !s.ok()) return Fail(s);
    if (inv_.IsSet("wait")) return WaitForRun(run);
    if (!inv_.global.json) err_ << "started; follow it with: sasectl sync show " << run.run_id() << "\n";
    return Print(run, RenderSyncRun(run));
  }
  if (verb == "runs") {
    absl::StatusOr<v1::ListSyncRunsRequest> req = BuildListSyncRuns(inv_);
    if (!req.ok()) return Usage(req.status());
    v1::ListSyncRunsResponse resp;
    grpc::Status s = Pages(
        *req, inv_.IsSet("all"),
        [&](grpc::ClientContext* c, const auto& r, auto* p) { return Sync().ListSyncRuns(c, r, p); }, &resp);
    if (!s.ok()) return Fail(s);
    Print(resp, RenderSyncRuns({resp.runs().begin(), resp.runs().end()}));
    MoreHint(resp.next_page_token());
    return kExitOk;
  }
  if (verb == "show") {
    v1::GetSyncRunRequest req;
    req.set_tenant_id(tenant);
    req.set_run_id(inv_.args[0]);
    v1::SyncRun run;
    if (grpc::Status s = Sync().GetSyncRun(Ctx().get(), req, &run); !s.ok()) return Fail(s);
    return Print(run, RenderSyncRun(run));
  }
  if (verb == "approve") {
    v1::ApproveDeletionsRequest req;
    req.set_tenant_id(tenant);
    req.set_run_id(inv_.args[0]);
    v1::SyncRun run;
    if (grpc::Status s = Sync().ApproveDeletions(Ctx().get(), req, &run); !s.ok()) return Fail(s);
    return Print(run, RenderSyncRun(run));
  }
  return Usage(absl::InvalidArgumentError("unknown sync verb"));
}

int Runner::WaitForRun(v1::SyncRun run) {
  InstallInterruptHandlers();
  const bool tty = isatty(STDERR_FILENO) == 1;
  std::string last_line;
  for (;;) {
    std::string line = RenderProgress(run, 30);
    if (tty) {
      err_ << "\r" << line << "\x1b[K" << std::flush;
    } else if (line != last_line) {
      err_ << line << "\n" << std::flush;
    }
    last_line = line;
    if (IsTerminal(run.state())) break;
    if (InterruptibleSleep(std::chrono::milliseconds(500))) {
      if (tty) err_ << "\n";
      err_ << "interrupted; the run continues on the server: sasectl sync show " << run.run_id() << "\n";
      return kExitError;
    }
    v1::GetSyncRunRequest req;
    req.set_tenant_id(inv_.global.tenant);
    req.set_run_id(run.run_id());
    v1::SyncRun next;
    if (grpc::Status s = Sync().GetSyncRun(Ctx().get(), req, &next); !s.ok()) {
      if (tty) err_ << "\n";
      return Fail(s);
    }
    run = std::move(next);
  }
  if (tty) err_ << "\n";
  Print(run, RenderSyncRun(run));
  if (run.state() == v1::AWAITING_APPROVAL && !inv_.global.json) {
    err_ << "departures held by the deletion guard; apply them with: sasectl sync approve " << run.run_id() << "\n";
  }
  if (run.state() == v1::FAILED || run.state() == v1::CANCELLED) {
    err_ << FormatUsageError(absl::StrCat("sync run ", run.run_id(), " ", RunStateName(run.state()),
                                          run.failure_reason().empty() ? "" : ": ", run.failure_reason(),
                                          run.failure_detail().empty() ? "" : ": ", run.failure_detail()),
                             secrets_);
    return kExitError;
  }
  return kExitOk;
}

int Runner::Watch() {
  absl::StatusOr<v1::WatchChangesRequest> built = BuildWatchChanges(inv_);
  if (!built.ok()) return Usage(built.status());
  v1::WatchChangesRequest req = *built;
  InstallInterruptHandlers();
  int64_t last_seq = -1;
  bool lost = false;  // "connection lost" said once per outage, not on every reconnect attempt
  for (;;) {
    grpc::ClientContext ctx;
    std::atomic<bool> done{false};
    // Ctrl-C cancels the stream from a helper thread (a signal handler cannot call gRPC).
    std::thread canceller([&] {
      while (!done.load()) {
        if (g_interrupted.load()) {
          ctx.TryCancel();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    std::unique_ptr<grpc::ClientReader<v1::Change>> reader = Dir().WatchChanges(&ctx, req);
    reader->WaitForInitialMetadata();
    // The stream is established once its headers name where it starts (from_now: the head at
    // that moment); a stream that breaks before its first change resumes there instead of giving
    // up or skipping changes.
    const auto& md = ctx.GetServerInitialMetadata();
    if (auto it = md.find(std::string(common::kWatchCursorHeader)); it != md.end()) {
      lost = false;
      int64_t cursor = 0;
      if (last_seq < 0 && absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &cursor) &&
          cursor >= 0) {
        last_seq = cursor;
      }
    }
    v1::Change change;
    while (reader->Read(&change)) {
      last_seq = change.seq();
      out_ << (inv_.global.json ? ToJson(change) : RenderChangeLine(change)) << std::flush;
    }
    grpc::Status s = reader->Finish();
    done.store(true);
    canceller.join();
    if (g_interrupted.load()) return kExitOk;
    if (s.ok()) return kExitOk;
    // Resume after a dropped connection once the stream had started: nothing skipped or repeated.
    // A server shutting down answers UNAVAILABLE or cancels the call (CANCELLED that we did not ask for).
    const bool dropped =
        s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::CANCELLED;
    if (dropped && last_seq >= 0) {
      if (!lost) {
        err_ << "watch: connection lost (" << s.error_message() << "); resuming after seq " << last_seq << "\n";
      }
      lost = true;
      req.set_from_now(false);
      req.set_after_seq(last_seq);
      if (InterruptibleSleep(std::chrono::seconds(1))) return kExitOk;
      continue;
    }
    return Fail(s);
  }
}

}  // namespace

int RunSasectl(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err, const GetEnv& getenv) {
  absl::StatusOr<Invocation> inv = ParseCommandLine(argv, getenv);
  if (!inv.ok()) {
    std::vector<std::string> secrets;
    err << FormatUsageError(std::string(inv.status().message()), secrets);
    return kExitUsage;
  }
  if (!inv->help.empty()) {
    out << inv->help;
    return kExitOk;
  }
  return Runner(*inv, out, err, getenv).Run();
}

}  // namespace sase::sasectl

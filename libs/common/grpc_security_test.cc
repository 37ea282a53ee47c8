// Mutual TLS and caller authorization with real certificates made at test time and real gRPC
// servers on 127.0.0.1:0 hosting the real service definitions (their handlers unimplemented: a
// call the authorization admits ends UNIMPLEMENTED, one it refuses PERMISSION_DENIED).

#include "common/grpc_security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/testing/test_pki.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sase/dingtalk/v1/directory.grpc.pb.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/login.grpc.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "sase/dingtalk/v1/tenant.grpc.pb.h"

namespace sase::common {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::HasSubstr;
using sase::testing::SpiffeId;
using sase::testing::TestCert;
using sase::testing::TestPki;

std::string TempDir(const std::string& name) {
  std::string dir = absl::StrCat(std::filesystem::temp_directory_path().string(), "/grpc_security_", name, "_",
                                 ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// One unary call with an empty request message, through the generic stub (any method by name).
grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty(std::string(""));
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return status;
}

std::string Scrape(prometheus::Registry& registry) { return prometheus::TextSerializer().Serialize(registry.Collect()); }

class GrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    pki_ = std::make_unique<TestPki>(dir_ + "/ca");
    server_cert_ = pki_->Issue("server", SpiffeId("sync-worker"));  // no role: a server's own identity
    registry_ = std::make_shared<prometheus::Registry>();
    StartServer(pki_->Security(server_cert_));
  }
  void TearDown() override {
    host_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartServer(const GrpcSecurity& security) {
    host_.reset();
    auto host = GrpcServerHost::Start("127.0.0.1:0", {&sync_, &idsrc_, &tenant_, &login_, &directory_}, registry_,
                                      security);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    target_ = absl::StrCat("127.0.0.1:", host_->port());
  }

  std::shared_ptr<grpc::Channel> ChannelAs(const TestCert& cert) {
    return MakeGrpcChannel(target_, pki_->Security(cert));
  }

  std::string dir_;
  std::unique_ptr<TestPki> pki_;
  TestCert server_cert_;
  std::shared_ptr<prometheus::Registry> registry_;
  v1::SyncService::Service sync_;
  v1::IdentitySourceService::Service idsrc_;
  v1::TenantService::Service tenant_;
  v1::LoginService::Service login_;
  v1::DirectoryService::Service directory_;
  std::unique_ptr<GrpcServerHost> host_;
  std::string target_;
};

// The policy, written down independently of the table in grpc_security.cc: who may call each
// method of every service we host. A method added to a .proto without a line here fails.
const std::map<std::string, std::vector<std::string>>& ExpectedPolicy() {
  static const auto* policy = new std::map<std::string, std::vector<std::string>>{
      {"sase.dingtalk.v1.SyncService.SubmitEvents", {"ingress"}},
      {"sase.dingtalk.v1.SyncService.GetCallbackKeys", {"ingress"}},
      {"sase.dingtalk.v1.SyncService.StartSync", {"admin"}},
      {"sase.dingtalk.v1.SyncService.GetSyncRun", {"admin"}},
      {"sase.dingtalk.v1.SyncService.ListSyncRuns", {"admin"}},
      {"sase.dingtalk.v1.SyncService.ApproveDeletions", {"admin"}},
      {"sase.dingtalk.v1.LoginService.GetLoginOptions", {"ingress"}},
      {"sase.dingtalk.v1.LoginService.CompleteLogin", {"ingress"}},
      {"sase.dingtalk.v1.LoginService.GetJwks", {"ingress"}},
      {"sase.dingtalk.v1.TenantService.GetTenantSettings", {"admin"}},
      {"sase.dingtalk.v1.TenantService.UpdateTenantSettings", {"admin"}},
  };
  return *policy;
}

std::vector<std::string> ExpectedRoles(const std::string& service, const std::string& method) {
  auto it = ExpectedPolicy().find(service + "." + method);
  if (it != ExpectedPolicy().end()) return it->second;
  if (service == "sase.dingtalk.v1.IdentitySourceService") return {"admin"};
  if (service == "sase.dingtalk.v1.DirectoryService") return {"reader", "admin"};
  return {};  // unknown: the test fails below
}

TEST_F(GrpcSecurityTest, EachMethodAdmitsExactlyItsRolesAndRefusesTheOthers) {
  const std::vector<std::string> roles = {"ingress", "admin", "reader"};
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  for (const std::string& role : roles) channels[role] = ChannelAs(pki_->Issue(role, SpiffeId(role + "/test")));
  int checked = 0;
  for (const char* service_name :
       {"sase.dingtalk.v1.SyncService", "sase.dingtalk.v1.IdentitySourceService", "sase.dingtalk.v1.TenantService",
        "sase.dingtalk.v1.LoginService", "sase.dingtalk.v1.DirectoryService"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = service->method(i)->name();
      const std::vector<std::string> admitted = ExpectedRoles(service_name, method);
      ASSERT_FALSE(admitted.empty()) << service_name << "." << method << " has no expected policy in this test";
      if (service->method(i)->server_streaming()) continue;  // WatchChanges: checked below
      const std::string path = absl::StrCat("/", service_name, "/", method);
      for (const std::string& role : roles) {
        const bool admit = std::find(admitted.begin(), admitted.end(), role) != admitted.end();
        EXPECT_EQ(MethodAdmits(path, ParseCallerIdentity(SpiffeId(role), "sase.internal")->role), admit)
            << path << " as " << role;
        grpc::Status s = Call(channels[role], path);
        if (admit) {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << path << " as " << role << ": " << s.error_message();
        } else {
          EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << path << " as " << role;
          EXPECT_THAT(s.error_message(), HasSubstr("may not call " + path));
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 3 * 30);
  const std::string metrics = Scrape(*registry_);
  EXPECT_THAT(metrics, HasSubstr("sase_grpc_server_refused_total{method=\"/sase.dingtalk.v1.SyncService/"
                                 "GetCallbackKeys\",reason=\"role_not_admitted\"} 2"));
  // Refused calls never reach a handler: the handled counter has no GetCallbackKeys series.
  EXPECT_NE(metrics.find("{code=\"UNIMPLEMENTED\",method=\"SyncService/SubmitEvents\"} 1"), std::string::npos);
  EXPECT_EQ(metrics.find("code=\"PERMISSION_DENIED\""), std::string::npos);
}

TEST_F(GrpcSecurityTest, TheStreamIsForReadersAndAdminsOnly) {
  for (const auto& [role, want] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"reader", grpc::StatusCode::UNIMPLEMENTED},
           {"admin", grpc::StatusCode::UNIMPLEMENTED},
           {"ingress", grpc::StatusCode::PERMISSION_DENIED}}) {
    auto stub = v1::DirectoryService::NewStub(ChannelAs(pki_->Issue(role, SpiffeId(role))));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::WatchChangesRequest req;
    auto reader = stub->WatchChanges(&ctx, req);
    v1::Change resp;
    EXPECT_FALSE(reader->Read(&resp));
    EXPECT_EQ(reader->Finish().error_code(), want) << role;
  }
}

TEST_F(GrpcSecurityTest, HealthChecksAdmitEveryRoleAndReflectionOnlyAdmins) {
  for (const std::string role : {"ingress", "admin", "reader"}) {
    auto channel = ChannelAs(pki_->Issue(role, SpiffeId(role)));
    grpc::Status health = Call(channel, "/grpc.health.v1.Health/Check");
    EXPECT_EQ(health.error_code(), grpc::StatusCode::OK) << role << ": " << health.error_message();
    EXPECT_TRUE(MethodAdmits("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                             ParseCallerIdentity(SpiffeId(role), "sase.internal")->role) == (role == "admin"));
  }
}

TEST_F(GrpcSecurityTest, CertificatesWithoutAnIdentityOfTheTrustDomainAreRefused) {
  struct Case {
    std::string uri;
    std::string reason;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"", "no_identity", "names no spiffe://sase.internal/<role> identity"},
           {"spiffe://other.example/admin", "foreign_identity", "spiffe://other.example/admin may not call"},
           {"spiffe://sase.internal/root", "foreign_identity", "spiffe://sase.internal/root may not call"},
           {"spiffe://sase.internal/admin/a/b", "foreign_identity", "may not call"},
           {"https://sase.internal/admin", "foreign_identity", "may not call"}}) {
    grpc::Status s = Call(ChannelAs(pki_->Issue("odd", c.uri)), "/sase.dingtalk.v1.IdentitySourceService/"
                                                                 "ListIdentitySources");
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << c.uri;
    EXPECT_THAT(s.error_message(), HasSubstr(c.message)) << c.uri;
    EXPECT_THAT(Scrape(*registry_), HasSubstr("reason=\"" + c.reason + "\"")) << c.uri;
  }
}

TEST_F(GrpcSecurityTest, AWrongCaAnExpiredCertificateOrPlaintextNeverReachTheServer) {
  TestPki other(dir_ + "/other-ca", "other-ca");
  TestCert stranger = other.Issue("stranger", SpiffeId("admin"));
  GrpcSecurity wrong_ca = other.Security(stranger);
  wrong_ca.ca_file = pki_->ca_file();  // trusts our server, but our server does not trust it
  const std::string method = "/sase.dingtalk.v1.IdentitySourceService/ListIdentitySources";
  EXPECT_EQ(Call(MakeGrpcChannel(target_, wrong_ca), method).error_code(), grpc::StatusCode::UNAVAILABLE);

  TestCert expired = pki_->Issue("expired", {.uri = SpiffeId("admin"),
                                             .not_before = std::chrono::hours(-48),
                                             .not_after = std::chrono::hours(-1)});
  EXPECT_EQ(Call(ChannelAs(expired), method).error_code(), grpc::StatusCode::UNAVAILABLE);
  TestCert not_yet = pki_->Issue("future", {.uri = SpiffeId("admin"),
                                            .not_before = std::chrono::hours(1),
                                            .not_after = std::chrono::hours(48)});
  EXPECT_EQ(Call(ChannelAs(not_yet), method).error_code(), grpc::StatusCode::UNAVAILABLE);

  EXPECT_EQ(Call(MakeGrpcChannel(target_, GrpcSecurity::Plaintext()), method).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The client checks the server too: a server certificate from a CA the client does not trust.
  GrpcSecurity distrustful = pki_->Security(pki_->Issue("admin", SpiffeId("admin")));
  distrustful.ca_file = other.ca_file();
  EXPECT_EQ(Call(MakeGrpcChannel(target_, distrustful), method).error_code(), grpc::StatusCode::UNAVAILABLE);

  // And the same admin with a good certificate gets in.
  EXPECT_EQ(Call(ChannelAs(pki_->Issue("admin", SpiffeId("admin"))), method).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(GrpcSecurityTest, TheServerPicksUpRotatedFilesWithoutARestart) {
  // A second CA is rolled in: its clients are refused until the server's CA file lists it.
  TestPki next(dir_ + "/next-ca", "next-ca");
  GrpcSecurity next_admin = next.Security(next.Issue("admin", SpiffeId("admin")));
  next_admin.ca_file = pki_->ca_file();
  const std::string method = "/sase.dingtalk.v1.IdentitySourceService/ListIdentitySources";
  ASSERT_EQ(Call(MakeGrpcChannel(target_, next_admin), method).error_code(), grpc::StatusCode::UNAVAILABLE);

  const std::string server_ca = pki_->Security(server_cert_).ca_file;
  std::string bundle;
  for (const std::string& f : {server_ca, next.ca_file()}) {
    std::ifstream in(f);
    bundle += std::string(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(server_ca + ".tmp");
    out << bundle;
  }
  std::filesystem::rename(server_ca + ".tmp", server_ca);
  grpc::StatusCode got = grpc::StatusCode::UNAVAILABLE;
  for (int i = 0; i < 100 && got == grpc::StatusCode::UNAVAILABLE; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the watcher re-reads every second
    got = Call(MakeGrpcChannel(target_, next_admin), method).error_code();
  }
  EXPECT_EQ(got, grpc::StatusCode::UNIMPLEMENTED) << "the new CA was not picked up";
  // The old CA's clients still get in.
  EXPECT_EQ(Call(ChannelAs(pki_->Issue("admin", SpiffeId("admin"))), method).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// Probes without a client certificate get a plaintext port that serves health checks only.
TEST_F(GrpcSecurityTest, ThePlaintextHealthPortAnswersHealthChecksAndNothingElse) {
  host_.reset();
  auto host = GrpcServerHost::Start("127.0.0.1:0", {&sync_}, registry_, pki_->Security(server_cert_), "127.0.0.1:0");
  ASSERT_TRUE(host.ok()) << host.status();
  host_ = *std::move(host);
  ASSERT_GT(host_->health_port(), 0);
  auto probe = MakeGrpcChannel(absl::StrCat("127.0.0.1:", host_->health_port()), GrpcSecurity::Plaintext());
  auto health = grpc::health::v1::Health::NewStub(probe);
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = health->Check(&ctx, req, &resp);
    return s.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()) : s.error_message();
  };
  EXPECT_EQ(check(""), "SERVING");
  EXPECT_EQ(check(v1::SyncService::service_full_name()), "unknown service");
  host_->SetServing(v1::SyncService::service_full_name(), true);
  EXPECT_EQ(check(v1::SyncService::service_full_name()), "SERVING");
  host_->SetServing(v1::SyncService::service_full_name(), false);
  EXPECT_EQ(check(v1::SyncService::service_full_name()), "NOT_SERVING");
  // Nothing else is served there: not the API, not reflection.
  EXPECT_EQ(Call(probe, "/sase.dingtalk.v1.SyncService/GetCallbackKeys").error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Call(probe, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Scrape(*registry_).find("GetCallbackKeys"), std::string::npos) << "no call reached the service";
  host_->Shutdown();
  EXPECT_NE(check(""), "SERVING");
}

TEST(ParseCallerIdentityTest, AcceptsOnlyRolesOfTheTrustDomain) {
  EXPECT_EQ(ParseCallerIdentity("spiffe://sase.internal/ingress", "sase.internal")->role, CallerRole::kIngress);
  EXPECT_EQ(ParseCallerIdentity("spiffe://sase.internal/admin/alice", "sase.internal")->role, CallerRole::kAdmin);
  EXPECT_EQ(ParseCallerIdentity("spiffe://sase.internal/reader/policy-engine", "sase.internal")->role,
            CallerRole::kReader);
  for (const char* bad : {"spiffe://sase.internal/", "spiffe://sase.internal/ingress/", "spiffe://sase.internal//admin",
                          "spiffe://sase.internal/admin/a/b", "spiffe://sase.internalx/admin",
                          "spiffe://sase.internal/Admin", "spiffe://sase.internal/admin?x=1",
                          "spiffe://other/admin", "SPIFFE://sase.internal/admin", "spiffe://sase.internal/sync-worker"}) {
    EXPECT_FALSE(ParseCallerIdentity(bad, "sase.internal").ok()) << bad;
  }
}

TEST(MethodAdmitsTest, WholeServiceRulesDoNotMatchOtherServicesOrSubpaths) {
  EXPECT_TRUE(MethodAdmits("/sase.dingtalk.v1.SyncService/StartSync", CallerRole::kAdmin));
  EXPECT_FALSE(MethodAdmits("/sase.dingtalk.v1.SyncService/StartSync", CallerRole::kIngress));
  EXPECT_FALSE(MethodAdmits("/sase.dingtalk.v1.SyncService/", CallerRole::kAdmin));
  EXPECT_FALSE(MethodAdmits("/sase.dingtalk.v1.SyncServiceX/StartSync", CallerRole::kAdmin));
  EXPECT_FALSE(MethodAdmits("/sase.dingtalk.v1.SyncService/StartSync/x", CallerRole::kAdmin));
  EXPECT_FALSE(MethodAdmits("/sase.dingtalk.v1.SyncService/SubmitEvents", CallerRole::kAdmin));
  EXPECT_FALSE(MethodAdmits("/other.Service/Method", CallerRole::kAdmin));
  EXPECT_FALSE(MethodAdmits("unknown", CallerRole::kAdmin));
}

class CheckGrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    pki_ = std::make_unique<TestPki>(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::unique_ptr<TestPki> pki_;
};

TEST_F(CheckGrpcSecurityTest, NamesTheKeyOfWhatIsWrong) {
  GrpcSecurity good = pki_->Security(pki_->Issue("good", SpiffeId("admin")));
  EXPECT_TRUE(CheckGrpcSecurity(good, {{"listen_addr", "0.0.0.0:1"}}).ok());

  GrpcSecurity none;
  EXPECT_THAT(std::string(CheckGrpcSecurity(none, {}).message()),
              HasSubstr("config key grpc_tls_cert_file: required unless grpc_plaintext=true"));
  GrpcSecurity missing = good;
  missing.key_file = dir_ + "/nope.key";
  EXPECT_THAT(std::string(CheckGrpcSecurity(missing, {}).message()), HasSubstr("config key grpc_tls_key_file: cannot read"));
  GrpcSecurity mismatch = good;
  mismatch.key_file = pki_->Issue("other", SpiffeId("admin")).key_file;
  EXPECT_THAT(std::string(CheckGrpcSecurity(mismatch, {}).message()),
              HasSubstr("config key grpc_tls_key_file: the key does not match"));
  GrpcSecurity expired = pki_->Security(pki_->Issue("expired", {.uri = SpiffeId("admin"),
                                                                .not_before = std::chrono::hours(-48),
                                                                .not_after = std::chrono::hours(-1)}));
  EXPECT_THAT(std::string(CheckGrpcSecurity(expired, {}).message()), HasSubstr("has expired"));
  GrpcSecurity anonymous = pki_->Security(pki_->Issue("anonymous", ""));
  EXPECT_THAT(std::string(CheckGrpcSecurity(anonymous, {}).message()),
              HasSubstr("config key grpc_tls_cert_file: the certificate names no URI SAN spiffe://sase.internal/..."));
  GrpcSecurity bad_ca = good;
  bad_ca.ca_file = good.key_file;
  EXPECT_THAT(std::string(CheckGrpcSecurity(bad_ca, {}).message()),
              HasSubstr("config key grpc_tls_ca_file: " + good.key_file + " holds no PEM certificate"));

  EXPECT_TRUE(CheckGrpcSecurity(GrpcSecurity::Plaintext(), {{"listen_addr", "127.0.0.1:50061"},
                                                             {"sync_worker_addr", "localhost:1"},
                                                             {"x", "[::1]:2"}})
                  .ok());
  absl::Status open = CheckGrpcSecurity(GrpcSecurity::Plaintext(), {{"listen_addr", "0.0.0.0:50061"}});
  EXPECT_THAT(std::string(open.message()),
              HasSubstr("config key grpc_plaintext: plaintext gRPC only on loopback addresses, but listen_addr is "
                        "0.0.0.0:50061"));
}

}  // namespace
}  // namespace sase::common

// End to end "log on with DingTalk": real PostgreSQL, real sync_worker, real ingress and the
// DingTalk simulator playing DingTalk's authorize page, OAuth, users/me, getbyunionid and free
// login. Every success is verified by an independent verifier (PyJWT) from ingress's JWKS alone;
// every refusal asserts its reason code and that nothing but the consumed nonce was written.
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/testing/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "login/state_token.h"
#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "sase/dingtalk/v1/login.pb.h"
#include "sase/dingtalk/v1/sync.grpc.pb.h"
#include "sase/dingtalk/v1/tenant.grpc.pb.h"
#include "store/testing/test_db.h"

namespace sase {
namespace {

namespace v1 = ::sase::dingtalk::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kKek[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
constexpr char kAppKey[] = "dinglogintestapp";
constexpr char kAppSecret[] = "login-test-secret";
constexpr char kCorpId[] = "dinglogincorp";
constexpr char kStateKey[] = "0123456789abcdef0123456789abcdef-state-key";
constexpr char kClientRedirect[] = "https://client.example/cb";
constexpr char kNativeRedirect[] = "com.example.sase:/callback";

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, raw values
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

size_t OnBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}
size_t OnHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// One request, redirects not followed (the test reads every Location itself, raw).
HttpResult Http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::vector<std::string>& headers = {}) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

std::string Unescape(const std::string& s) {
  std::string plus = s;
  std::replace(plus.begin(), plus.end(), '+', ' ');
  int n = 0;
  char* out = curl_easy_unescape(nullptr, plus.c_str(), static_cast<int>(plus.size()), &n);
  std::string r(out, static_cast<size_t>(n));
  curl_free(out);
  return r;
}

// name=value pairs of a query or fragment.
std::map<std::string, std::string> Pairs(const std::string& s) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(s, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    out[Unescape(p.first)] = Unescape(p.second);
  }
  return out;
}
std::map<std::string, std::string> QueryOf(const std::string& url) {
  size_t q = url.find('?');
  if (q == std::string::npos) return {};
  return Pairs(url.substr(q + 1, url.find('#') == std::string::npos ? std::string::npos : url.find('#') - q - 1));
}
std::map<std::string, std::string> FragmentOf(const std::string& url) {
  size_t h = url.find('#');
  return h == std::string::npos ? std::map<std::string, std::string>() : Pairs(url.substr(h + 1));
}

// The independent verifier: PyJWT with the JWKS document only (libs/login/testing/verify_jwt.py).
nlohmann::json VerifyWithJwks(const std::string& jwks, const std::string& token, std::string* error) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/jwt_", getpid(), "_", rand());
  std::ofstream(dir + ".jwks") << jwks;
  std::ofstream(dir + ".tok") << token;
  const std::string cmd = absl::StrCat("/usr/bin/python3 ", SASE_SOURCE_DIR, "/libs/login/testing/verify_jwt.py --jwks ",
                                       dir, ".jwks --token ", dir, ".tok --aud sase-client --iss sase-dingtalk 2>",
                                       dir, ".err");
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    const int rc = pclose(f);
    if (rc != 0) {
      std::ifstream e(dir + ".err");
      *error = std::string(std::istreambuf_iterator<char>(e), {});
      return nullptr;
    }
  }
  return nlohmann::json::parse(out, nullptr, false);
}

class LoginE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    SASE_SETUP_TEST_DB(db_);
    const std::string tmp = absl::StrCat(::testing::TempDir(), "/login_e2e_", getpid());
    sim_ = std::make_unique<testing::Subprocess>(
        std::vector<std::string>{testing::BinaryPath("tools/dingtalk_sim/dingtalk_sim"), "--listen=127.0.0.1:0",
                                 "--seed=11", absl::StrCat("--users=", sim_users_),
                                 absl::StrCat("--departments=", sim_departments_), "--max_depth=3",
                                 absl::StrCat("--app_key=", kAppKey), absl::StrCat("--app_secret=", kAppSecret),
                                 absl::StrCat("--corp_id=", kCorpId)},
        tmp + "_sim.log");
    sim_port_ = sim_->WaitForLoggedInt("port");
    ASSERT_GT(sim_port_, 0) << sim_->Log();
    sim_url_ = absl::StrCat("http://127.0.0.1:", sim_port_);
    StartSyncWorker({});
    std::ofstream(tmp + "_state.key") << kStateKey << "\n";
    ingress_ = std::make_unique<testing::Subprocess>(
        std::vector<std::string>{testing::BinaryPath("services/ingress/ingress"), "--listen_addr=127.0.0.1:0",
                                 "--metrics_addr=127.0.0.1:0", absl::StrCat("--sync_worker_addr=127.0.0.1:", sync_port_),
                                 absl::StrCat("--login_state_key_file=", tmp, "_state.key"),
                                 absl::StrCat("--dingtalk_authorize_url=", sim_url_, "/oauth2/auth"),
                                 absl::StrCat("--dingtalk_qr_script_url=", sim_url_, "/ddlogin.js?auto=1"),
                                 absl::StrCat("--dingtalk_jsapi_script_url=", sim_url_, "/dingtalk.open.js"),
                                 "--login_jwks_cache_s=0", "--grpc_plaintext=true"},
        tmp + "_ingress.log");
    http_port_ = ingress_->WaitForLoggedInt("http_port");
    ASSERT_GT(http_port_, 0) << ingress_->Log();
    base_ = absl::StrCat("http://127.0.0.1:", http_port_);
    CreateSourceAndSync();
  }

  void StartSyncWorker(const std::vector<std::string>& extra) {
    setenv("SASE_TEST_KEK", kKek, 1);
    std::vector<std::string> argv = {testing::BinaryPath("services/sync_worker/sync_worker"),
                                     absl::StrCat("--listen_addr=127.0.0.1:", sync_port_),
                                     "--metrics_addr=127.0.0.1:0",
                                     absl::StrCat("--pg_dsn=", db_->dsn()),
                                     "--kek_env=SASE_TEST_KEK",
                                     "--public_host=sase.example.com",
                                     absl::StrCat("--dingtalk_oapi_base=", sim_url_),
                                     absl::StrCat("--dingtalk_api_base=", sim_url_),
                                     "--grpc_plaintext=true"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    sync_ = std::make_unique<testing::Subprocess>(
        argv, absl::StrCat(::testing::TempDir(), "/login_e2e_sync_", getpid(), "_", ++sync_starts_, ".log"));
    const int port = sync_->WaitForLoggedInt("grpc_port");
    ASSERT_GT(port, 0) << sync_->Log();
    sync_port_ = port;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", sync_port_), grpc::InsecureChannelCredentials());
  }

  void CreateSourceAndSync() {
    auto idp = v1::IdentitySourceService::NewStub(channel_);
    v1::CreateIdentitySourceRequest req;
    req.set_tenant_id("acme");
    v1::IdentitySource* s = req.mutable_identity_source();
    s->set_name("dingtalk-main");
    s->set_description("Acme DingTalk");
    s->set_status(v1::ENABLED);
    s->set_corp_id(kCorpId);
    s->set_app_key(kAppKey);
    s->set_app_secret(kAppSecret);
    s->set_dingtalk_type(v1::STANDARD);
    s->set_sync_cycle_hours(24);
    s->add_login_redirect_uris(kClientRedirect);
    s->add_login_redirect_uris(kNativeRedirect);
    s->add_login_redirect_uris(sim_url_ + "/demo/client");  // a page a browser can land on
    v1::IdentitySource created;
    grpc::ClientContext ctx;
    grpc::Status st = idp->CreateIdentitySource(&ctx, req, &created);
    ASSERT_TRUE(st.ok()) << st.error_message();
    idp_id_ = created.idp_id();

    auto tenants = v1::TenantService::NewStub(channel_);
    v1::UpdateTenantSettingsRequest ts;
    ts.mutable_settings()->set_tenant_id("acme");
    ts.mutable_settings()->set_enterprise_id("Acme-Corp");
    v1::TenantSettings settings;
    grpc::ClientContext ctx2;
    st = tenants->UpdateTenantSettings(&ctx2, ts, &settings);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(settings.enterprise_id(), "acme-corp");

    auto sync = v1::SyncService::NewStub(channel_);
    v1::StartSyncRequest start;
    start.set_tenant_id("acme");
    start.set_idp_id(idp_id_);
    v1::SyncRun run;
    grpc::ClientContext ctx3;
    st = sync->StartSync(&ctx3, start, &run);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (int i = 0; i < 300 && run.state() != v1::SUCCEEDED && run.state() != v1::FAILED; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      v1::GetSyncRunRequest get;
      get.set_tenant_id("acme");
      get.set_run_id(run.run_id());
      grpc::ClientContext c;
      ASSERT_TRUE(sync->GetSyncRun(&c, get, &run).ok());
    }
    ASSERT_EQ(run.state(), v1::SUCCEEDED) << sync_->Log();
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    pqxx::result users = tx.exec(
        "SELECT dingtalk_userid, user_id::text FROM users WHERE status = 1 AND active ORDER BY dingtalk_userid LIMIT 3");
    ASSERT_EQ(users.size(), 3u);
    for (const auto& row : users) users_.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection c(db_->dsn());
    pqxx::read_transaction tx(c);
    return tx.exec1(sql)[0].as<int64_t>();
  }
  void Exec(const std::string& sql) {
    pqxx::connection c(db_->dsn());
    pqxx::work tx(c);
    tx.exec0(sql);
    tx.commit();
  }
  // Rows a logon may not touch (everything but login_nonces / login_signing_keys).
  std::string Footprint() {
    return absl::StrCat(Count("SELECT count(*) FROM change_log"), "/", Count("SELECT count(*) FROM users"), "/",
                        Count("SELECT coalesce(sum(version), 0) FROM users"), "/",
                        Count("SELECT coalesce(sum(version), 0) FROM identity_sources"), "/",
                        Count("SELECT count(*) FROM event_inbox"));
  }

  std::string StartUrl(const std::string& redirect = kClientRedirect, const std::string& client_state = "cs-1") {
    return absl::StrCat(base_, "/dingtalk/login/", idp_id_, "?redirect_uri=", curl_easy_escape(nullptr, redirect.c_str(), 0),
                        "&state=", client_state);
  }

  // Browser OAuth up to DingTalk's redirect back to our callback (the URL, not yet fetched).
  std::string AuthorizeAs(const std::string& userid, const std::string& start_url) {
    HttpResult start = Http("GET", start_url);
    EXPECT_EQ(start.status, 302) << start.body;
    const std::string authorize = start.Header("location");
    EXPECT_THAT(authorize, StartsWith(sim_url_ + "/oauth2/auth?"));
    HttpResult dt = Http("GET", absl::StrCat(authorize, "&sim_userid=", userid));
    EXPECT_EQ(dt.status, 302) << dt.body;
    return dt.Header("location");
  }

  std::string Jwks() { return Http("GET", base_ + "/.well-known/jwks.json").body; }

  // The reason code of a refusal asked as JSON.
  std::string ReasonOf(const HttpResult& r) {
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("error", "<none: " + r.body + ">") : "<not json: " + r.body + ">";
  }

  int sim_users_ = 40, sim_departments_ = 6;
  std::unique_ptr<store::testing::TestDatabase> db_;
  std::unique_ptr<testing::Subprocess> sim_, sync_, ingress_;
  std::shared_ptr<grpc::Channel> channel_;
  int sim_port_ = 0, sync_port_ = 0, http_port_ = 0, sync_starts_ = 0;
  std::string sim_url_, base_, idp_id_;
  std::vector<std::pair<std::string, std::string>> users_;  // dingtalk_userid, user_id
};

TEST_F(LoginE2eTest, DiscoveryListsEnabledSourcesAndLooksTheSameForUnknownEnterprises) {
  HttpResult r = Http("GET", base_ + "/dingtalk/login?enterprise=ACME-corp&redirect_uri=" + kClientRedirect);
  ASSERT_EQ(r.status, 200) << r.body;
  nlohmann::json j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["identity_sources"].size(), 1u) << r.body;
  EXPECT_EQ(j["identity_sources"][0]["title"], "Acme DingTalk");
  EXPECT_EQ(j["identity_sources"][0]["idp_id"], idp_id_);
  EXPECT_THAT(j["identity_sources"][0]["login_url"].get<std::string>(),
              StartsWith(base_ + "/dingtalk/login/" + idp_id_ + "?redirect_uri="));
  EXPECT_EQ(r.Header("cache-control"), "no-store");

  HttpResult unknown = Http("GET", base_ + "/dingtalk/login?enterprise=nobody-here");
  ASSERT_EQ(unknown.status, 200);
  nlohmann::json u = nlohmann::json::parse(unknown.body);
  EXPECT_EQ(u["identity_sources"], nlohmann::json::array());
  EXPECT_EQ(u.size(), j.size());  // same shape

  HttpResult html = Http("GET", base_ + "/dingtalk/login?enterprise=acme-corp", "", {"Accept: text/html"});
  EXPECT_EQ(html.status, 200);
  EXPECT_THAT(html.Header("content-type"), HasSubstr("text/html"));
  EXPECT_THAT(html.body, HasSubstr("Acme DingTalk"));
  EXPECT_THAT(html.Header("content-security-policy"), HasSubstr("frame-ancestors 'none'"));

  EXPECT_EQ(ReasonOf(Http("GET", base_ + "/dingtalk/login")), "enterprise_required");
  EXPECT_EQ(ReasonOf(Http("GET", base_ + "/dingtalk/login?enterprise=%3Cx%3E")), "enterprise_invalid");
}

TEST_F(LoginE2eTest, BrowserOAuthEndsOnTheClientRedirectWithAnAssertionVerifiableFromJwks) {
  const auto& [userid, user_id] = users_[0];
  const std::string before = Footprint();
  HttpResult start = Http("GET", StartUrl());
  ASSERT_EQ(start.status, 302);
  EXPECT_EQ(start.Header("cache-control"), "no-store");
  EXPECT_EQ(start.Header("referrer-policy"), "no-referrer");
  std::map<std::string, std::string> q = QueryOf(start.Header("location"));
  EXPECT_EQ(q["client_id"], kAppKey);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["scope"], "openid corpid");
  EXPECT_EQ(q["prompt"], "consent");
  EXPECT_EQ(q["redirect_uri"], base_ + "/open-dev/dingtalk");
  EXPECT_FALSE(q["state"].empty());
  EXPECT_EQ(q.count("exclusiveLogin"), 0u);

  const std::string callback = AuthorizeAs(userid, StartUrl());
  ASSERT_THAT(callback, StartsWith(base_ + "/open-dev/dingtalk?"));
  HttpResult done = Http("GET", callback);
  ASSERT_EQ(done.status, 302) << done.body;
  const std::string location = done.Header("location");
  ASSERT_THAT(location, StartsWith(std::string(kClientRedirect) + "#"));
  std::map<std::string, std::string> f = FragmentOf(location);
  EXPECT_EQ(f["token_type"], "Bearer");
  EXPECT_EQ(f["state"], "cs-1");
  EXPECT_LE(std::stoi(f["expires_in"]), 300);

  std::string error;
  nlohmann::json claims = VerifyWithJwks(Jwks(), f["assertion"], &error);
  ASSERT_TRUE(claims.is_object()) << error;
  EXPECT_EQ(claims["sub"], user_id);
  EXPECT_EQ(claims["dingtalk_userid"], userid);
  EXPECT_EQ(claims["tenant"], "acme");
  EXPECT_EQ(claims["idp"], idp_id_);
  EXPECT_LE(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 300);
  EXPECT_FALSE(claims["jti"].get<std::string>().empty());
  EXPECT_TRUE(claims["dept_ids"].is_array());
  EXPECT_EQ(Footprint(), before);  // a logon writes no directory row

  // The same DingTalk redirect again (a replayed URL): the state's nonce is spent.
  HttpResult replay = Http("GET", callback, "", {"Accept: application/json"});
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(ReasonOf(replay), "state_reused");
  EXPECT_EQ(Count("SELECT count(*) FROM login_nonces"), 1);
  // The refusal page for a browser names the reason too.
  HttpResult page = Http("GET", callback, "", {"Accept: text/html"});
  EXPECT_THAT(page.body, HasSubstr("state_reused"));
  EXPECT_EQ(page.Header("x-frame-options"), "DENY");
}

TEST_F(LoginE2eTest, NativeClientRedirectAndDedicatedDingTalk) {
  // A private-use scheme redirect of a native SASE client.
  HttpResult done = Http("GET", AuthorizeAs(users_[1].first, StartUrl(kNativeRedirect, "n1")));
  ASSERT_EQ(done.status, 302) << done.body;
  EXPECT_THAT(done.Header("location"), StartsWith(std::string(kNativeRedirect) + "#assertion="));

  auto idp = v1::IdentitySourceService::NewStub(channel_);
  v1::UpdateIdentitySourceRequest up;
  up.set_tenant_id("acme");
  up.mutable_identity_source()->set_dingtalk_type(v1::DEDICATED);
  up.mutable_update_mask()->add_paths("dingtalk_type");
  up.mutable_identity_source()->set_idp_id(idp_id_);
  v1::IdentitySource updated;
  grpc::ClientContext ctx;
  ASSERT_TRUE(idp->UpdateIdentitySource(&ctx, up, &updated).ok());
  HttpResult start = Http("GET", StartUrl());
  std::map<std::string, std::string> q = QueryOf(start.Header("location"));
  EXPECT_EQ(q["exclusiveLogin"], "true");
  EXPECT_EQ(q["exclusiveCorpId"], kCorpId);
  HttpResult dedicated = Http("GET", AuthorizeAs(users_[2].first, StartUrl()));
  EXPECT_EQ(dedicated.status, 302) << dedicated.body;
  EXPECT_THAT(dedicated.Header("location"), StartsWith(std::string(kClientRedirect) + "#assertion="));
}

TEST_F(LoginE2eTest, FreeLoginInsideDingTalk) {
  HttpResult page = Http("GET", base_ + "/ui/dingAuth/?idp_id=" + idp_id_, "", {"Accept: text/html"});
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(page.body, HasSubstr(sim_url_ + "/dingtalk.open.js"));
  EXPECT_THAT(page.Header("content-security-policy"), HasSubstr("script-src 'nonce-"));
  EXPECT_THAT(page.Header("content-security-policy"), HasSubstr(sim_url_));
  EXPECT_THAT(page.Header("content-security-policy"), HasSubstr("connect-src 'self'"));
  const size_t at = page.body.find("state: \"");
  ASSERT_NE(at, std::string::npos);
  const std::string state = page.body.substr(at + 8, page.body.find('"', at + 8) - at - 8);

  HttpResult issued = Http("POST", sim_url_ + "/admin/free_login_codes",
                           nlohmann::json{{"userid", users_[0].first}}.dump(), {"Content-Type: application/json"});
  const std::string code = nlohmann::json::parse(issued.body)["code"];
  HttpResult done = Http("POST", base_ + "/ui/dingAuth/login", nlohmann::json{{"code", code}, {"state", state}}.dump(),
                         {"Content-Type: application/json"});
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string redirect = nlohmann::json::parse(done.body)["redirect"];
  ASSERT_THAT(redirect, StartsWith(std::string(kClientRedirect) + "#assertion="));
  std::string error;
  nlohmann::json claims = VerifyWithJwks(Jwks(), FragmentOf(redirect)["assertion"], &error);
  ASSERT_TRUE(claims.is_object()) << error;
  EXPECT_EQ(claims["dingtalk_userid"], users_[0].first);

  // The homepage posts JSON only (a cross-site form cannot), and a used code is refused.
  HttpResult form = Http("POST", base_ + "/ui/dingAuth/login", "code=x&state=y",
                         {"Content-Type: application/x-www-form-urlencoded"});
  EXPECT_EQ(ReasonOf(form), "bad_request");
  HttpResult page2 = Http("GET", base_ + "/ui/dingAuth/?idp_id=" + idp_id_, "", {"Accept: text/html"});
  const size_t at2 = page2.body.find("state: \"");
  const std::string state2 = page2.body.substr(at2 + 8, page2.body.find('"', at2 + 8) - at2 - 8);
  HttpResult reused = Http("POST", base_ + "/ui/dingAuth/login", nlohmann::json{{"code", code}, {"state", state2}}.dump(),
                           {"Content-Type: application/json"});
  EXPECT_EQ(ReasonOf(reused), "code_invalid");
  // An OAuth state cannot finish a free login, nor the reverse.
  HttpResult wrong_flow = Http("POST", base_ + "/ui/dingAuth/login",
                               nlohmann::json{{"code", code}, {"state", QueryOf(Http("GET", StartUrl()).Header("location"))["state"]}}.dump(),
                               {"Content-Type: application/json"});
  EXPECT_EQ(ReasonOf(wrong_flow), "state_invalid");
}

TEST_F(LoginE2eTest, QrPageEmbedsTheConfiguredScriptUnderAStrictPolicy) {
  HttpResult qr = Http("GET", base_ + "/dingtalk/login/" + idp_id_ + "/qr?redirect_uri=" + kClientRedirect);
  ASSERT_EQ(qr.status, 200) << qr.body;
  EXPECT_THAT(qr.body, HasSubstr("DTFrameLogin"));
  EXPECT_THAT(qr.body, HasSubstr("src=\"" + sim_url_ + "/ddlogin.js?auto=1\""));
  const std::string csp = qr.Header("content-security-policy");
  EXPECT_THAT(csp, HasSubstr("script-src 'nonce-"));
  EXPECT_THAT(csp, HasSubstr(sim_url_));
  EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_EQ(qr.Header("cache-control"), "no-store");
  // The QR flow's state completes through the same callback.
  const size_t at = qr.body.find("state: \"");
  const std::string state = qr.body.substr(at + 8, qr.body.find('"', at + 8) - at - 8);
  HttpResult issued = Http("POST", sim_url_ + "/admin/auth_codes", nlohmann::json{{"userid", users_[1].first}}.dump(),
                           {"Content-Type: application/json"});
  const std::string code = nlohmann::json::parse(issued.body)["authCode"];
  HttpResult done = Http("GET", absl::StrCat(base_, "/open-dev/dingtalk?authCode=", code, "&state=",
                                             curl_easy_escape(nullptr, state.c_str(), 0)));
  EXPECT_EQ(done.status, 302) << done.body;
  EXPECT_THAT(done.Header("location"), StartsWith(std::string(kClientRedirect) + "#assertion="));
}

TEST_F(LoginE2eTest, EveryRefusalNamesItsReasonAndWritesNothingButTheNonce) {
  const std::string before = Footprint();
  auto json = std::vector<std::string>{"Accept: application/json"};
  auto callback_with = [&](const std::string& code, const std::string& state) {
    return Http("GET",
                absl::StrCat(base_, "/open-dev/dingtalk?code=", code, "&state=", curl_easy_escape(nullptr, state.c_str(), 0)),
                "", json);
  };
  auto fresh_state = [&](const std::string& redirect = kClientRedirect) {
    return QueryOf(Http("GET", StartUrl(redirect)).Header("location"))["state"];
  };
  // Start refusals (nothing consumed).
  EXPECT_EQ(ReasonOf(Http("GET", base_ + "/dingtalk/login/" + idp_id_, "", json)), "redirect_uri_required");
  EXPECT_EQ(ReasonOf(Http("GET", StartUrl("https://evil.example/cb"), "", json)), "redirect_not_allowed");
  HttpResult unknown = Http("GET", base_ + "/dingtalk/login/00000000-0000-4000-8000-000000000000?redirect_uri=x", "", json);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ReasonOf(unknown), "idp_unknown");
  // State refusals.
  EXPECT_EQ(ReasonOf(callback_with("c", "garbage")), "state_invalid");
  std::string tampered = fresh_state();
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ReasonOf(callback_with("c", tampered)), "state_invalid");
  absl::StatusOr<login::StateSigner> signer = login::StateSigner::FromKeys({kStateKey});
  ASSERT_TRUE(signer.ok());
  const absl::Time long_ago = absl::Now() - absl::Minutes(20);
  EXPECT_EQ(ReasonOf(callback_with("c", signer->Issue({idp_id_, kClientRedirect, "", "", v1::OAUTH, long_ago,
                                                      long_ago + absl::Minutes(10)}))),
            "state_expired");
  // A state minted with our key but a redirect sync_worker does not allow: refused there too.
  EXPECT_EQ(ReasonOf(callback_with("c", signer->Issue({idp_id_, "https://evil.example/cb", "", "", v1::OAUTH,
                                                      absl::Now(), absl::Now() + absl::Minutes(5)}))),
            "redirect_not_allowed");
  EXPECT_EQ(ReasonOf(Http("GET", base_ + "/open-dev/dingtalk?error=access_denied&state=" +
                                     curl_easy_escape(nullptr, fresh_state().c_str(), 0),
                          "", json)),
            "dingtalk_denied");
  // Code refusals.
  EXPECT_EQ(ReasonOf(callback_with("not-a-code", fresh_state())), "code_invalid");
  {
    HttpResult issued = Http("POST", sim_url_ + "/admin/auth_codes", nlohmann::json{{"userid", users_[0].first}}.dump(),
                             {"Content-Type: application/json"});
    const std::string code = nlohmann::json::parse(issued.body)["authCode"];
    Http("POST", sim_url_ + "/admin/codes/expire", "{}", {"Content-Type: application/json"});
    EXPECT_EQ(ReasonOf(callback_with(code, fresh_state())), "code_expired");
  }
  // User refusals.
  auto code_for = [&](const std::string& userid) {
    HttpResult issued = Http("POST", sim_url_ + "/admin/auth_codes", nlohmann::json{{"userid", userid}}.dump(),
                             {"Content-Type: application/json"});
    return nlohmann::json::parse(issued.body)["authCode"].get<std::string>();
  };
  Exec("UPDATE users SET status = 3 WHERE dingtalk_userid = '" + users_[1].first + "'");
  EXPECT_EQ(ReasonOf(callback_with(code_for(users_[1].first), fresh_state())), "user_departed");
  Exec("UPDATE users SET status = 2 WHERE dingtalk_userid = '" + users_[2].first + "'");
  EXPECT_EQ(ReasonOf(callback_with(code_for(users_[2].first), fresh_state())), "user_disabled");
  Exec("UPDATE users SET status = 1 WHERE dingtalk_userid IN ('" + users_[1].first + "', '" + users_[2].first + "')");
  const std::string footprint = Footprint();  // the test's own updates above bumped nothing it counts
  // In DingTalk but never synced: added after the sync, no event delivered.
  HttpResult added = Http("POST", sim_url_ + "/admin/users/add",
                          nlohmann::json{{"userid", "late-joiner"}, {"name", "Late"}, {"dept_id_list", {1}}}.dump(),
                          {"Content-Type: application/json"});
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(ReasonOf(callback_with(code_for("late-joiner"), fresh_state())), "user_not_synced");
  // Left DingTalk between consent and the exchange: users/me no longer knows the account.
  const std::string leaving = code_for(users_[0].first);
  Http("POST", sim_url_ + "/admin/users/remove", nlohmann::json{{"userid", users_[0].first}}.dump(),
       {"Content-Type: application/json"});
  EXPECT_EQ(ReasonOf(callback_with(leaving, fresh_state())), "not_member_of_corp");
  // DingTalk down.
  Http("POST", sim_url_ + "/admin/faults", R"({"error_rate":1})", {"Content-Type: application/json"});
  HttpResult down = callback_with(code_for(users_[2].first), fresh_state());
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(ReasonOf(down), "dingtalk_unavailable");
  Http("POST", sim_url_ + "/admin/faults", R"({"error_rate":0})", {"Content-Type: application/json"});
  // A closed source: start and callback both refuse.
  const std::string before_close = fresh_state();
  Exec("UPDATE identity_sources SET status = 2");
  EXPECT_EQ(ReasonOf(Http("GET", StartUrl(), "", json)), "idp_closed");
  EXPECT_EQ(ReasonOf(callback_with(code_for(users_[2].first), before_close)), "idp_closed");
  EXPECT_EQ(Footprint(), footprint);
  EXPECT_NE(before, "");
  // Each attempt that got past the source checks consumed exactly its nonce: code_invalid,
  // code_expired, user_departed, user_disabled, user_not_synced, not_member_of_corp,
  // dingtalk_unavailable (idp_closed and redirect_not_allowed are refused before).
  EXPECT_EQ(Count("SELECT count(*) FROM login_nonces"), 7);
  // Logs carry no code, token or state.
  const std::string logs = ingress_->Log() + sync_->Log();
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(leaving)));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(before_close)));
  EXPECT_THAT(logs, HasSubstr("\"reason\":\"user_departed\""));
}

TEST_F(LoginE2eTest, RotationKeepsThePreviousKeyPublishedUntilItsAssertionsExpire) {
  const std::string old_jwks = Jwks();
  nlohmann::json old_doc = nlohmann::json::parse(old_jwks);
  ASSERT_EQ(old_doc["keys"].size(), 1u) << old_jwks;
  const std::string old_kid = old_doc["keys"][0]["kid"];
  HttpResult done = Http("GET", AuthorizeAs(users_[0].first, StartUrl()));
  const std::string assertion = FragmentOf(done.Header("location"))["assertion"];
  ASSERT_FALSE(assertion.empty()) << done.body;

  // Rotate: sync_worker restarts with a new key file. The published set lives in PostgreSQL, so
  // the previous key stays in the JWKS although no process holds it any more.
  const std::string key_file = absl::StrCat(::testing::TempDir(), "/login_e2e_key_", getpid(), ".pem");
  ASSERT_EQ(std::system(("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + key_file +
                         " 2>/dev/null").c_str()),
            0);
  sync_->Stop();
  StartSyncWorker({"--login_signing_key_files=" + key_file});
  // ingress reconnects to the restarted sync_worker within a few seconds.
  std::string both;
  for (int i = 0; i < 100 && !absl::StrContains(both = Jwks(), "\"keys\""); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(nlohmann::json::parse(both)["keys"].size(), 2u) << both;
  std::string error;
  EXPECT_TRUE(VerifyWithJwks(both, assertion, &error).is_object()) << error;  // old assertions still verify
  HttpResult fresh = Http("GET", AuthorizeAs(users_[1].first, StartUrl()));
  const std::string new_assertion = FragmentOf(fresh.Header("location"))["assertion"];
  EXPECT_TRUE(VerifyWithJwks(both, new_assertion, &error).is_object()) << error;

  // Once the old key's last use is longer ago than an assertion lives, it is no longer published.
  Exec("UPDATE login_signing_keys SET last_used_at = now() - interval '10 minutes' WHERE kid = '" + old_kid + "'");
  const std::string one = Jwks();
  EXPECT_EQ(nlohmann::json::parse(one)["keys"].size(), 1u) << one;
  EXPECT_THAT(one, ::testing::Not(HasSubstr(old_kid)));
  EXPECT_FALSE(VerifyWithJwks(one, assertion, &error).is_object());
}

class LoginUnderSyncLoadTest : public LoginE2eTest {
 protected:
  void SetUp() override {
    sim_users_ = 3000;
    sim_departments_ = 60;
    LoginE2eTest::SetUp();
  }
};

// A full sync keeps sync_worker's DingTalk rate limit saturated (the process cap at 10 calls/s,
// eight fetch workers waiting on it) while people log on: each logon's three calls take the
// interactive lane's reserved tokens instead of queueing behind the sync.
TEST_F(LoginUnderSyncLoadTest, ASaturatingFullSyncNeverDelaysALogon) {
  sync_->Stop();
  StartSyncWorker({"--dingtalk_process_qps=10"});
  for (int i = 0; i < 100 && Http("GET", base_ + "/.well-known/jwks.json").status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto sync = v1::SyncService::NewStub(channel_);
  v1::StartSyncRequest start;
  start.set_tenant_id("acme");
  start.set_idp_id(idp_id_);
  v1::SyncRun run;
  grpc::ClientContext ctx;
  ASSERT_TRUE(sync->StartSync(&ctx, start, &run).ok());
  auto state = [&] {
    v1::GetSyncRunRequest get;
    get.set_tenant_id("acme");
    get.set_run_id(run.run_id());
    grpc::ClientContext c;
    v1::SyncRun r;
    EXPECT_TRUE(sync->GetSyncRun(&c, get, &r).ok());
    return r;
  };
  for (int i = 0; i < 100 && state().progress().users_done() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const std::string callback = AuthorizeAs(users_[static_cast<size_t>(i % 3)].first, StartUrl());
    const absl::Time t0 = absl::Now();
    HttpResult done = Http("GET", callback);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    EXPECT_EQ(done.status, 302) << done.body;
    EXPECT_THAT(done.Header("location"), StartsWith(std::string(kClientRedirect) + "#assertion="));
  }
  const v1::SyncRun during = state();
  EXPECT_TRUE(during.state() == v1::FETCHING || during.state() == v1::APPLYING)
      << "the sync ended before the logons: it did not load the limiter (" << v1::SyncRunState_Name(during.state())
      << ")";
  for (double m : ms) EXPECT_LT(m, 1500) << "a logon waited behind the bulk sync";
}

// The pages in a real browser: headless Chromium loads each page, runs its scripts (DingTalk's
// stand-ins from the simulator), follows the redirects and lands on the simulator's demo client,
// which shows the claims of the assertion it received. --dump-dom prints that final document.
std::string RenderInChromium(const std::string& url) {
  const std::string profile = absl::StrCat(::testing::TempDir(), "/chromium_", getpid(), "_", rand());
  const std::string cmd = absl::StrCat(
      "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run ",
      "--disable-extensions --user-data-dir=", profile, " --virtual-time-budget=10000 --dump-dom '", url,
      "' 2>/dev/null; rm -rf ", profile);
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    pclose(f);
  }
  return out;
}

TEST_F(LoginE2eTest, PagesWorkInHeadlessChromium) {
  ASSERT_EQ(std::system("command -v chromium >/dev/null"), 0) << "chromium is missing: run scripts/install_deps.sh";
  const std::string demo = curl_easy_escape(nullptr, (sim_url_ + "/demo/client").c_str(), 0);
  // Discovery: the logon title.
  std::string dom = RenderInChromium(base_ + "/dingtalk/login?enterprise=acme-corp");
  EXPECT_THAT(dom, HasSubstr("Acme DingTalk")) << dom;
  // QR: the stand-in script loads under the page's CSP, "scans", and the page completes the logon.
  dom = RenderInChromium(absl::StrCat(base_, "/dingtalk/login/", idp_id_, "/qr?redirect_uri=", demo));
  EXPECT_THAT(dom, HasSubstr("Logged on.")) << dom;
  EXPECT_THAT(dom, HasSubstr("\"idp\": \"" + idp_id_ + "\"")) << dom;
  // Free login: the homepage asks the JSAPI stand-in for a code and posts it.
  dom = RenderInChromium(absl::StrCat(base_, "/ui/dingAuth/?idp_id=", idp_id_, "&redirect_uri=", demo));
  EXPECT_THAT(dom, HasSubstr("Logged on.")) << dom;
  EXPECT_THAT(dom, HasSubstr("\"tenant\": \"acme\"")) << dom;
  // Browser OAuth through the simulator's account picker is a chain of 302s plus one click; the
  // picker's first link is followed here by opening it directly.
  HttpResult start = Http("GET", absl::StrCat(base_, "/dingtalk/login/", idp_id_, "?redirect_uri=", demo));
  dom = RenderInChromium(start.Header("location") + "&sim_userid=" + users_[0].first);
  EXPECT_THAT(dom, HasSubstr("\"dingtalk_userid\": \"" + users_[0].first + "\"")) << dom;
}

}  // namespace
}  // namespace sase

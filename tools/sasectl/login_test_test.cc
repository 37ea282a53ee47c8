// login-test's pure parts: fragments, the homepage state, refusals, and verifying assertions
// signed here at test time (OpenSSL P-256 key, cjose JWK and JWS) and by the server's own signer.
#include "sasectl/login_test.h"

#include <cjose/cjose.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "login/assertion_signer.h"

namespace sase::sasectl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1800000000;  // 2027-01-15T08:00:00Z

absl::Time Now() { return absl::FromUnixSeconds(kNow); }

// A P-256 key generated with OpenSSL, held as a cjose JWK.
class TestKey {
 public:
  TestKey() {
    EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    std::array<uint8_t, 32> d{}, x{}, y{};
    BIGNUM *bd = nullptr, *bx = nullptr, *by = nullptr;
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bd);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by);
    BN_bn2binpad(bd, d.data(), 32);
    BN_bn2binpad(bx, x.data(), 32);
    BN_bn2binpad(by, y.data(), 32);
    BN_free(bd);
    BN_free(bx);
    BN_free(by);
    EVP_PKEY_free(pkey);
    cjose_jwk_ec_keyspec spec{};
    spec.crv = CJOSE_JWK_EC_P_256;
    spec.d = d.data();
    spec.dlen = d.size();
    spec.x = x.data();
    spec.xlen = x.size();
    spec.y = y.data();
    spec.ylen = y.size();
    jwk_ = cjose_jwk_create_EC_spec(&spec, nullptr);
  }
  ~TestKey() { cjose_jwk_release(jwk_); }
  TestKey(const TestKey&) = delete;
  TestKey& operator=(const TestKey&) = delete;

  bool ok() const { return jwk_ != nullptr; }

  // The public JWK with this kid.
  json PublicJwk(const std::string& kid) const {
    char* text = cjose_jwk_to_json(jwk_, false, nullptr);
    json j = json::parse(text);
    cjose_get_dealloc()(text);
    j["kid"] = kid;
    j["use"] = "sig";
    j["alg"] = "ES256";
    return j;
  }

  // A compact JWS over `claims`; kid omitted when empty.
  std::string Sign(const json& claims, const std::string& kid) const {
    cjose_header_t* header = cjose_header_new(nullptr);
    cjose_header_set(header, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, nullptr);
    if (!kid.empty()) cjose_header_set(header, CJOSE_HDR_KID, kid.c_str(), nullptr);
    const std::string payload = claims.dump();
    cjose_jws_t* jws = cjose_jws_sign(jwk_, header, reinterpret_cast<const uint8_t*>(payload.data()),
                                      payload.size(), nullptr);
    const char* compact = nullptr;
    std::string out = jws != nullptr && cjose_jws_export(jws, &compact, nullptr) ? compact : "";
    cjose_jws_release(jws);
    cjose_header_release(header);
    return out;
  }

 private:
  cjose_jwk_t* jwk_ = nullptr;
};

json Claims(int64_t iat, int64_t exp) {
  return {{"iss", "sase-dingtalk"}, {"aud", "sase-client"}, {"sub", "u-1"},  {"tenant", "demo"},
          {"idp", "idp-1"},         {"dingtalk_userid", "manager1"},      {"name", "王小明"},
          {"dept_ids", {1, 23}},    {"iat", iat},                         {"exp", exp},
          {"jti", "j-1"}};
}

std::string Jwks(const std::vector<json>& keys) {
  json doc = {{"keys", json::array()}};
  for (const json& k : keys) doc["keys"].push_back(k);
  return doc.dump();
}

TEST(SasectlLoginTestTest, ParsesTheFragment) {
  std::map<std::string, std::string> f =
      ParseFragment("https://c.example/cb?x=1#assertion=a.b.c&token_type=Bearer&state=x%20y+z&expires_in=300");
  EXPECT_EQ(f["assertion"], "a.b.c");
  EXPECT_EQ(f["token_type"], "Bearer");
  EXPECT_EQ(f["state"], "x y z");
  EXPECT_EQ(f["expires_in"], "300");
  EXPECT_EQ(f.count("x"), 0u);
  EXPECT_TRUE(ParseFragment("https://c.example/cb").empty());
  EXPECT_EQ(ParseFragment("u#k=%zz%4")["k"], "%zz%4");  // broken escapes stay as they are
}

TEST(SasectlLoginTestTest, ChecksTheClientRedirect) {
  const std::string uri = "http://127.0.0.1:18090/demo/client";
  auto ok = CheckClientRedirect(uri + "#assertion=h.p.s&token_type=Bearer&expires_in=299&state=sasectl-1", uri,
                                "sasectl-1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->assertion, "h.p.s");
  EXPECT_EQ(ok->expires_in, 299);
  EXPECT_FALSE(CheckClientRedirect("https://evil.example/#assertion=h.p.s&token_type=Bearer&expires_in=1&state=s",
                                   uri, "s").ok());
  EXPECT_THAT(CheckClientRedirect(uri + "#assertion=h.p.s&token_type=Bearer&expires_in=1&state=other", uri, "s")
                  .status().message(), HasSubstr("state"));
  EXPECT_FALSE(CheckClientRedirect(uri + "#token_type=Bearer&expires_in=1&state=s", uri, "s").ok());
  EXPECT_FALSE(CheckClientRedirect(uri + "#assertion=a&token_type=Basic&expires_in=1&state=s", uri, "s").ok());
}

TEST(SasectlLoginTestTest, ExtractsTheStateFromTheHomepage) {
  const std::string page =
      "<script>\n(function () {\n  var cfg = {corpId: \"ding1\", clientId: \"k\", state: \"v1.abc\\u002d_9\", "
      "endpoint: \"/ui/dingAuth/login\"};\n  post({code: code, state: cfg.state});\n})();</script>";
  auto state = ExtractPageState(page);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, "v1.abc-_9");
  EXPECT_EQ(*ExtractPageState(R"({"state":"from-json"})"), "from-json");
  EXPECT_EQ(*ExtractPageState("var o = {client_state: \"no\", state:\"yes\"};"), "yes");
  EXPECT_FALSE(ExtractPageState("<p>Open this page inside DingTalk.</p> state: cfg.state").ok());
  EXPECT_FALSE(ExtractPageState("state: \"unterminated").ok());
}

TEST(SasectlLoginTestTest, RefusalsNameTheReasonCode) {
  absl::Status s = RefusalFromReply(400, R"({"error":"redirect_not_allowed","message":"Not registered."})", "start");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "login refused: redirect_not_allowed (Not registered.)");
  EXPECT_EQ(RefusalFromReply(404, R"({"error":"idp_unknown","message":"m"})", "start").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(RefusalFromReply(403, R"({"error":"user_departed","message":"m"})", "cb").code(),
            absl::StatusCode::kPermissionDenied);
  // The HTML refusal page (a homepage asked for text/html).
  absl::Status html = RefusalFromReply(
      403, "<h1>Logon refused</h1>\n<p id=\"message\">Logon &amp; more.</p>\n<p>Reason code: <code id=\"reason\">"
           "idp_closed</code></p>", "homepage");
  EXPECT_EQ(html.message(), "login refused: idp_closed (Logon & more.)");
  absl::Status other = RefusalFromReply(502, "Bad Gateway", "jwks");
  EXPECT_EQ(other.message(), "jwks: unexpected HTTP 502");
  EXPECT_THAT(std::string(other.message()), Not(HasSubstr(kLoginRefusedPrefix)));
}

TEST(SasectlLoginTestTest, SimulatorAuthorizeErrors) {
  EXPECT_EQ(AuthorizePageError("<p id=\"sim-error\">Invalid request: parameter <code>sim_userid</code> is not a "
                               "user of the organisation.</p>"),
            "Invalid request: parameter sim_userid is not a user of the organisation.");
  EXPECT_EQ(AuthorizePageError("<h1>Pick a user</h1>"), "");
  EXPECT_EQ(JsonStringField(R"({"code":"c1","n":1})", "code"), "c1");
  EXPECT_EQ(JsonStringField(R"({"n":1})", "n"), "");
  EXPECT_EQ(JsonStringField("not json", "code"), "");
}

TEST(SasectlLoginTestTest, DecodesWithoutVerifying) {
  TestKey key;
  ASSERT_TRUE(key.ok());
  auto decoded = DecodeJws(key.Sign(Claims(kNow, kNow + 300), "k1"));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->header["alg"], "ES256");
  EXPECT_EQ(decoded->header["kid"], "k1");
  EXPECT_EQ(decoded->claims["name"], "王小明");
  EXPECT_FALSE(DecodeJws("a.b").ok());
  EXPECT_FALSE(DecodeJws("!!.e30.x").ok());
  EXPECT_FALSE(DecodeJws(absl::WebSafeBase64Escape("[1]") + ".e30.x").ok());
}

TEST(SasectlLoginTestTest, VerifiesWithTheKeyTheHeaderNames) {
  TestKey key, other;
  ASSERT_TRUE(key.ok() && other.ok());
  const std::string jwks = Jwks({other.PublicJwk("k0"), key.PublicJwk("k1")});
  const std::string token = key.Sign(Claims(kNow - 10, kNow + 290), "k1");
  auto ok = VerifyAssertion(token, jwks, Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->kid, "k1");
  EXPECT_EQ(ok->claims["sub"], "u-1");
  EXPECT_EQ(ok->claims["dept_ids"], json({1, 23}));

  std::string tampered = token;
  char& c = tampered[tampered.size() - 3];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(VerifyAssertion(tampered, jwks, Now()).status().code(), absl::StatusCode::kPermissionDenied);
  // The payload swapped for another one: the signature no longer covers it.
  const std::string forged = token.substr(0, token.find('.') + 1) +
                             absl::WebSafeBase64Escape(Claims(kNow, kNow + 9999).dump()) +
                             token.substr(token.rfind('.'));
  EXPECT_EQ(VerifyAssertion(forged, jwks, Now()).status().code(), absl::StatusCode::kPermissionDenied);
  // Signed by another key under the same kid.
  EXPECT_FALSE(VerifyAssertion(token, Jwks({other.PublicJwk("k1")}), Now()).ok());
}

TEST(SasectlLoginTestTest, MissingKidOrUnknownKidFails) {
  TestKey key;
  ASSERT_TRUE(key.ok());
  const std::string jwks = Jwks({key.PublicJwk("k1")});
  EXPECT_EQ(VerifyAssertion(key.Sign(Claims(kNow, kNow + 300), ""), jwks, Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto unknown = VerifyAssertion(key.Sign(Claims(kNow, kNow + 300), "k2"), jwks, Now());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("k2"));
  // A kid-less key never matches a header without kid.
  json anonymous = key.PublicJwk("x");
  anonymous.erase("kid");
  EXPECT_FALSE(VerifyAssertion(key.Sign(Claims(kNow, kNow + 300), ""), Jwks({anonymous}), Now()).ok());
  EXPECT_FALSE(VerifyAssertion(key.Sign(Claims(kNow, kNow + 300), "k1"), "{}", Now()).ok());
  EXPECT_FALSE(VerifyAssertion(key.Sign(Claims(kNow, kNow + 300), "k1"), "not json", Now()).ok());
}

TEST(SasectlLoginTestTest, ChecksExpAndIat) {
  TestKey key;
  ASSERT_TRUE(key.ok());
  const std::string jwks = Jwks({key.PublicJwk("k1")});
  EXPECT_EQ(VerifyAssertion(key.Sign(Claims(kNow - 400, kNow), "k1"), jwks, Now()).status().code(),
            absl::StatusCode::kPermissionDenied);  // exp == now: expired
  EXPECT_TRUE(VerifyAssertion(key.Sign(Claims(kNow + 60, kNow + 360), "k1"), jwks, Now()).ok());
  EXPECT_EQ(VerifyAssertion(key.Sign(Claims(kNow + 61, kNow + 361), "k1"), jwks, Now()).status().code(),
            absl::StatusCode::kPermissionDenied);
  json no_exp = Claims(kNow, kNow + 300);
  no_exp.erase("exp");
  EXPECT_FALSE(VerifyAssertion(key.Sign(no_exp, "k1"), jwks, Now()).ok());
  json string_exp = Claims(kNow, kNow + 300);
  string_exp["exp"] = "soon";
  EXPECT_FALSE(VerifyAssertion(key.Sign(string_exp, "k1"), jwks, Now()).ok());  // no exception either
}

TEST(SasectlLoginTestTest, VerifiesWhatTheServersSignerProduces) {
  auto signer = login::AssertionSigner::Ephemeral();
  ASSERT_TRUE(signer.ok()) << signer.status();
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto token = (*signer)->Sign(Claims(now, now + 300));
  ASSERT_TRUE(token.ok()) << token.status();
  auto ok = VerifyAssertion(*token, login::JwksDocument((*signer)->PublicJwks()), absl::Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->kid, (*signer)->kid());
  EXPECT_EQ(ok->header["typ"], "JWT");
}

TEST(SasectlLoginTestTest, RendersClaimsInOrderAndNeverTheAssertion) {
  TestKey key;
  ASSERT_TRUE(key.ok());
  json claims = Claims(kNow, kNow + 300);
  claims["extra"] = true;
  const std::string token = key.Sign(claims, "k1");
  auto verified = VerifyAssertion(token, Jwks({key.PublicJwk("k1")}), Now());
  ASSERT_TRUE(verified.ok()) << verified.status();
  LoginTestResult r = MakeLoginTestResult(LoginFlow::kInApp, {token, "Bearer", 300}, *verified);
  const std::string text = RenderLoginTest(r);
  EXPECT_THAT(text, Not(HasSubstr(token)));
  EXPECT_THAT(text, HasSubstr(absl::StrCat(token.size(), " characters, starting ", token.substr(0, 12), "...")));
  EXPECT_THAT(text, HasSubstr("flow:             in_app\n"));
  EXPECT_THAT(text, HasSubstr("dept_ids:         1,23\n"));
  EXPECT_THAT(text, HasSubstr("iat:              2027-01-15T08:00:00Z\n"));
  EXPECT_THAT(text, HasSubstr("exp:              2027-01-15T08:05:00Z\n"));
  EXPECT_LT(text.find("iss:"), text.find("aud:"));
  EXPECT_LT(text.find("dingtalk_userid:"), text.find("name:"));
  EXPECT_LT(text.find("jti:"), text.find("extra:"));
  EXPECT_THAT(text, testing::EndsWith("\nsignature: verified with kid k1\n"));

  const std::string line = LoginTestJson(r);
  EXPECT_THAT(line, Not(HasSubstr(token)));
  json j = json::parse(line);
  EXPECT_EQ(j["claims"]["name"], "王小明");
  EXPECT_EQ(j["signature"]["kid"], "k1");
  EXPECT_EQ(j["signature"]["verified"], true);
  EXPECT_EQ(j["assertion_length"], token.size());
  EXPECT_EQ(j["flow"], "in_app");
}

}  // namespace
}  // namespace sase::sasectl

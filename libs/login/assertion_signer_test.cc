#include "login/assertion_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/c_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::login {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIssuer[] = "https://login.sase.example";
constexpr char kAudience[] = "sase-gateway";

using PkeyPtr = common::CPtr<EVP_PKEY, EVP_PKEY_free>;

PkeyPtr NewEcKey(const char* curve) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  EXPECT_NE(key, nullptr) << curve;
  return key;
}

PkeyPtr NewRsaKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  EXPECT_NE(key, nullptr);
  return key;
}

enum class PemForm { kPkcs8, kSec1, kEncryptedPkcs8 };

std::string ToPem(const EVP_PKEY* key, PemForm form = PemForm::kPkcs8) {
  common::CPtr<BIO, BIO_free_all> bio(BIO_new(BIO_s_mem()));
  int ok = 0;
  switch (form) {
    case PemForm::kPkcs8:
      ok = PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
      break;
    case PemForm::kSec1:
      ok = PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                                nullptr);
      break;
    case PemForm::kEncryptedPkcs8: {
      static unsigned char pass[] = "correct horse";
      ok = PEM_write_bio_PrivateKey(bio.get(), key, EVP_aes_256_cbc(), pass, sizeof(pass) - 1,
                                    nullptr, nullptr);
      break;
    }
  }
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

// base64url of the 32-byte big-endian affine coordinates, straight from OpenSSL.
std::pair<std::string, std::string> PublicXY(const EVP_PKEY* key) {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
  common::CPtr<BIGNUM, BN_free> xp(x), yp(y);
  unsigned char xb[32], yb[32];
  EXPECT_EQ(BN_bn2binpad(x, xb, 32), 32);
  EXPECT_EQ(BN_bn2binpad(y, yb, 32), 32);
  return {B64(absl::string_view(reinterpret_cast<char*>(xb), 32)),
          B64(absl::string_view(reinterpret_cast<char*>(yb), 32))};
}

// RFC 7638 thumbprint computed here, independently of the library.
std::string Rfc7638(const std::string& x, const std::string& y) {
  const std::string canonical =
      "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return B64(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

nlohmann::json DecodeSegment(const std::string& token, int index) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  EXPECT_EQ(parts.size(), 3u);
  std::string json;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(parts.at(static_cast<size_t>(index)), &json));
  return nlohmann::json::parse(json);
}

std::unique_ptr<AssertionSigner> SignerFor(const std::vector<std::string>& pems) {
  absl::StatusOr<std::unique_ptr<AssertionSigner>> signer = AssertionSigner::FromPem(pems);
  EXPECT_TRUE(signer.ok()) << signer.status();
  return signer.ok() ? *std::move(signer) : nullptr;
}

AssertionClaims SampleClaims() {
  AssertionClaims c;
  c.issuer = kIssuer;
  c.audience = kAudience;
  c.subject = "user-42";
  c.tenant = "tenant-1";
  c.idp = "idp-dingtalk-1";
  c.dingtalk_userid = "manager4711";
  c.name = "张三";
  c.department_ids = {1, 20, 9007199254740993};
  c.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  c.lifetime = absl::Minutes(5);
  return c;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "login_jwt_XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& contents) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << contents;
    return p;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(path_ + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct VerifierResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs testing/verify_jwt.py (PyJWT) with only the JWKS document and the token(s).
VerifierResult RunVerifier(const std::string& jwks, const std::string& tokens,
                           const std::string& aud, const std::string& iss = "",
                           bool batch = false) {
  TempDir dir;
  const std::string jwks_path = dir.Write("jwks.json", jwks);
  const std::string token_path = dir.Write("token", tokens);
  std::string cmd =
      absl::StrCat("'", SASE_LOGIN_PYTHON3, "' '", SASE_LOGIN_VERIFY_JWT, "' --jwks '", jwks_path,
                   "' --token '", token_path, "' --aud '", aud, "'");
  if (!iss.empty()) absl::StrAppend(&cmd, " --iss '", iss, "'");
  if (batch) absl::StrAppend(&cmd, " --batch");
  absl::StrAppend(&cmd, " >'", dir.path(), "/out' 2>'", dir.path(), "/err'");
  const int status = std::system(cmd.c_str());
  VerifierResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = dir.Read("out");
  r.err = dir.Read("err");
  return r;
}

class AssertionSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string probe =
        absl::StrCat("'", SASE_LOGIN_PYTHON3, "' -c 'import jwt, cryptography' 2>/dev/null");
    verifier_ok_ = std::system(probe.c_str()) == 0;
  }
  void SetUp() override {
    ASSERT_TRUE(verifier_ok_) << SASE_LOGIN_PYTHON3
                              << " cannot import jwt: install python3-jwt python3-cryptography "
                                 "(scripts/install_deps.sh) or set -DSASE_LOGIN_PYTHON3=...";
    key_a_ = NewEcKey("P-256");
    key_b_ = NewEcKey("P-256");
    pem_a_ = ToPem(key_a_.get());
    pem_b_ = ToPem(key_b_.get());
  }

  static bool verifier_ok_;
  PkeyPtr key_a_, key_b_;
  std::string pem_a_, pem_b_;
};
bool AssertionSignerTest::verifier_ok_ = false;

TEST_F(AssertionSignerTest, SignedAssertionVerifiesWithPyJwtThroughJwksOnly) {
  auto signer = SignerFor({pem_a_});
  ASSERT_NE(signer, nullptr);
  AssertionClaims claims = SampleClaims();
  claims.jti = "jti-fixed-1";
  absl::StatusOr<std::string> token = signer->Sign(ToJson(claims));
  ASSERT_TRUE(token.ok()) << token.status();

  EXPECT_EQ(DecodeSegment(*token, 0),
            (nlohmann::json{{"alg", "ES256"}, {"kid", signer->kid()}, {"typ", "JWT"}}));

  const VerifierResult r =
      RunVerifier(JwksDocument(signer->PublicJwks()), *token, kAudience, kIssuer);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json got = nlohmann::json::parse(r.out);
  EXPECT_EQ(got["iss"], kIssuer);
  EXPECT_EQ(got["aud"], kAudience);
  EXPECT_EQ(got["sub"], "user-42");
  EXPECT_EQ(got["tenant"], "tenant-1");
  EXPECT_EQ(got["idp"], "idp-dingtalk-1");
  EXPECT_EQ(got["dingtalk_userid"], "manager4711");
  EXPECT_EQ(got["name"], "张三");
  EXPECT_EQ(got["dept_ids"], (nlohmann::json{1, 20, 9007199254740993}));
  EXPECT_EQ(got["iat"], absl::ToUnixSeconds(claims.issued_at));
  EXPECT_EQ(got["exp"], absl::ToUnixSeconds(claims.issued_at) + 300);
  EXPECT_EQ(got["jti"], "jti-fixed-1");
  EXPECT_EQ(got.size(), 11u);
}

TEST_F(AssertionSignerTest, WrongAudienceOrIssuerFails) {
  auto signer = SignerFor({pem_a_});
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(ToJson(SampleClaims()));
  ASSERT_TRUE(token.ok()) << token.status();
  const std::string jwks = JwksDocument(signer->PublicJwks());
  EXPECT_EQ(RunVerifier(jwks, *token, "someone-else").exit_code, 1);
  EXPECT_EQ(RunVerifier(jwks, *token, kAudience, "https://evil.example").exit_code, 1);
  EXPECT_EQ(RunVerifier(jwks, *token, kAudience).exit_code, 0);
}

TEST_F(AssertionSignerTest, ChangedSignatureByteFails) {
  auto signer = SignerFor({pem_a_});
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(ToJson(SampleClaims()));
  ASSERT_TRUE(token.ok()) << token.status();
  const std::string jwks = JwksDocument(signer->PublicJwks());
  ASSERT_EQ(RunVerifier(jwks, *token, kAudience).exit_code, 0);
  // A character well inside the signature (every bit of it is signature, none padding).
  std::string tampered = *token;
  const size_t pos = tampered.rfind('.') + 20;
  tampered[pos] = tampered[pos] == 'A' ? 'B' : 'A';
  const VerifierResult r = RunVerifier(jwks, tampered, kAudience);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Signature"));
  EXPECT_EQ(r.out, "");
}

TEST_F(AssertionSignerTest, JwksWithoutTheKidFails) {
  auto signer = SignerFor({pem_a_});
  auto other = SignerFor({pem_b_});
  ASSERT_NE(signer, nullptr);
  ASSERT_NE(other, nullptr);
  absl::StatusOr<std::string> token = signer->Sign(ToJson(SampleClaims()));
  ASSERT_TRUE(token.ok()) << token.status();
  const VerifierResult r = RunVerifier(JwksDocument(other->PublicJwks()), *token, kAudience);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("kid"));
}

TEST_F(AssertionSignerTest, SecondKeyIsPublishedButDoesNotSign) {
  auto signer = SignerFor({pem_a_, pem_b_});
  ASSERT_NE(signer, nullptr);
  const auto [xa, ya] = PublicXY(key_a_.get());
  const auto [xb, yb] = PublicXY(key_b_.get());
  EXPECT_EQ(signer->kid(), Rfc7638(xa, ya));
  const std::vector<nlohmann::json> jwks = signer->PublicJwks();
  ASSERT_EQ(jwks.size(), 2u);
  EXPECT_EQ(jwks[0]["kid"], Rfc7638(xa, ya));
  EXPECT_EQ(jwks[1]["kid"], Rfc7638(xb, yb));

  absl::StatusOr<std::string> token = signer->Sign(ToJson(SampleClaims()));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(DecodeSegment(*token, 0)["kid"], Rfc7638(xa, ya));
  EXPECT_EQ(RunVerifier(JwksDocument(jwks), *token, kAudience).exit_code, 0);
  EXPECT_EQ(RunVerifier(JwksDocument({jwks[1]}), *token, kAudience).exit_code, 1);

  // After the rotation (b first), b signs and a is still published.
  auto rotated = SignerFor({pem_b_, pem_a_});
  ASSERT_NE(rotated, nullptr);
  EXPECT_EQ(rotated->kid(), Rfc7638(xb, yb));
  EXPECT_EQ(RunVerifier(JwksDocument(rotated->PublicJwks()), *token, kAudience).exit_code, 0);
}

TEST_F(AssertionSignerTest, KidIsTheRfc7638ThumbprintOfThePublishedJwk) {
  auto signer = SignerFor({pem_a_});
  ASSERT_NE(signer, nullptr);
  const std::vector<nlohmann::json> jwks = signer->PublicJwks();
  ASSERT_EQ(jwks.size(), 1u);
  const nlohmann::json& jwk = jwks[0];
  std::set<std::string> members;
  for (const auto& [k, v] : jwk.items()) members.insert(k);
  EXPECT_EQ(members, (std::set<std::string>{"kty", "crv", "x", "y", "kid", "use", "alg"}));
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["alg"], "ES256");
  // x and y are the key's own coordinates, and the kid their thumbprint.
  const auto [x, y] = PublicXY(key_a_.get());
  EXPECT_EQ(jwk["x"], x);
  EXPECT_EQ(jwk["y"], y);
  EXPECT_EQ(signer->kid(), Rfc7638(jwk["x"].get<std::string>(), jwk["y"].get<std::string>()));
  EXPECT_EQ(jwk["kid"], signer->kid());
  EXPECT_EQ(signer->kid().size(), 43u);
  EXPECT_THAT(JwksDocument(jwks), Not(HasSubstr("\"d\"")));
}

TEST_F(AssertionSignerTest, Sec1PemLoadsAsTheSameKey) {
  auto pkcs8 = SignerFor({pem_a_});
  const std::string sec1 = ToPem(key_a_.get(), PemForm::kSec1);
  ASSERT_THAT(sec1, HasSubstr("BEGIN EC PRIVATE KEY"));
  auto from_sec1 = SignerFor({sec1});
  ASSERT_NE(pkcs8, nullptr);
  ASSERT_NE(from_sec1, nullptr);
  EXPECT_EQ(from_sec1->kid(), pkcs8->kid());
  absl::StatusOr<std::string> token = from_sec1->Sign(ToJson(SampleClaims()));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(RunVerifier(JwksDocument(pkcs8->PublicJwks()), *token, kAudience).exit_code, 0);
}

TEST_F(AssertionSignerTest, RsaAndP384KeysAreRefused) {
  const PkeyPtr rsa = NewRsaKey();
  const PkeyPtr p384 = NewEcKey("P-384");
  for (const std::string& pem : {ToPem(rsa.get()), ToPem(p384.get())}) {
    absl::StatusOr<std::unique_ptr<AssertionSigner>> signer =
        AssertionSigner::FromPem({pem_a_, pem});
    ASSERT_FALSE(signer.ok());
    const std::string message(signer.status().message());
    EXPECT_THAT(message, HasSubstr("P-256"));
    EXPECT_THAT(message, HasSubstr("signing key 2"));
    // No key material: no line of the PEM body shows up in the message.
    for (absl::string_view line : absl::StrSplit(pem, '\n')) {
      if (line.size() > 16 && line[0] != '-') {
        EXPECT_THAT(message, Not(HasSubstr(std::string(line.substr(0, 16)))));
      }
    }
  }
}

TEST_F(AssertionSignerTest, EncryptedOrGarbagePemIsRefusedWithoutPrompting) {
  for (const std::string& pem :
       {ToPem(key_a_.get(), PemForm::kEncryptedPkcs8), std::string("not a pem"), std::string()}) {
    absl::StatusOr<std::unique_ptr<AssertionSigner>> signer = AssertionSigner::FromPem({pem});
    ASSERT_FALSE(signer.ok());
    EXPECT_THAT(std::string(signer.status().message()), HasSubstr("cannot read"));
  }
  EXPECT_FALSE(AssertionSigner::FromPem({}).ok());
  EXPECT_FALSE(AssertionSigner::FromPemFiles({}).ok());
}

TEST_F(AssertionSignerTest, FromPemFilesLoadsAndNamesTheFileInErrors) {
  TempDir dir;
  const std::string a = dir.Write("a.pem", pem_a_);
  const std::string b = dir.Write("b.pem", ToPem(key_b_.get(), PemForm::kSec1));
  absl::StatusOr<std::unique_ptr<AssertionSigner>> signer = AssertionSigner::FromPemFiles({a, b});
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->kid(), SignerFor({pem_a_})->kid());
  EXPECT_EQ((*signer)->PublicJwks().size(), 2u);

  const std::string missing = dir.path() + "/missing.pem";
  signer = AssertionSigner::FromPemFiles({a, missing});
  ASSERT_FALSE(signer.ok());
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr(missing));
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("cannot read"));

  const std::string garbage = dir.Write("garbage.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  signer = AssertionSigner::FromPemFiles({garbage});
  ASSERT_FALSE(signer.ok());
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr(garbage));
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("cannot read"));

  const PkeyPtr rsa = NewRsaKey();
  const std::string rsa_path = dir.Write("rsa.pem", ToPem(rsa.get()));
  signer = AssertionSigner::FromPemFiles({rsa_path});
  ASSERT_FALSE(signer.ok());
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr(rsa_path));
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("not an EC P-256 key"));
}

TEST_F(AssertionSignerTest, InvalidUtf8ClaimsAreAnError) {
  auto signer = SignerFor({pem_a_});
  ASSERT_NE(signer, nullptr);
  absl::StatusOr<std::string> token =
      signer->Sign(nlohmann::json{{"sub", std::string("\xff\xfe")}});
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AssertionSignerTest, ConcurrentSignersAllVerify) {
  auto signer = SignerFor({pem_a_, pem_b_});
  ASSERT_NE(signer, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::vector<std::string>> tokens(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AssertionClaims claims = SampleClaims();
        claims.subject = absl::StrCat("user-", t, "-", i);
        absl::StatusOr<std::string> token = signer->Sign(ToJson(claims));
        if (token.ok()) {
          tokens[static_cast<size_t>(t)].push_back(*std::move(token));
        } else {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));

  std::vector<std::string> all;
  for (const auto& v : tokens) all.insert(all.end(), v.begin(), v.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());

  const VerifierResult r = RunVerifier(JwksDocument(signer->PublicJwks()), absl::StrJoin(all, "\n"),
                                       kAudience, kIssuer, true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json verified = nlohmann::json::parse(r.out);
  ASSERT_TRUE(verified.is_array());
  ASSERT_EQ(verified.size(), all.size());
  std::set<std::string> subjects, jtis;
  for (const nlohmann::json& claims : verified) {
    subjects.insert(claims["sub"].get<std::string>());
    jtis.insert(claims["jti"].get<std::string>());
  }
  EXPECT_EQ(subjects.size(), all.size());
  EXPECT_EQ(jtis.size(), all.size());
  EXPECT_EQ(subjects.count("user-3-199"), 1u);
}

TEST(JwksDocument, DropsDuplicateKidsFirstWins) {
  const nlohmann::json a = {{"kid", "a"}, {"kty", "EC"}, {"n", 1}};
  const nlohmann::json b = {{"kid", "b"}, {"kty", "EC"}};
  const nlohmann::json a2 = {{"kid", "a"}, {"kty", "EC"}, {"n", 2}};
  const nlohmann::json doc = nlohmann::json::parse(JwksDocument({a, b, a2, b}));
  EXPECT_EQ(doc, (nlohmann::json{{"keys", {a, b}}}));
  EXPECT_EQ(JwksDocument({}), R"({"keys":[]})");
}

TEST(AssertionClaimsJson, HoldsEveryClaimWithSecondsAndAJti) {
  AssertionClaims c = SampleClaims();
  c.issued_at = absl::FromUnixSeconds(1'700'000'000) + absl::Milliseconds(999);
  c.lifetime = absl::Seconds(90);
  const nlohmann::json j = ToJson(c);
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"iss", "aud", "sub", "tenant", "idp", "dingtalk_userid",
                                         "name", "dept_ids", "iat", "exp", "jti"}));
  EXPECT_EQ(j["iat"], 1'700'000'000);
  EXPECT_EQ(j["exp"], 1'700'000'090);
  EXPECT_EQ(j["jti"].get<std::string>().size(), 22u);  // RandomToken(16)
  EXPECT_NE(ToJson(c)["jti"], j["jti"]);
  c.jti = "given";
  EXPECT_EQ(ToJson(c)["jti"], "given");
  EXPECT_THAT(j["dept_ids"].get<std::vector<int64_t>>(), ElementsAre(1, 20, 9007199254740993));
}

}  // namespace
}  // namespace sase::login

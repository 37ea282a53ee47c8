#include "login/assertion_signer.h"

#include <cjose/cjose.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <array>
#include <climits>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/sha256.h"
#include "login/internal/encoding.h"
#include "login/internal/secret_file.h"
#include "login/random.h"

namespace sase::login {
namespace {

constexpr std::size_t kP256Bytes = 32;

// cjose's allocator is configurable at run time: its strings go back through cjose_get_dealloc().
void CjoseFree(char* s) { cjose_get_dealloc()(s); }

using JwkPtr = common::CPtr<cjose_jwk_t, cjose_jwk_release>;

// Encrypted PEM keys fail instead of OpenSSL prompting on the terminal.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

std::string CjoseMessage(const cjose_err& err) {
  return err.message != nullptr ? std::string(err.message) : std::string("unknown error");
}

// Big-endian, left-padded to 32 bytes; false when it does not fit.
bool ToFixed32(const BIGNUM* bn, std::array<uint8_t, kP256Bytes>* out) {
  return BN_bn2binpad(bn, out->data(), static_cast<int>(out->size())) ==
         static_cast<int>(out->size());
}

// The string member `key` of a JSON object; empty when absent or not a string.
std::string StringField(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return std::string();
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string AsString(const std::array<uint8_t, kP256Bytes>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), a.size());
}

absl::StatusOr<std::string> Thumbprint(const std::string& x, const std::string& y) {
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  const std::string canonical =
      absl::StrCat(R"({"crv":"P-256","kty":"EC","x":")", x, R"(","y":")", y, R"("})");
  return internal::Base64UrlEncode(common::Sha256(canonical));
}

}  // namespace

// One loaded key. Concurrent Sign calls only read it: cjose_jws_sign (0.6.2, src/jws.c) keeps all
// per-signature state in the new cjose_jws_t, takes a reference on the (per-call) header, and signs
// with ECDSA_do_sign on the JWK's EC_KEY, which OpenSSL does not modify.
struct SigningKey {
  JwkPtr jwk;
  std::string kid;
  nlohmann::json public_jwk;
};

namespace {

absl::StatusOr<std::unique_ptr<SigningKey>> LoadKey(std::string_view pem,
                                                    const std::string& label) {
  if (pem.size() > static_cast<std::size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": too large"));
  }
  common::CPtr<BIO, BIO_free_all> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError(absl::StrCat(label, ": BIO_new_mem_buf failed"));
  common::CPtr<EVP_PKEY, EVP_PKEY_free> pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr));
  ERR_clear_error();  // whatever OpenSSL queued is ours, not the next caller's
  if (!pkey) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": cannot read a PEM private key (unencrypted PKCS#8 or SEC1 EC)"));
  }

  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC) {
    const char* type = EVP_PKEY_get0_type_name(pkey.get());
    return absl::InvalidArgumentError(absl::StrCat(label, ": not an EC P-256 key (",
                                                   type != nullptr ? type : "unknown type", ")"));
  }
  std::array<char, 80> group{};
  std::size_t group_len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.data(),
                                     group.size(), &group_len) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not an EC P-256 key (no named curve)"));
  }
  int nid = OBJ_sn2nid(group.data());
  if (nid == NID_undef) nid = EC_curve_nist2nid(group.data());
  if (nid != NID_X9_62_prime256v1) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": not an EC P-256 key (curve ", group.data(), ")"));
  }

  BIGNUM* raw_d = nullptr;
  BIGNUM* raw_x = nullptr;
  BIGNUM* raw_y = nullptr;
  const bool got = EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw_d) == 1 &&
                   EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, &raw_x) == 1 &&
                   EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &raw_y) == 1;
  common::CPtr<BIGNUM, BN_clear_free> d(raw_d), x(raw_x), y(raw_y);
  ERR_clear_error();
  if (!got) return absl::InvalidArgumentError(absl::StrCat(label, ": EC key lacks d, x or y"));

  std::array<uint8_t, kP256Bytes> d_bytes{}, x_bytes{}, y_bytes{};
  const bool fits =
      ToFixed32(d.get(), &d_bytes) && ToFixed32(x.get(), &x_bytes) && ToFixed32(y.get(), &y_bytes);
  cjose_err err{};
  JwkPtr jwk;
  if (fits) {
    cjose_jwk_ec_keyspec spec{};
    spec.crv = CJOSE_JWK_EC_P_256;
    spec.d = d_bytes.data();
    spec.dlen = d_bytes.size();
    spec.x = x_bytes.data();
    spec.xlen = x_bytes.size();
    spec.y = y_bytes.data();
    spec.ylen = y_bytes.size();
    jwk.reset(cjose_jwk_create_EC_spec(&spec, &err));
  }
  OPENSSL_cleanse(d_bytes.data(), d_bytes.size());
  if (!fits) return absl::InvalidArgumentError(absl::StrCat(label, ": malformed P-256 key"));
  if (!jwk) {
    return absl::InternalError(
        absl::StrCat(label, ": cjose_jwk_create_EC_spec failed: ", CjoseMessage(err)));
  }

  // The published JWK is cjose's own public export (so what is published is what signs); the
  // kid is computed from its x and y, which must be the coordinates OpenSSL read.
  common::CPtr<char, CjoseFree> json(cjose_jwk_to_json(jwk.get(), false, &err));
  if (!json) {
    return absl::InternalError(
        absl::StrCat(label, ": cjose_jwk_to_json failed: ", CjoseMessage(err)));
  }
  const nlohmann::json exported = nlohmann::json::parse(json.get(), nullptr, false);
  const std::string want_x = internal::Base64UrlEncode(AsString(x_bytes));
  const std::string want_y = internal::Base64UrlEncode(AsString(y_bytes));
  if (StringField(exported, "kty") != "EC" || StringField(exported, "crv") != "P-256" ||
      StringField(exported, "x") != want_x || StringField(exported, "y") != want_y) {
    return absl::InternalError(absl::StrCat(label, ": cjose exported an unexpected public JWK"));
  }
  absl::StatusOr<std::string> kid = Thumbprint(want_x, want_y);
  if (!kid.ok()) return kid.status();

  auto key = std::make_unique<SigningKey>();
  key->jwk = std::move(jwk);
  key->kid = *kid;
  key->public_jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", want_x},   {"y", want_y},
                     {"kid", *kid}, {"use", "sig"},   {"alg", "ES256"}};
  return key;
}

absl::StatusOr<std::unique_ptr<AssertionSigner>> NoKeys() {
  return absl::InvalidArgumentError("assertion signer: no signing key");
}

}  // namespace

AssertionSigner::AssertionSigner(std::vector<std::unique_ptr<SigningKey>> keys)
    : keys_(std::move(keys)) {}

AssertionSigner::~AssertionSigner() = default;

absl::StatusOr<std::unique_ptr<AssertionSigner>> AssertionSigner::FromPemFiles(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return NoKeys();
  std::vector<std::unique_ptr<SigningKey>> keys;
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> pem = internal::ReadSecretFile(path);
    if (!pem.ok()) {
      return absl::Status(pem.status().code(),
                          absl::StrCat("signing key: ", pem.status().message()));
    }
    absl::StatusOr<std::unique_ptr<SigningKey>> key =
        LoadKey(*pem, absl::StrCat("signing key ", path));
    internal::Wipe(*pem);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return std::unique_ptr<AssertionSigner>(new AssertionSigner(std::move(keys)));
}

absl::StatusOr<std::unique_ptr<AssertionSigner>> AssertionSigner::FromPem(
    const std::vector<std::string>& pems) {
  if (pems.empty()) return NoKeys();
  std::vector<std::unique_ptr<SigningKey>> keys;
  for (std::size_t i = 0; i < pems.size(); ++i) {
    absl::StatusOr<std::unique_ptr<SigningKey>> key =
        LoadKey(pems[i], absl::StrCat("signing key ", i + 1));
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return std::unique_ptr<AssertionSigner>(new AssertionSigner(std::move(keys)));
}

absl::StatusOr<std::unique_ptr<AssertionSigner>> AssertionSigner::Ephemeral() {
  common::CPtr<EVP_PKEY, EVP_PKEY_free> pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return absl::InternalError("cannot generate an EC P-256 key");
  common::CPtr<BIO, BIO_free_all> bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError("cannot encode the generated key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(len));
  absl::StatusOr<std::unique_ptr<AssertionSigner>> out = FromPem({pem});
  OPENSSL_cleanse(pem.data(), pem.size());
  return out;
}

const std::string& AssertionSigner::kid() const { return keys_.front()->kid; }

absl::StatusOr<std::string> AssertionSigner::Sign(const nlohmann::json& claims) const {
  std::string payload;
  try {
    payload = claims.dump();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("assertion claims: ", e.what()));
  }
  const SigningKey& key = *keys_.front();
  cjose_err err{};
  common::CPtr<cjose_header_t, cjose_header_release> header(cjose_header_new(&err));
  if (!header || !cjose_header_set(header.get(), CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) ||
      !cjose_header_set(header.get(), CJOSE_HDR_KID, key.kid.c_str(), &err) ||
      !cjose_header_set(header.get(), "typ", "JWT", &err)) {
    return absl::InternalError(absl::StrCat("JWS header: ", CjoseMessage(err)));
  }
  common::CPtr<cjose_jws_t, cjose_jws_release> jws(
      cjose_jws_sign(key.jwk.get(), header.get(), reinterpret_cast<const uint8_t*>(payload.data()),
                     payload.size(), &err));
  if (!jws) return absl::InternalError(absl::StrCat("cjose_jws_sign: ", CjoseMessage(err)));
  const char* compact = nullptr;
  if (!cjose_jws_export(jws.get(), &compact, &err) || compact == nullptr) {
    return absl::InternalError(absl::StrCat("cjose_jws_export: ", CjoseMessage(err)));
  }
  return std::string(compact);
}

std::vector<nlohmann::json> AssertionSigner::PublicJwks() const {
  std::vector<nlohmann::json> jwks;
  jwks.reserve(keys_.size());
  for (const auto& key : keys_) jwks.push_back(key->public_jwk);
  return jwks;
}

std::string JwksDocument(const std::vector<nlohmann::json>& jwks) {
  nlohmann::json keys = nlohmann::json::array();
  std::set<std::string> seen;
  for (const nlohmann::json& jwk : jwks) {
    const auto kid = jwk.is_object() ? jwk.find("kid") : jwk.end();
    if (kid != jwk.end() && kid->is_string() && !seen.insert(kid->get<std::string>()).second) {
      continue;
    }
    keys.push_back(jwk);
  }
  return nlohmann::json{{"keys", std::move(keys)}}.dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace);
}

nlohmann::json ToJson(const AssertionClaims& c) {
  return nlohmann::json{
      {"iss", c.issuer},
      {"aud", c.audience},
      {"sub", c.subject},
      {"tenant", c.tenant},
      {"idp", c.idp},
      {"dingtalk_userid", c.dingtalk_userid},
      {"name", c.name},
      {"dept_ids", c.department_ids},
      {"iat", absl::ToUnixSeconds(c.issued_at)},
      {"exp", absl::ToUnixSeconds(c.issued_at + c.lifetime)},
      {"jti", c.jti.empty() ? RandomToken(16) : c.jti},
  };
}

}  // namespace sase::login

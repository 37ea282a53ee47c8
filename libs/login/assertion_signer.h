#pragma once
// The logon assertion: an ES256 JWT signed with libcjose, keys from PEM files, public keys
// published as a JWKS document.
//
// Nothing here logs, and no error message contains key material.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace sase::login {

struct SigningKey;  // opaque (assertion_signer.cc: wraps cjose_jwk_t*)

// Immutable once built; Sign may be called from many threads at once (each call builds its own
// cjose header and JWS; the key is only read).
class AssertionSigner {
 public:
  // Each file holds one EC P-256 private key in PEM (PKCS#8 "BEGIN PRIVATE KEY" or SEC1 "BEGIN EC
  // PRIVATE KEY"; encrypted keys are refused, never prompted for), read with OpenSSL 3, converted
  // to a cjose JWK. The first file signs; the others are only published (the next key,
  // pre-published before rotation). Errors name the file and the problem ("not an EC P-256 key",
  // "cannot read"), never key material.
  static absl::StatusOr<std::unique_ptr<AssertionSigner>> FromPemFiles(
      const std::vector<std::string>& paths);
  // The same from PEM text; errors name the key by position ("signing key 1"). For tests.
  static absl::StatusOr<std::unique_ptr<AssertionSigner>> FromPem(
      const std::vector<std::string>& pems);

  // A fresh P-256 key held only in memory (local runs without key files).
  static absl::StatusOr<std::unique_ptr<AssertionSigner>> Ephemeral();

  AssertionSigner(const AssertionSigner&) = delete;
  AssertionSigner& operator=(const AssertionSigner&) = delete;
  ~AssertionSigner();

  // RFC 7638 thumbprint (base64url SHA-256 of {"crv","kty","x","y"} canonical JSON) of the
  // signing key.
  const std::string& kid() const;

  // Compact JWS, header {"alg":"ES256","kid":kid(),"typ":"JWT"}, payload = claims.dump().
  // InvalidArgument when the claims hold invalid UTF-8; Internal when cjose fails.
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const;

  // Public JWKs (kty, crv, x, y, kid, use:"sig", alg:"ES256") of every loaded key, the signing
  // key first.
  std::vector<nlohmann::json> PublicJwks() const;

 private:
  explicit AssertionSigner(std::vector<std::unique_ptr<SigningKey>> keys);
  std::vector<std::unique_ptr<SigningKey>> keys_;  // keys_[0] signs; never empty
};

// {"keys":[...]} with the given JWKs, duplicates by kid removed (first wins).
std::string JwksDocument(const std::vector<nlohmann::json>& jwks);

// The logon assertion's claims.
struct AssertionClaims {
  std::string issuer, audience, subject /*directory user id*/, tenant, idp, dingtalk_userid, name;
  std::vector<int64_t> department_ids;
  absl::Time issued_at;
  absl::Duration lifetime;  // exp = iat + lifetime
  std::string jti;          // filled with RandomToken(16) if empty
};

// iss, aud, sub, tenant, idp, dingtalk_userid, name, dept_ids, iat, exp, jti (iat/exp in whole
// seconds since the epoch, rounded down; exp from issued_at + lifetime). An empty jti becomes
// RandomToken(16) in the output.
nlohmann::json ToJson(const AssertionClaims& c);

}  // namespace sase::login

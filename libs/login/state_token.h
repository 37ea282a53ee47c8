#pragma once
// The OAuth `state` parameter of a login: signed, expiring, bound to the identity source, the
// client's redirect and a one-time nonce.
//
// Token: "v1." + base64url(JSON payload) + "." + base64url(HMAC-SHA256(key, "v1." + payload_b64)),
// base64url without padding, so the whole token is URL-safe. The payload is authenticated, not
// encrypted: it holds nothing secret. Times are carried in whole milliseconds (rounded down).
//
// Every failing Verify returns an absl::Status (InvalidArgument) carrying a StateError, read back
// with StateErrorOf. Nothing here logs, and no message contains key material.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sase::login {

// Verify refuses longer tokens before any other work.
inline constexpr std::size_t kMaxStateTokenChars = 4096;
// Keys shorter than this are refused (HMAC-SHA256 wants at least the digest size).
inline constexpr std::size_t kMinStateKeyBytes = 32;

enum class StateError { kInvalid, kExpired };  // reason codes "state_invalid", "state_expired"

struct LoginState {
  std::string idp_id;
  std::string redirect_uri;  // the client's redirect (already allow-listed by the caller)
  std::string client_state;  // opaque value the client passed, echoed back to it (may be empty)
  std::string nonce;         // 128-bit random, base64url; consumed once by the server
  int flow = 0;              // caller-defined (OAuth, QR, in-app)
  absl::Time issued_at;
  absl::Time expires_at;
};

// An absl::Status from Verify carries the StateError; this reads it back (kInvalid for anything
// else, OK included).
StateError StateErrorOf(const absl::Status& status);
std::string_view StateErrorName(StateError e);  // "state_invalid" / "state_expired"

// Issues and verifies state tokens. Cheap to copy (copies share one immutable key ring, wiped when
// the last copy goes); safe to use from many threads at once.
class StateSigner {
 public:
  // Key file: one or more lines, each a key of >= 32 bytes (trailing whitespace trimmed, blank
  // lines ignored). The first line signs; every line verifies (rotation). Error messages name the
  // file (and line), never the key.
  static absl::StatusOr<StateSigner> FromKeyFile(const std::string& path);
  // The same rules for keys given directly; keys[0] signs.
  static absl::StatusOr<StateSigner> FromKeys(std::vector<std::string> keys);

  // Fills nonce (RandomToken(16)) if empty; returns the token (URL-safe, < 1024 chars for typical
  // inputs). client_state is carried byte for byte (base64url inside the payload); idp_id and
  // redirect_uri are expected to be UTF-8 (invalid sequences would come back as U+FFFD).
  std::string Issue(LoginState state) const;

  // Checks the length bound (<= kMaxStateTokenChars), the format, the MAC against every key
  // (constant time, CRYPTO_memcmp), the payload, then expiry against `now` (expired when
  // now >= expires_at). A tampered, truncated, or foreign-key token is kInvalid.
  absl::StatusOr<LoginState> Verify(std::string_view token, absl::Time now) const;

 private:
  struct KeyRing;  // state_token.cc: the keys, wiped on destruction

  explicit StateSigner(std::shared_ptr<const KeyRing> keys) : keys_(std::move(keys)) {}
  std::shared_ptr<const KeyRing> keys_;
};

}  // namespace sase::login

#include "login/state_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"
#include "login/internal/encoding.h"
#include "login/internal/secret_file.h"
#include "login/random.h"
#include "nlohmann/json.hpp"

namespace sase::login {
namespace {

constexpr char kStateErrorTypeUrl[] = "type.sase/login.state_error";
constexpr std::string_view kVersionPrefix = "v1.";
constexpr std::size_t kMacBytes = 32;                     // SHA-256
constexpr std::size_t kMacChars = (kMacBytes * 4 + 2) / 3;  // 43, base64url without padding
constexpr std::size_t kNonceBytes = 16;

// Payload keys (short: the token travels in URLs).
constexpr char kIdp[] = "idp";
constexpr char kRedirect[] = "ru";
constexpr char kClientState[] = "cs";  // base64url of the raw bytes
constexpr char kNonce[] = "n";
constexpr char kFlow[] = "f";
constexpr char kIssuedMs[] = "iat_ms";
constexpr char kExpiresMs[] = "exp_ms";

absl::Status MakeStateError(StateError e, std::string_view message) {
  const std::string_view name = StateErrorName(e);
  absl::Status status(absl::StatusCode::kInvalidArgument,
                      absl::StrCat(internal::AbslView(name), ": ", internal::AbslView(message)));
  status.SetPayload(kStateErrorTypeUrl, absl::Cord(std::string(name)));
  return status;
}

absl::Status Invalid(std::string_view message) {
  return MakeStateError(StateError::kInvalid, message);
}

// HMAC-SHA256(key, data), raw 32 bytes; false only if OpenSSL fails.
bool Mac(const std::string& key, std::string_view data, std::array<unsigned char, kMacBytes>* out) {
  unsigned int len = 0;
  const unsigned char* md =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out->data(), &len);
  return md != nullptr && len == kMacBytes;
}

// base64url of the MAC, the form the token carries and Verify compares.
absl::StatusOr<std::string> MacText(const std::string& key, std::string_view data) {
  std::array<unsigned char, kMacBytes> mac{};
  if (!Mac(key, data, &mac)) return absl::InternalError("state token: HMAC-SHA256 failed");
  return internal::Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

absl::Status ValidateKeys(const std::vector<std::string>& keys, const std::string& where) {
  if (keys.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no state key"));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].size() < kMinStateKeyBytes) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": key ", i + 1, " is shorter than ",
                                                     kMinStateKeyBytes, " bytes"));
    }
    if (keys[i].size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": key ", i + 1, " is too long"));
    }
  }
  return absl::OkStatus();
}

std::int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

bool GetString(const nlohmann::json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetInt64(const nlohmann::json& j, const char* key, std::int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return false;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    *out = static_cast<std::int64_t>(u);
    return true;
  }
  *out = it->get<std::int64_t>();
  return true;
}

}  // namespace

struct StateSigner::KeyRing {
  explicit KeyRing(std::vector<std::string> k) : keys(std::move(k)) {}
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;
  ~KeyRing() {
    for (std::string& key : keys) internal::Wipe(key);
  }
  std::vector<std::string> keys;  // keys[0] signs
};

StateError StateErrorOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kStateErrorTypeUrl);
  if (payload.has_value() && std::string(*payload) == StateErrorName(StateError::kExpired)) {
    return StateError::kExpired;
  }
  return StateError::kInvalid;
}

std::string_view StateErrorName(StateError e) {
  switch (e) {
    case StateError::kExpired:
      return "state_expired";
    case StateError::kInvalid:
      break;
  }
  return "state_invalid";
}

absl::StatusOr<StateSigner> StateSigner::FromKeys(std::vector<std::string> keys) {
  if (absl::Status s = ValidateKeys(keys, "state keys"); !s.ok()) {
    for (std::string& key : keys) internal::Wipe(key);
    return s;
  }
  return StateSigner(std::make_shared<const KeyRing>(std::move(keys)));
}

absl::StatusOr<StateSigner> StateSigner::FromKeyFile(const std::string& path) {
  absl::StatusOr<std::string> contents = internal::ReadSecretFile(path);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(),
                        absl::StrCat("state key file: ", contents.status().message()));
  }
  std::vector<std::string> keys;
  absl::Status status;
  std::size_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    ++line_no;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty()) continue;
    if (line.size() < kMinStateKeyBytes) {
      status = absl::InvalidArgumentError(absl::StrCat("state key file ", path, ": line ", line_no,
                                                       ": key is shorter than ", kMinStateKeyBytes,
                                                       " bytes"));
      break;
    }
    keys.emplace_back(line.data(), line.size());
  }
  internal::Wipe(*contents);
  if (status.ok() && keys.empty()) {
    status = absl::InvalidArgumentError(absl::StrCat("state key file ", path, ": holds no key"));
  }
  if (status.ok()) status = ValidateKeys(keys, absl::StrCat("state key file ", path));
  if (!status.ok()) {
    for (std::string& key : keys) internal::Wipe(key);
    return status;
  }
  return StateSigner(std::make_shared<const KeyRing>(std::move(keys)));
}

std::string StateSigner::Issue(LoginState state) const {
  if (state.nonce.empty()) state.nonce = RandomToken(kNonceBytes);
  nlohmann::json payload = {
      {kIdp, state.idp_id},
      {kRedirect, state.redirect_uri},
      {kClientState, internal::Base64UrlEncode(state.client_state)},
      {kNonce, state.nonce},
      {kFlow, state.flow},
      {kIssuedMs, ToMillis(state.issued_at)},
      {kExpiresMs, ToMillis(state.expires_at)},
  };
  // `replace` keeps Issue from throwing on invalid UTF-8 in idp_id/redirect_uri (documented).
  const std::string json = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string token(kVersionPrefix);
  token.append(internal::Base64UrlEncode(json));
  absl::StatusOr<std::string> mac = MacText(keys_->keys.front(), token);
  if (!mac.ok()) {
    // An HMAC that cannot be computed means a broken libcrypto: an impossible state.
    std::fputs("login: state token HMAC failed\n", stderr);
    std::abort();
  }
  token.push_back('.');
  token.append(*mac);
  return token;
}

absl::StatusOr<LoginState> StateSigner::Verify(std::string_view token, absl::Time now) const {
  if (token.empty()) return Invalid("empty token");
  if (token.size() > kMaxStateTokenChars) return Invalid("token too long");
  if (token.substr(0, kVersionPrefix.size()) != kVersionPrefix) {
    return Invalid("unsupported token version");
  }
  const std::string_view rest = token.substr(kVersionPrefix.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || rest.find('.', dot + 1) != std::string_view::npos) {
    return Invalid("malformed token");
  }
  const std::string_view payload_b64 = rest.substr(0, dot);
  const std::string_view mac_b64 = rest.substr(dot + 1);
  if (payload_b64.empty() || mac_b64.size() != kMacChars) return Invalid("malformed token");

  // Compare the MAC's text form: equal text is equal bytes, and non-canonical spellings of the
  // same bytes (unused trailing bits) are refused rather than accepted. Every key is tried.
  const std::string_view signed_part = token.substr(0, kVersionPrefix.size() + dot);
  bool matched = false;
  for (const std::string& key : keys_->keys) {
    absl::StatusOr<std::string> expected = MacText(key, signed_part);
    if (!expected.ok()) return expected.status();
    matched |= CRYPTO_memcmp(expected->data(), mac_b64.data(), kMacChars) == 0;
  }
  if (!matched) return Invalid("bad MAC");

  std::string json;
  if (!internal::Base64UrlDecode(payload_b64, &json)) return Invalid("payload is not base64url");
  const nlohmann::json payload = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) return Invalid("payload is not a JSON object");

  LoginState state;
  std::string client_state_b64;
  std::int64_t flow = 0;
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;
  if (!GetString(payload, kIdp, &state.idp_id) ||
      !GetString(payload, kRedirect, &state.redirect_uri) ||
      !GetString(payload, kClientState, &client_state_b64) ||
      !GetString(payload, kNonce, &state.nonce) || !GetInt64(payload, kFlow, &flow) ||
      !GetInt64(payload, kIssuedMs, &issued_ms) || !GetInt64(payload, kExpiresMs, &expires_ms)) {
    return Invalid("payload lacks a field or has a wrong type");
  }
  if (flow < std::numeric_limits<int>::min() || flow > std::numeric_limits<int>::max()) {
    return Invalid("flow out of range");
  }
  if (!internal::Base64UrlDecode(client_state_b64, &state.client_state)) {
    return Invalid("client state is not base64url");
  }
  state.flow = static_cast<int>(flow);
  state.issued_at = absl::FromUnixMillis(issued_ms);
  state.expires_at = absl::FromUnixMillis(expires_ms);
  if (now >= state.expires_at) return MakeStateError(StateError::kExpired, "state expired");
  return state;
}

}  // namespace sase::login

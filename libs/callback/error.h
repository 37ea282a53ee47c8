#pragma once
// Typed failure reasons of the DingTalk callback path.
//
// Every failing function of this library returns an absl::Status that carries a CallbackError
// reason as a status payload. Ingress maps the reason to an HTTP status (HttpStatusFor) and to a
// bounded metric label (ReasonName). Messages never contain key material.

#include <string_view>

#include "absl/status/status.h"

namespace sase::callback {

enum class CallbackError {
  kNone = 0,          // the status is OK or carries no callback reason
  kMissingSignature,  // neither msg_signature nor signature in the query
  kMissingParam,      // timestamp/timeStamp or nonce missing or empty
  kBadSignature,      // signature does not match
  kBadTimestamp,      // not a decimal number, or outside the allowed window
  kBadBody,           // request body is not a JSON object with a string "encrypt"
  kBadBase64,         // "encrypt" is not valid base64
  kBadCiphertext,     // ciphertext shorter than 32 bytes or not a multiple of 16
  kBadPadding,        // PKCS#7 pad byte outside 1..32 or pad bytes differ
  kBadLength,         // plaintext shorter than 20 bytes or msg_len past the end
  kWrongReceiver,     // receiver id is neither the AppKey nor (when allowed) the CorpId
  kBadJson,           // decrypted message is not a JSON object
  kBadEvent,          // JSON object without a usable EventType or with malformed ids
  kBadKey,            // configured aes_key/token/receiver invalid (a configuration problem)
  kInternal,          // OpenSSL failure
};

// Bounded snake_case label, e.g. "bad_signature"; "none" for kNone.
std::string_view ReasonName(CallbackError reason);

// HTTP status an ingress answers with: 401 for signature/timestamp failures, 400 for malformed
// input, 500 for kBadKey/kInternal, 200 for kNone.
int HttpStatusFor(CallbackError reason);

// Builds a status with the absl code matching the reason (Unauthenticated, InvalidArgument,
// FailedPrecondition, Internal) and the reason attached as payload.
absl::Status MakeError(CallbackError reason, std::string_view message);

// The reason attached by MakeError; kNone for OK or foreign statuses.
CallbackError ReasonOf(const absl::Status& status);

}  // namespace sase::callback

#include "login/state_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::login {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKeyA = "state-key-A-0123456789abcdefghijklmnopqrstuv";
const std::string kKeyB = "state-key-B-0123456789abcdefghijklmnopqrstuv";
const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

std::string B64(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

// "v1."-style token built by hand with a known key, to reach the checks behind the MAC.
std::string CraftToken(const std::string& prefix, const std::string& payload_json,
                       const std::string& key) {
  const std::string signed_part = prefix + B64(payload_json);
  std::array<unsigned char, 32> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac.data(),
       &len);
  return signed_part + "." +
         B64(absl::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

LoginState SampleState() {
  LoginState s;
  s.idp_id = "idp-7f3a";
  s.redirect_uri = "https://app.example.com/cb?x=1&y=%20";
  s.client_state = std::string("opaque&=?/\0\xff bytes", 19);
  s.flow = 2;
  s.issued_at = kT0;
  s.expires_at = kT0 + absl::Minutes(10);
  return s;
}

StateSigner SignerWith(std::vector<std::string> keys) {
  absl::StatusOr<StateSigner> signer = StateSigner::FromKeys(std::move(keys));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

void ExpectInvalid(const StateSigner& signer, const std::string& token, absl::Time now = kT0) {
  absl::StatusOr<LoginState> got = signer.Verify(token, now);
  ASSERT_FALSE(got.ok()) << "accepted: " << token;
  EXPECT_EQ(StateErrorOf(got.status()), StateError::kInvalid) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("state_invalid"));
}

// Replaces the base64url character at `pos` with a different one.
std::string FlipChar(std::string token, std::size_t pos) {
  token[pos] = token[pos] == 'A' ? 'B' : 'A';
  return token;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "login_state_XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& contents) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << contents;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StateToken, RoundTrip) {
  const StateSigner signer = SignerWith({kKeyA});
  const LoginState in = SampleState();
  const std::string token = signer.Issue(in);
  EXPECT_LT(token.size(), 1024u);
  EXPECT_EQ(token.substr(0, 3), "v1.");
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos)
      << token;

  absl::StatusOr<LoginState> out = signer.Verify(token, kT0 + absl::Minutes(9));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->idp_id, in.idp_id);
  EXPECT_EQ(out->redirect_uri, in.redirect_uri);
  EXPECT_EQ(out->client_state, in.client_state);
  EXPECT_EQ(out->flow, 2);
  EXPECT_EQ(out->issued_at, in.issued_at);
  EXPECT_EQ(out->expires_at, in.expires_at);
  // The nonce was empty: Issue filled 16 random bytes, base64url (22 characters).
  EXPECT_EQ(out->nonce.size(), 22u);
  EXPECT_EQ(out->nonce.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(signer.Verify(signer.Issue(in), kT0)->nonce, out->nonce);
}

TEST(StateToken, KeepsGivenNonceAndEmptyClientState) {
  const StateSigner signer = SignerWith({kKeyA});
  LoginState in = SampleState();
  in.nonce = "caller-nonce";
  in.client_state.clear();
  in.flow = -3;
  absl::StatusOr<LoginState> out = signer.Verify(signer.Issue(in), kT0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->nonce, "caller-nonce");
  EXPECT_EQ(out->client_state, "");
  EXPECT_EQ(out->flow, -3);
}

TEST(StateToken, TimesRoundDownToMilliseconds) {
  const StateSigner signer = SignerWith({kKeyA});
  LoginState in = SampleState();
  in.expires_at = kT0 + absl::Minutes(1) + absl::Microseconds(1500);
  absl::StatusOr<LoginState> out = signer.Verify(signer.Issue(in), kT0);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->expires_at, kT0 + absl::Minutes(1) + absl::Milliseconds(1));
}

TEST(StateToken, FlippedPayloadCharacterIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  const std::string token = signer.Issue(SampleState());
  const std::size_t dot = token.rfind('.');
  for (std::size_t pos = 3; pos < dot; ++pos) ExpectInvalid(signer, FlipChar(token, pos));
}

TEST(StateToken, FlippedMacCharacterIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  const std::string token = signer.Issue(SampleState());
  // Every position, the last one included (its low bits are unused padding in base64url: the MAC
  // is compared as text, so a non-canonical spelling of the same bytes is refused too).
  for (std::size_t pos = token.rfind('.') + 1; pos < token.size(); ++pos) {
    ExpectInvalid(signer, FlipChar(token, pos));
  }
}

TEST(StateToken, TruncatedIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  const std::string token = signer.Issue(SampleState());
  for (std::size_t len = 0; len < token.size(); ++len) ExpectInvalid(signer, token.substr(0, len));
  ExpectInvalid(signer, token.substr(1));
}

TEST(StateToken, ExtraDotIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  const std::string token = signer.Issue(SampleState());
  ExpectInvalid(signer, token + ".");
  ExpectInvalid(signer, token + ".x");
  std::string dotted = token;
  dotted.insert(10, ".");
  ExpectInvalid(signer, dotted);
  ExpectInvalid(signer, "v1.." + token.substr(3));
}

TEST(StateToken, EmptyIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  ExpectInvalid(signer, "");
  ExpectInvalid(signer, "v1.");
  ExpectInvalid(signer, "v1..");
}

TEST(StateToken, WrongVersionPrefixIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  const std::string token = signer.Issue(SampleState());
  ExpectInvalid(signer, "v2." + token.substr(3));
  ExpectInvalid(signer, "V1." + token.substr(3));
  ExpectInvalid(signer, token.substr(3));
  // Refused on the prefix even with a MAC that is correct for what was sent.
  const std::string payload = R"({"cs":"","exp_ms":1700000600000,"f":0,"iat_ms":1700000000000,)"
                              R"("idp":"i","n":"n","ru":"r"})";
  ASSERT_TRUE(signer.Verify(CraftToken("v1.", payload, kKeyA), kT0).ok());
  ExpectInvalid(signer, CraftToken("v2.", payload, kKeyA));
}

TEST(StateToken, TooLongIsInvalidEvenWithAValidMac) {
  const StateSigner signer = SignerWith({kKeyA});
  LoginState in = SampleState();
  // client_state is base64url inside the base64url payload: 2000 bytes make about 3.8k characters.
  in.client_state = std::string(2000, 'x');
  const std::string fits = signer.Issue(in);
  ASSERT_LE(fits.size(), kMaxStateTokenChars);
  EXPECT_TRUE(signer.Verify(fits, kT0).ok());
  in.client_state = std::string(3000, 'x');
  const std::string token = signer.Issue(in);
  ASSERT_GT(token.size(), kMaxStateTokenChars);
  ExpectInvalid(signer, token);
  EXPECT_THAT(std::string(signer.Verify(token, kT0).status().message()), HasSubstr("too long"));
}

TEST(StateToken, SignedByAnotherKeyIsInvalid) {
  const StateSigner a = SignerWith({kKeyA});
  const StateSigner b = SignerWith({kKeyB});
  ExpectInvalid(a, b.Issue(SampleState()));
  ExpectInvalid(b, a.Issue(SampleState()));
}

TEST(StateToken, ValidMacOverBadPayloadIsInvalid) {
  const StateSigner signer = SignerWith({kKeyA});
  ExpectInvalid(signer, CraftToken("v1.", "not json", kKeyA));
  ExpectInvalid(signer, CraftToken("v1.", "[1,2]", kKeyA));
  ExpectInvalid(signer, CraftToken("v1.", R"({"idp":"i"})", kKeyA));
  ExpectInvalid(signer, CraftToken("v1.",
                                   R"({"cs":"","exp_ms":"soon","f":0,"iat_ms":1,"idp":"i",)"
                                   R"("n":"n","ru":"r"})",
                                   kKeyA));
  ExpectInvalid(signer, CraftToken("v1.",
                                   R"({"cs":"","exp_ms":1800000000000,"f":99999999999,)"
                                   R"("iat_ms":1,"idp":"i","n":"n","ru":"r"})",
                                   kKeyA));
}

TEST(StateToken, ExpiredAtAndAfterExpiresAt) {
  const StateSigner signer = SignerWith({kKeyA});
  const LoginState in = SampleState();
  const std::string token = signer.Issue(in);
  EXPECT_TRUE(signer.Verify(token, in.expires_at - absl::Milliseconds(1)).ok());
  for (absl::Time now : {in.expires_at, in.expires_at + absl::Hours(1)}) {
    absl::StatusOr<LoginState> got = signer.Verify(token, now);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(StateErrorOf(got.status()), StateError::kExpired) << got.status();
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("state_expired"));
  }
  // Tampering is reported as such even when the token is also expired.
  ExpectInvalid(signer, FlipChar(token, 5), in.expires_at + absl::Hours(1));
}

TEST(StateToken, ErrorNamesAndForeignStatuses) {
  EXPECT_EQ(StateErrorName(StateError::kInvalid), "state_invalid");
  EXPECT_EQ(StateErrorName(StateError::kExpired), "state_expired");
  EXPECT_EQ(StateErrorOf(absl::OkStatus()), StateError::kInvalid);
  EXPECT_EQ(StateErrorOf(absl::InternalError("boom")), StateError::kInvalid);
}

TEST(StateToken, CopiesShareTheKeys) {
  absl::StatusOr<StateSigner> original = StateSigner::FromKeys({kKeyA});
  ASSERT_TRUE(original.ok());
  const std::string token = original->Issue(SampleState());
  const StateSigner copy = *original;
  original = absl::UnknownError("gone");
  EXPECT_TRUE(copy.Verify(token, kT0).ok());
}

TEST(StateSignerKeys, FromKeysRefusesNoneAndShortKeys) {
  EXPECT_FALSE(StateSigner::FromKeys({}).ok());
  absl::StatusOr<StateSigner> short_key =
      StateSigner::FromKeys({kKeyA, "only-31-bytes-long-0123456789ab"});
  ASSERT_FALSE(short_key.ok());
  EXPECT_THAT(std::string(short_key.status().message()), HasSubstr("key 2"));
  EXPECT_THAT(std::string(short_key.status().message()), Not(HasSubstr("only-31")));
  EXPECT_TRUE(StateSigner::FromKeys({std::string(32, 'k')}).ok());
}

TEST(StateSignerKeys, KeyFileTrimsAndSkipsBlankLines) {
  TempDir dir;
  const std::string path = dir.Write("keys", "\n" + kKeyA + " \t\r\n\n  \n" + kKeyB + "\r\n");
  absl::StatusOr<StateSigner> from_file = StateSigner::FromKeyFile(path);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  // The first key signs, both verify.
  EXPECT_TRUE(SignerWith({kKeyA}).Verify(from_file->Issue(SampleState()), kT0).ok());
  EXPECT_TRUE(from_file->Verify(SignerWith({kKeyB}).Issue(SampleState()), kT0).ok());
}

TEST(StateSignerKeys, RotationKeepsOldTokensValid) {
  TempDir dir;
  const std::string path = dir.Write("keys", kKeyA + "\n");
  absl::StatusOr<StateSigner> before = StateSigner::FromKeyFile(path);
  ASSERT_TRUE(before.ok()) << before.status();
  const std::string old_token = before->Issue(SampleState());

  dir.Write("keys", kKeyB + "\n" + kKeyA + "\n");  // the new key goes first
  absl::StatusOr<StateSigner> after = StateSigner::FromKeyFile(path);
  ASSERT_TRUE(after.ok()) << after.status();
  absl::StatusOr<LoginState> verified = after->Verify(old_token, kT0);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->idp_id, "idp-7f3a");

  // New tokens are signed with the new key: a signer that only knows the old key refuses them.
  const std::string new_token = after->Issue(SampleState());
  EXPECT_TRUE(after->Verify(new_token, kT0).ok());
  EXPECT_TRUE(SignerWith({kKeyB}).Verify(new_token, kT0).ok());
  ExpectInvalid(*before, new_token);
}

TEST(StateSignerKeys, KeyFileErrorsNameTheFileNotTheKey) {
  TempDir dir;
  const std::string missing = dir.path() + "/no-such-keys";
  absl::StatusOr<StateSigner> s = StateSigner::FromKeyFile(missing);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(missing));

  const std::string short_key = "tooShortSecretValue42";
  const std::string path = dir.Write("short", kKeyA + "\n" + short_key + "\n");
  s = StateSigner::FromKeyFile(path);
  ASSERT_FALSE(s.ok());
  const std::string message(s.status().message());
  EXPECT_THAT(message, HasSubstr(path));
  EXPECT_THAT(message, HasSubstr("line 2"));
  EXPECT_THAT(message, Not(HasSubstr(short_key)));
  EXPECT_THAT(message, Not(HasSubstr("tooShort")));
  EXPECT_THAT(message, Not(HasSubstr(kKeyA.substr(0, 12))));

  s = StateSigner::FromKeyFile(dir.Write("blank", " \n\n\t\n"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("no key"));

  s = StateSigner::FromKeyFile(dir.path());  // a directory
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(dir.path()));
}

}  // namespace
}  // namespace sase::login

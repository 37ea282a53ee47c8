#include "callback/crypto.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "callback/error.h"
#include "callback/event.h"
#include "callback/inbound.h"
#include "callback/testing/test_data.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::callback {
namespace {

using ::nlohmann::json;
using ::sase::callback::testing::Hex;
using ::sase::callback::testing::LoadSharedJson;

json Vectors() {
  json v = LoadSharedJson("vectors.json");
  return v.is_array() ? v : json::array();
}

std::string Str(const json& v, const char* key) {
  auto it = v.find(key);
  return (it != v.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

bool HasEnvelope(const json& v) { return v.contains("receiver_id") && v["receiver_id"].is_string(); }

TEST(VectorsTest, FileLoadsWithAllSixVectors) {
  // Fails (does not skip) when the shared folder is missing: CI has it beside the repo.
  ASSERT_EQ(Vectors().size(), 6u) << "expected vectors.json at "
                                  << testing::SharedDingtalkDir();
}

TEST(VectorsTest, SignatureOfEverySignedVector) {
  int checked = 0;
  for (const json& v : Vectors()) {
    if (!v["signature"].is_string()) continue;
    SCOPED_TRACE(Str(v, "id"));
    const std::string sig = Str(v, "signature");
    EXPECT_EQ(ComputeSignature(Str(v, "token"), Str(v, "timestamp"), Str(v, "nonce"),
                               Str(v, "encrypt")),
              sig);
    EXPECT_TRUE(VerifySignature(Str(v, "token"), Str(v, "timestamp"), Str(v, "nonce"),
                                Str(v, "encrypt"), sig));
    std::string upper = sig;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_TRUE(VerifySignature(Str(v, "token"), Str(v, "timestamp"), Str(v, "nonce"),
                                Str(v, "encrypt"), upper));
    std::string flipped = sig;
    flipped[7] = flipped[7] == '0' ? '1' : '0';
    EXPECT_FALSE(VerifySignature(Str(v, "token"), Str(v, "timestamp"), Str(v, "nonce"),
                                 Str(v, "encrypt"), flipped));
    EXPECT_FALSE(VerifySignature(Str(v, "token") + "x", Str(v, "timestamp"), Str(v, "nonce"),
                                 Str(v, "encrypt"), sig));
    EXPECT_FALSE(VerifySignature(Str(v, "token"), Str(v, "timestamp"), Str(v, "nonce"),
                                 Str(v, "encrypt"), sig.substr(0, 39)));
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(VectorsTest, KeyDerivationMatchesHexForEveryVector) {
  for (const json& v : Vectors()) {
    SCOPED_TRACE(Str(v, "id"));
    absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(Str(v, "aes_key"));
    ASSERT_TRUE(cipher.ok()) << cipher.status();
    EXPECT_EQ(Hex(cipher->key().data(), cipher->key().size()), Str(v, "aes_key_hex"));
  }
}

TEST(VectorsTest, DecryptsEveryEnvelopeVectorToPlaintextAndReceiver) {
  int checked = 0;
  for (const json& v : Vectors()) {
    if (!HasEnvelope(v)) continue;
    SCOPED_TRACE(Str(v, "id"));
    absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(Str(v, "aes_key"));
    ASSERT_TRUE(cipher.ok()) << cipher.status();
    absl::StatusOr<DecryptedMessage> msg = cipher->Decrypt(Str(v, "encrypt"));
    ASSERT_TRUE(msg.ok()) << msg.status();
    EXPECT_EQ(msg->message, Str(v, "plaintext"));
    EXPECT_EQ(msg->receiver_id, Str(v, "receiver_id"));
    EXPECT_EQ(msg->message.size(), v["plaintext_len"].get<std::size_t>());

    absl::StatusOr<std::string> raw = cipher->DecryptRaw(Str(v, "encrypt"));
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_EQ(raw->substr(0, 16), Str(v, "random"));
    EXPECT_EQ(raw->size() + v["pkcs7_pad_byte"].get<std::size_t>(),
              v["padded_len_bytes"].get<std::size_t>());
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(VectorsTest, EncryptionWithTheVectorsRandomReproducesExactBytes) {
  int checked = 0;
  for (const json& v : Vectors()) {
    if (!HasEnvelope(v)) continue;
    SCOPED_TRACE(Str(v, "id"));
    absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(Str(v, "aes_key"));
    ASSERT_TRUE(cipher.ok());
    absl::StatusOr<std::string> enc =
        cipher->EncryptWithRandom(Str(v, "random"), Str(v, "plaintext"), Str(v, "receiver_id"));
    ASSERT_TRUE(enc.ok()) << enc.status();
    EXPECT_EQ(*enc, Str(v, "encrypt"));
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(VectorsTest, DeterministicVectorReproducesEncryptAndSignature) {
  for (const json& v : Vectors()) {
    if (Str(v, "id") != "007gzs-deterministic-encrypt") continue;
    absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(
        {Str(v, "token"), Str(v, "aes_key"), Str(v, "receiver_id"), "", false});
    ASSERT_TRUE(codec.ok()) << codec.status();
    absl::StatusOr<std::string> reply =
        codec->BuildReply(Str(v, "plaintext"), Str(v, "receiver_id"), Str(v, "timestamp"),
                          Str(v, "nonce"), "1234567890123456");
    ASSERT_TRUE(reply.ok()) << reply.status();
    const json r = json::parse(*reply);
    EXPECT_EQ(r["encrypt"], Str(v, "encrypt"));
    EXPECT_EQ(r["msg_signature"], Str(v, "signature"));
    EXPECT_EQ(r["timeStamp"], Str(v, "timestamp"));
    EXPECT_EQ(r["nonce"], Str(v, "nonce"));
    return;
  }
  FAIL() << "vector 007gzs-deterministic-encrypt not found";
}

TEST(VectorsTest, SuccessReplyVectorsReproduceTheDocumentedReplyJson) {
  int checked = 0;
  for (const json& v : Vectors()) {
    if (!HasEnvelope(v) || Str(v, "plaintext") != "success") continue;
    SCOPED_TRACE(Str(v, "id"));
    absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(
        {Str(v, "token"), Str(v, "aes_key"), Str(v, "receiver_id"), "", false});
    ASSERT_TRUE(codec.ok());
    absl::StatusOr<std::string> reply = codec->BuildReply(
        "success", Str(v, "receiver_id"), Str(v, "timestamp"), Str(v, "nonce"), Str(v, "random"));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(json::parse(*reply),
              (json{{"msg_signature", Str(v, "signature")},
                    {"timeStamp", Str(v, "timestamp")},
                    {"nonce", Str(v, "nonce")},
                    {"encrypt", Str(v, "encrypt")}}));
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST(VectorsTest, InboundVectorsPassTheWholeInboundPath) {
  int checked = 0;
  for (const json& v : Vectors()) {
    if (!HasEnvelope(v) || Str(v, "plaintext") == "success") continue;
    SCOPED_TRACE(Str(v, "id"));
    CallbackQuery q{Str(v, "signature"), Str(v, "timestamp"), Str(v, "nonce")};
    const std::string body = json{{"encrypt", Str(v, "encrypt")}}.dump();
    const absl::Time now = absl::FromUnixMillis(std::stoll(Str(v, "timestamp")) + 5000);
    absl::StatusOr<VerifiedEvent> ev = OpenCallback(
        q, body, {Str(v, "token"), Str(v, "aes_key"), Str(v, "receiver_id"), "", false}, now);
    ASSERT_TRUE(ev.ok()) << ev.status();
    EXPECT_EQ(ev->event.kind, EventKind::kCheckUrl);
    EXPECT_EQ(ev->event.raw_json, Str(v, "plaintext"));
    EXPECT_EQ(ev->receiver_id, Str(v, "receiver_id"));
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(VectorsTest, RawBlock16VectorDecryptsWithThe32TolerantUnpadder) {
  for (const json& v : Vectors()) {
    if (Str(v, "id") != "rust-raw-aes-cbc-block16") continue;
    absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(Str(v, "aes_key"));
    ASSERT_TRUE(cipher.ok());
    absl::StatusOr<std::string> raw = cipher->DecryptRaw(Str(v, "encrypt"));
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_EQ(*raw, Str(v, "plaintext"));
    return;
  }
  FAIL() << "vector rust-raw-aes-cbc-block16 not found";
}

TEST(AesKeyTest, ValidatesLengthAndAlphabet) {
  EXPECT_TRUE(ValidateAesKey("1234567890123456789012345678901234567890123").ok());
  EXPECT_EQ(ReasonOf(ValidateAesKey("123456789012345678901234567890123456789012")),
            CallbackError::kBadKey);
  EXPECT_EQ(ReasonOf(ValidateAesKey("12345678901234567890123456789012345678901234")),
            CallbackError::kBadKey);
  EXPECT_EQ(ReasonOf(ValidateAesKey("123456789012345678901234567890123456789012+")),
            CallbackError::kBadKey);
  EXPECT_EQ(ReasonOf(ValidateAesKey("123456789012345678901234567890123456789012=")),
            CallbackError::kBadKey);
  EXPECT_EQ(ReasonOf(CallbackCipher::Create("").status()), CallbackError::kBadKey);
}

TEST(AesKeyTest, ErrorMessageDoesNotEchoTheKey) {
  const std::string key = "secretsecretsecretsecretsecretsecretsecre+";
  absl::Status s = ValidateAesKey(key);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::Not(::testing::HasSubstr("secretsecret")));
}

TEST(CipherTest, RoundTripWithFreshRandomDiffersEachTime) {
  absl::StatusOr<CallbackCipher> cipher =
      CallbackCipher::Create("4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij");
  ASSERT_TRUE(cipher.ok());
  for (std::size_t len : {0u, 1u, 11u, 12u, 13u, 44u, 1000u}) {
    const std::string msg(len, 'm');
    absl::StatusOr<std::string> a = cipher->Encrypt(msg, "dingapp");
    absl::StatusOr<std::string> b = cipher->Encrypt(msg, "dingapp");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(*a, *b);
    EXPECT_EQ(a->find('\n'), std::string::npos);
    absl::StatusOr<DecryptedMessage> d = cipher->Decrypt(*a);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->message, msg);
    EXPECT_EQ(d->receiver_id, "dingapp");
    // 32-byte padding: a full pad block is added even when aligned.
    const std::size_t plain = 20 + len + 7;
    const std::size_t padded = (plain / 32 + 1) * 32;
    EXPECT_EQ(a->size(), 4 * ((padded + 2) / 3));
  }
}

TEST(CipherTest, PadIsAFullBlockWhenAligned) {
  absl::StatusOr<CallbackCipher> cipher =
      CallbackCipher::Create("1234567890123456789012345678901234567890123");
  ASSERT_TRUE(cipher.ok());
  absl::StatusOr<std::string> enc = cipher->EncryptRaw(std::string(32, 'x'));
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->size(), 88u);  // 64 bytes → 88 base64 chars
  absl::StatusOr<std::string> dec = cipher->DecryptRaw(*enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, std::string(32, 'x'));
}

// Canonical base64 takes a fast decoder; anything else (line breaks, spaces) the streaming
// OpenSSL decoder. Both must give the same bytes, for every padding length.
TEST(CipherTest, CanonicalAndLineBrokenBase64DecryptAlike) {
  absl::StatusOr<CallbackCipher> cipher =
      CallbackCipher::Create("Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7");
  ASSERT_TRUE(cipher.ok());
  int padding_seen[3] = {0, 0, 0};
  for (std::size_t len : {0u, 1u, 31u, 32u, 33u, 63u, 64u, 95u, 100u, 200u}) {
    const std::string plain(len, static_cast<char>('a' + len % 26));
    absl::StatusOr<std::string> enc = cipher->EncryptRaw(plain);
    ASSERT_TRUE(enc.ok());
    const std::size_t pad = enc->size() - enc->find_last_not_of('=') - 1;
    ASSERT_LE(pad, 2u);
    ++padding_seen[pad];
    std::string broken;
    for (std::size_t i = 0; i < enc->size(); ++i) {
      if (i > 0 && i % 64 == 0) broken += "\n";
      if (i == 5) broken += " ";
      broken += (*enc)[i];
    }
    for (const std::string& text : {*enc, broken}) {
      absl::StatusOr<std::string> back = cipher->DecryptRaw(text);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, plain);
    }
    // Malformed padding is rejected whichever decoder looks at it.
    for (const std::string& bad : {*enc + "=", enc->substr(0, enc->size() - 1),
                                   enc->substr(0, enc->size() - 4) + "A===",
                                   "=" + enc->substr(1)}) {
      absl::StatusOr<std::string> back = cipher->DecryptRaw(bad);
      ASSERT_FALSE(back.ok());
      EXPECT_EQ(ReasonOf(back.status()), CallbackError::kBadBase64) << bad;
    }
  }
  EXPECT_GT(padding_seen[0], 0);
  EXPECT_GT(padding_seen[1], 0);
  EXPECT_GT(padding_seen[2], 0);
}

TEST(CipherTest, CopiesShareKeyedContextsAcrossThreads) {
  absl::StatusOr<CallbackCipher> cipher =
      CallbackCipher::Create("Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7");
  ASSERT_TRUE(cipher.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures, &cipher, t] {
      const CallbackCipher copy = *cipher;  // NOLINT: copies share the keyed contexts
      for (int i = 0; i < 200; ++i) {
        const std::string msg = "m" + std::to_string(t) + "-" + std::to_string(i);
        absl::StatusOr<std::string> enc = (i % 2 == 0 ? copy : *cipher).Encrypt(msg, "r");
        absl::StatusOr<DecryptedMessage> dec =
            enc.ok() ? (i % 2 == 0 ? *cipher : copy).Decrypt(*enc)
                     : absl::StatusOr<DecryptedMessage>(enc.status());
        if (!dec.ok() || dec->message != msg || dec->receiver_id != "r") ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(EnvelopeTest, PackAndUnpack) {
  absl::StatusOr<std::string> packed = PackEnvelope("0123456789abcdef", "hello", "ding1");
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(packed->substr(16, 4), std::string("\0\0\0\x05", 4));
  absl::StatusOr<DecryptedMessage> m = UnpackEnvelope(*packed);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message, "hello");
  EXPECT_EQ(m->receiver_id, "ding1");
  EXPECT_EQ(ReasonOf(PackEnvelope("short", "x", "y").status()), CallbackError::kBadLength);
  EXPECT_EQ(ReasonOf(UnpackEnvelope(std::string(19, 'a')).status()), CallbackError::kBadLength);
  // msg_len 0xffffffff must not wrap around.
  std::string huge = std::string(16, 'r') + std::string("\xff\xff\xff\xff", 4) + "abc";
  EXPECT_EQ(ReasonOf(UnpackEnvelope(huge).status()), CallbackError::kBadLength);
  std::string exact = std::string(16, 'r') + std::string("\0\0\0\x03", 4) + "abc";
  absl::StatusOr<DecryptedMessage> e = UnpackEnvelope(exact);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->message, "abc");
  EXPECT_EQ(e->receiver_id, "");
}

}  // namespace
}  // namespace sase::callback

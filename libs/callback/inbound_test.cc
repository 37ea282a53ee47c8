#include "callback/inbound.h"

#include <openssl/evp.h>

#include <map>
#include <string>
#include <vector>

#include "callback/error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::callback {
namespace {

using ::nlohmann::json;
using ::testing::ElementsAre;

constexpr char kToken[] = "tok3n";
constexpr char kAesKey[] = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7";
constexpr char kAppKey[] = "dingsnotzck6pm5veliw";
constexpr char kCorpId[] = "ding28716be3f4b986aebc961a6cb783455b";
constexpr std::int64_t kNowMs = 1645077203219;
constexpr char kNonce[] = "nEXhMP4r";
constexpr char kEvent[] =
    R"({"EventType":"user_leave_org","CorpId":"ding28716be3f4b986aebc961a6cb783455b",)"
    R"("UserId":["013415163130664023"],"TimeStamp":"1645077203219"})";

absl::Time Now() { return absl::FromUnixMillis(kNowMs); }

CallbackKeys Keys(bool accept_corp = false) {
  return CallbackKeys{kToken, kAesKey, kAppKey, kCorpId, accept_corp};
}

struct Request {
  CallbackQuery query;
  std::string body;
};

// Signs `encrypt` correctly with kToken.
Request Signed(const std::string& encrypt, const std::string& timestamp = std::to_string(kNowMs)) {
  Request r;
  r.query.timestamp = timestamp;
  r.query.nonce = kNonce;
  r.query.signature = ComputeSignature(kToken, timestamp, kNonce, encrypt);
  r.body = json{{"encrypt", encrypt}}.dump();
  return r;
}

std::string EncryptFor(const std::string& message, const std::string& receiver) {
  absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(kAesKey);
  EXPECT_TRUE(cipher.ok());
  absl::StatusOr<std::string> enc = cipher->Encrypt(message, receiver);
  EXPECT_TRUE(enc.ok());
  return *enc;
}

// AES-256-CBC over already-aligned bytes, no padding added: to forge bad padding.
std::string EncryptNoPad(const std::string& aligned) {
  absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(kAesKey);
  EXPECT_TRUE(cipher.ok());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, cipher->key().data(), cipher->key().data());
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  std::string out(aligned.size() + 16, '\0');
  int n = 0;
  int f = 0;
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                    reinterpret_cast<const unsigned char*>(aligned.data()),
                    static_cast<int>(aligned.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &f);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<std::size_t>(n + f));
  std::string b64(4 * ((out.size() + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                  reinterpret_cast<const unsigned char*>(out.data()),
                                  static_cast<int>(out.size()));
  b64.resize(static_cast<std::size_t>(len));
  return b64;
}

CallbackError ReasonFor(const Request& r, const CallbackKeys& keys = Keys()) {
  absl::StatusOr<VerifiedEvent> ev = OpenCallback(r.query, r.body, keys, Now());
  return ev.ok() ? CallbackError::kNone : ReasonOf(ev.status());
}

TEST(InboundTest, ValidPushYieldsTheEvent) {
  Request r = Signed(EncryptFor(kEvent, kAppKey));
  absl::StatusOr<VerifiedEvent> ev = OpenCallback(r.query, r.body, Keys(), Now());
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(ev->event.kind, EventKind::kUserLeaveOrg);
  EXPECT_THAT(ev->event.user_ids, ElementsAre("013415163130664023"));
  EXPECT_EQ(ev->event.raw_json, kEvent);
  EXPECT_EQ(ev->receiver_id, kAppKey);
  EXPECT_EQ(ev->request_timestamp_ms, kNowMs);
}

TEST(InboundTest, ReplyRoundTrip) {
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(Keys());
  ASSERT_TRUE(codec.ok()) << codec.status();
  absl::StatusOr<std::string> reply = codec->SuccessReply(kAppKey, Now());
  ASSERT_TRUE(reply.ok()) << reply.status();
  const json r = json::parse(*reply);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r["timeStamp"], std::to_string(kNowMs));
  const std::string nonce = r["nonce"];
  EXPECT_EQ(nonce.size(), 16u);
  EXPECT_TRUE(std::all_of(nonce.begin(), nonce.end(),
                          [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
  EXPECT_TRUE(VerifySignature(kToken, r["timeStamp"].get<std::string>(), nonce,
                              r["encrypt"].get<std::string>(),
                              r["msg_signature"].get<std::string>()));
  absl::StatusOr<DecryptedMessage> m = codec->cipher().Decrypt(r["encrypt"].get<std::string>());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message, "success");
  EXPECT_EQ(m->receiver_id, kAppKey);
  // The reply passes our own inbound verification up to the event JSON ("success" is not JSON).
  CallbackQuery q{r["msg_signature"], r["timeStamp"], nonce};
  absl::StatusOr<VerifiedEvent> back =
      codec->Open(q, json{{"encrypt", r["encrypt"]}}.dump(), Now());
  EXPECT_EQ(ReasonOf(back.status()), CallbackError::kBadJson);

  absl::StatusOr<std::string> again = codec->SuccessReply(kAppKey, Now());
  ASSERT_TRUE(again.ok());
  EXPECT_NE(json::parse(*again)["encrypt"], r["encrypt"]);
  EXPECT_NE(json::parse(*again)["nonce"], r["nonce"]);
}

TEST(InboundTest, MissingParams) {
  Request r = Signed(EncryptFor(kEvent, kAppKey));
  Request no_sig = r;
  no_sig.query.signature.clear();
  EXPECT_EQ(ReasonFor(no_sig), CallbackError::kMissingSignature);
  Request no_ts = r;
  no_ts.query.timestamp.clear();
  EXPECT_EQ(ReasonFor(no_ts), CallbackError::kMissingParam);
  Request no_nonce = r;
  no_nonce.query.nonce.clear();
  EXPECT_EQ(ReasonFor(no_nonce), CallbackError::kMissingParam);
}

TEST(InboundTest, BadBody) {
  Request r = Signed(EncryptFor(kEvent, kAppKey));
  for (const char* body : {"", "{", "[]", R"({"encrypt":5})", R"({"Encrypt":"abc"})",
                           R"({"encrypt":""})", "\"abc\""}) {
    SCOPED_TRACE(body);
    Request b = r;
    b.body = body;
    EXPECT_EQ(ReasonFor(b), CallbackError::kBadBody);
  }
}

TEST(InboundTest, TamperedSignatureOrPayload) {
  const std::string enc = EncryptFor(kEvent, kAppKey);
  Request r = Signed(enc);
  Request flipped = r;
  flipped.query.signature[0] = flipped.query.signature[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(ReasonFor(flipped), CallbackError::kBadSignature);
  Request other_nonce = r;
  other_nonce.query.nonce = "otherNce";
  EXPECT_EQ(ReasonFor(other_nonce), CallbackError::kBadSignature);
  Request other_ts = r;
  other_ts.query.timestamp = std::to_string(kNowMs + 1);
  EXPECT_EQ(ReasonFor(other_ts), CallbackError::kBadSignature);
  Request body_changed = r;
  std::string enc2 = enc;
  enc2[5] = enc2[5] == 'A' ? 'B' : 'A';
  body_changed.body = json{{"encrypt", enc2}}.dump();
  EXPECT_EQ(ReasonFor(body_changed), CallbackError::kBadSignature);
  CallbackKeys wrong_token = Keys();
  wrong_token.token = "other";
  EXPECT_EQ(ReasonFor(r, wrong_token), CallbackError::kBadSignature);
  Request short_sig = r;
  short_sig.query.signature.pop_back();
  EXPECT_EQ(ReasonFor(short_sig), CallbackError::kBadSignature);
}

TEST(InboundTest, TimestampWindow) {
  const std::string enc = EncryptFor(kEvent, kAppKey);
  EXPECT_EQ(ReasonFor(Signed(enc, std::to_string(kNowMs - 3600 * 1000))), CallbackError::kNone);
  EXPECT_EQ(ReasonFor(Signed(enc, std::to_string(kNowMs + 3600 * 1000))), CallbackError::kNone);
  EXPECT_EQ(ReasonFor(Signed(enc, std::to_string(kNowMs - 3600 * 1000 - 1))),
            CallbackError::kBadTimestamp);
  EXPECT_EQ(ReasonFor(Signed(enc, std::to_string(kNowMs + 3600 * 1000 + 1))),
            CallbackError::kBadTimestamp);
  EXPECT_EQ(ReasonFor(Signed(enc, "12ab")), CallbackError::kBadTimestamp);
  EXPECT_EQ(ReasonFor(Signed(enc, "-1645077203219")), CallbackError::kBadTimestamp);
  EXPECT_EQ(ReasonFor(Signed(enc, "99999999999999999999")), CallbackError::kBadTimestamp);
  // Seconds (10 digits) are understood.
  EXPECT_EQ(ReasonFor(Signed(enc, std::to_string(kNowMs / 1000))), CallbackError::kNone);
  // A narrower window given by the caller.
  Request r = Signed(enc, std::to_string(kNowMs - 60 * 1000));
  EXPECT_EQ(ReasonOf(OpenCallback(r.query, r.body, Keys(), Now(), absl::Seconds(30)).status()),
            CallbackError::kBadTimestamp);
}

TEST(InboundTest, ParseRequestTimestamp) {
  EXPECT_EQ(*ParseRequestTimestampMs("1445827045067"), 1445827045067);
  EXPECT_EQ(*ParseRequestTimestampMs("1614767836"), 1614767836000);
  EXPECT_EQ(ReasonOf(ParseRequestTimestampMs("").status()), CallbackError::kMissingParam);
  EXPECT_EQ(ReasonOf(ParseRequestTimestampMs(" 1").status()), CallbackError::kBadTimestamp);
  EXPECT_EQ(ReasonOf(ParseRequestTimestampMs("9999999999999999999").status()),
            CallbackError::kBadTimestamp);
}

TEST(InboundTest, CiphertextFailuresGiveTheirReason) {
  EXPECT_EQ(ReasonFor(Signed("!!!notbase64!!!")), CallbackError::kBadBase64);
  EXPECT_EQ(ReasonFor(Signed("YWJj=ZGVm")), CallbackError::kBadBase64);
  EXPECT_EQ(ReasonFor(Signed("YWJjZA")), CallbackError::kBadBase64);  // incomplete quartet
  // 16 bytes: too short; 48 - 1 bytes: not a multiple of 16.
  EXPECT_EQ(ReasonFor(Signed("AAAAAAAAAAAAAAAAAAAAAA==")), CallbackError::kBadCiphertext);
  EXPECT_EQ(ReasonFor(Signed(std::string(60, 'A') + "AA==")), CallbackError::kBadCiphertext);

  const std::string env = std::string(16, 'r') + std::string("\0\0\0\x02", 4) + "{}" + kAppKey;
  // Pad byte 0, pad byte 33, pad bytes that differ.
  std::string pad0 = env + std::string(64 - env.size(), '\x01');
  pad0.back() = '\0';
  EXPECT_EQ(ReasonFor(Signed(EncryptNoPad(pad0))), CallbackError::kBadPadding);
  std::string big = std::string(64, 'x');
  big.back() = 33;
  EXPECT_EQ(ReasonFor(Signed(EncryptNoPad(big))), CallbackError::kBadPadding);
  std::string differ = env + std::string(64 - env.size(), static_cast<char>(64 - env.size()));
  differ[differ.size() - 2] = 'z';
  EXPECT_EQ(ReasonFor(Signed(EncryptNoPad(differ))), CallbackError::kBadPadding);
  // Correct padding (sanity for the forged helper): the same envelope decrypts fine… to "{}",
  // which lacks an EventType.
  std::string good = env + std::string(64 - env.size(), static_cast<char>(64 - env.size()));
  EXPECT_EQ(ReasonFor(Signed(EncryptNoPad(good))), CallbackError::kBadEvent);
}

TEST(InboundTest, LengthFieldIsBoundsChecked) {
  absl::StatusOr<CallbackCipher> cipher = CallbackCipher::Create(kAesKey);
  ASSERT_TRUE(cipher.ok());
  std::string env = std::string(16, 'r') + std::string("\x7f\xff\xff\xff", 4) + "{}" + kAppKey;
  absl::StatusOr<std::string> enc = cipher->EncryptRaw(env);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ReasonFor(Signed(*enc)), CallbackError::kBadLength);
  enc = cipher->EncryptRaw(std::string(19, 'r'));
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(ReasonFor(Signed(*enc)), CallbackError::kBadLength);
}

TEST(InboundTest, WrongKeyNeverSucceeds) {
  absl::StatusOr<CallbackCipher> other =
      CallbackCipher::Create("1234567890123456789012345678901234567890123");
  ASSERT_TRUE(other.ok());
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::string> enc = other->Encrypt(kEvent, kAppKey);
    ASSERT_TRUE(enc.ok());
    const CallbackError reason = ReasonFor(Signed(*enc));
    EXPECT_THAT(reason, ::testing::AnyOf(CallbackError::kBadPadding, CallbackError::kBadLength,
                                         CallbackError::kWrongReceiver, CallbackError::kBadJson));
  }
}

TEST(InboundTest, ReceiverIdMustBeTheAppKey) {
  EXPECT_EQ(ReasonFor(Signed(EncryptFor(kEvent, "dingsomeotherapp"))),
            CallbackError::kWrongReceiver);
  EXPECT_EQ(ReasonFor(Signed(EncryptFor(kEvent, ""))), CallbackError::kWrongReceiver);
  EXPECT_EQ(ReasonFor(Signed(EncryptFor(kEvent, std::string(kAppKey) + "x"))),
            CallbackError::kWrongReceiver);
  // CorpId only with the per-source option.
  Request corp = Signed(EncryptFor(kEvent, kCorpId));
  EXPECT_EQ(ReasonFor(corp, Keys(false)), CallbackError::kWrongReceiver);
  absl::StatusOr<VerifiedEvent> ok = OpenCallback(corp.query, corp.body, Keys(true), Now());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->receiver_id, kCorpId);
  // AppKey still works with the option on.
  Request app = Signed(EncryptFor(kEvent, kAppKey));
  absl::StatusOr<VerifiedEvent> app_ok = OpenCallback(app.query, app.body, Keys(true), Now());
  ASSERT_TRUE(app_ok.ok());
  EXPECT_EQ(app_ok->receiver_id, kAppKey);
}

TEST(InboundTest, EventPayloadFailures) {
  EXPECT_EQ(ReasonFor(Signed(EncryptFor("not json", kAppKey))), CallbackError::kBadJson);
  EXPECT_EQ(ReasonFor(Signed(EncryptFor(R"({"foo":1})", kAppKey))), CallbackError::kBadEvent);
  EXPECT_EQ(ReasonFor(Signed(EncryptFor(R"({"EventType":"whatever_new"})", kAppKey))),
            CallbackError::kNone);
}

TEST(InboundTest, CodecRejectsBadKeys) {
  CallbackKeys k = Keys();
  k.token.clear();
  EXPECT_EQ(ReasonOf(CallbackCodec::Create(k).status()), CallbackError::kBadKey);
  k = Keys();
  k.app_key.clear();
  EXPECT_EQ(ReasonOf(CallbackCodec::Create(k).status()), CallbackError::kBadKey);
  k = Keys(true);
  k.corp_id.clear();
  EXPECT_EQ(ReasonOf(CallbackCodec::Create(k).status()), CallbackError::kBadKey);
  k = Keys();
  k.aes_key.pop_back();
  absl::Status s = CallbackCodec::Create(k).status();
  EXPECT_EQ(ReasonOf(s), CallbackError::kBadKey);
  EXPECT_EQ(std::string(s.message()).find(k.aes_key.substr(0, 10)), std::string::npos);
}

TEST(InboundTest, BuildReplyValidatesItsInputs) {
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(Keys());
  ASSERT_TRUE(codec.ok());
  const std::string rnd(16, 'r');
  EXPECT_TRUE(codec->BuildReply("success", kAppKey, "1", "abc", rnd).ok());
  EXPECT_FALSE(codec->BuildReply("success", kAppKey, "", "abc", rnd).ok());
  EXPECT_FALSE(codec->BuildReply("success", kAppKey, "1x", "abc", rnd).ok());
  EXPECT_FALSE(codec->BuildReply("success", kAppKey, "1", "a\"b", rnd).ok());
  EXPECT_FALSE(codec->BuildReply("success", kAppKey, "1", "", rnd).ok());
  EXPECT_FALSE(codec->BuildReply("success", kAppKey, "1", "abc", "short").ok());
}

TEST(InboundTest, ReplyJsonIsByteStable) {
  // Members sorted by key, no spaces: the bytes nlohmann::json::dump() produced before RapidJSON.
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(Keys());
  ASSERT_TRUE(codec.ok());
  absl::StatusOr<std::string> reply =
      codec->BuildReply("success", kAppKey, "1645077203219", "nEXhMP4r", "1234567890123456");
  ASSERT_TRUE(reply.ok());
  const json parsed = json::parse(*reply);
  EXPECT_EQ(*reply, parsed.dump());
  EXPECT_EQ(reply->rfind(R"({"encrypt":")", 0), 0u);
  EXPECT_NE(reply->find(R"(","nonce":"nEXhMP4r","timeStamp":"1645077203219"})"), std::string::npos);
}

TEST(InboundTest, SuccessRepliesAreFreshAndOpenable) {
  absl::StatusOr<CallbackCodec> codec = CallbackCodec::Create(Keys());
  ASSERT_TRUE(codec.ok());
  absl::StatusOr<std::string> a = codec->SuccessReply(kAppKey, Now());
  absl::StatusOr<std::string> b = codec->SuccessReply(kAppKey, Now());
  ASSERT_TRUE(a.ok() && b.ok());
  const json ja = json::parse(*a);
  const json jb = json::parse(*b);
  EXPECT_NE(ja["nonce"], jb["nonce"]);
  EXPECT_NE(ja["encrypt"], jb["encrypt"]);
  for (const json* j : {&ja, &jb}) {
    const std::string nonce = (*j)["nonce"];
    EXPECT_EQ(nonce.size(), 16u);
    EXPECT_EQ(nonce.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
              std::string::npos);
    EXPECT_EQ((*j)["msg_signature"], ComputeSignature(kToken, (*j)["timeStamp"].get<std::string>(),
                                                      nonce, (*j)["encrypt"].get<std::string>()));
    absl::StatusOr<DecryptedMessage> m = codec->cipher().Decrypt((*j)["encrypt"].get<std::string>());
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->message, "success");
    EXPECT_EQ(m->receiver_id, kAppKey);
  }
}

// The push body is parsed with RapidJSON (speed); it must accept and reject exactly what
// nlohmann::json::parse did. Each body is checked against nlohmann itself, except the one
// documented difference (a zero with an exponent past the double range).
TEST(InboundTest, BodyJsonAcceptanceMatchesNlohmann) {
  const std::string enc = EncryptFor(kEvent, kAppKey);
  const std::string bom = "\xEF\xBB\xBF";
  const std::vector<std::string> bodies = {
      R"({"encrypt":")" + enc + R"("})",
      " \t\r\n{ \"encrypt\" : \"" + enc + "\" }\n",
      bom + R"({"encrypt":")" + enc + R"("})",
      bom + bom + R"({"encrypt":")" + enc + R"("})",
      "\xEF\xBB" + std::string(R"({"encrypt":")") + enc + R"("})",
      R"({"encrypt":"x","encrypt":")" + enc + R"("})",  // duplicate: the last one counts
      R"({"encrypt":")" + enc + R"(","encrypt":1})",
      R"({"encrypt":")" + enc + R"(","x":[1,-0,2.5e3,true,null,{"y":"\u00e9\ud83d\ude00"}]})",
      R"({"encrypt":")" + enc + R"(","x":"\udc00"})",         // lone low surrogate
      R"({"encrypt":")" + enc + R"(","x":"\ud800"})",         // lone high surrogate
      R"({"encrypt":")" + enc + R"(","x":"\\udc00"})",        // an escaped backslash, then text
      R"({"encrypt":")" + enc + "\",\"x\":\"\xC3\xA9\"}",     // raw UTF-8
      R"({"encrypt":")" + enc + "\",\"x\":\"\xED\xA0\x80\"}",  // raw CESU-8 surrogate
      R"({"encrypt":")" + enc + "\",\"x\":\"\xFF\"}",         // invalid UTF-8
      R"({"encrypt":")" + enc + "\",\"x\":\"\xC0\xAF\"}",     // overlong encoding
      R"({"encrypt":")" + enc + "\",\"x\":\"a\tb\"}",         // raw control character
      R"({"encrypt":")" + enc + R"(",})",                     // trailing comma
      "/* c */" + std::string(R"({"encrypt":")") + enc + R"("})",
      R"({"encrypt":")" + enc + R"("} {})",
      R"({"encrypt":")" + enc + R"(","x":NaN})",
      R"({"encrypt":")" + enc + R"(","x":01})",
      R"({"encrypt":")" + enc + R"(","x":1e400})",
      R"({"encrypt":")" + enc + R"(","x":18446744073709551616})",
      std::string(R"({"encrypt":")") + enc + "\"}" + std::string(1, '\0') + "garbage",
      std::string(R"({"encrypt":")") + enc + "\"}" + std::string(1, '\0') + R"("\udc00")",
      std::string(R"({"encrypt":"a)") + std::string(1, '\0') + R"("})",
      "[" + std::string(R"({"encrypt":")") + enc + R"("}])",
      std::string(50000, '[') + std::string(50000, ']'),
      R"({"encrypt":)" + std::string(50000, '[') + std::string(50000, ']') + "}",
      R"({"encrypt":""})",
      R"({"encrypt":null})",
      "",
      "null",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body.size() > 200 ? body.substr(0, 200) + "..." : body);
    const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    const bool nlohmann_ok = !j.is_discarded() && j.is_object() && j.contains("encrypt") &&
                             j["encrypt"].is_string() && !j["encrypt"].get<std::string>().empty();
    Request r = Signed(nlohmann_ok ? j["encrypt"].get<std::string>() : enc);
    r.body = body;
    const CallbackError reason = ReasonFor(r);
    if (nlohmann_ok) {
      // Same "encrypt" extracted: the signature over it verifies.
      EXPECT_EQ(reason, CallbackError::kNone);
    } else {
      EXPECT_EQ(reason, CallbackError::kBadBody);
    }
  }
}

TEST(InboundTest, ZeroWithHugeExponentIsRejectedUnlikeNlohmann) {
  // Decided: RapidJSON refuses decimal exponents past the double range even on a zero mantissa;
  // nlohmann read 0e400 as 0. No DingTalk body carries such a number.
  const std::string enc = EncryptFor(kEvent, kAppKey);
  Request r = Signed(enc);
  r.body = R"({"encrypt":")" + enc + R"(","x":0e400})";
  EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded());
  EXPECT_EQ(ReasonFor(r), CallbackError::kBadBody);
}

TEST(InboundTest, EscapedSlashesInEncryptAreUnescaped) {
  std::string enc;
  for (int i = 0; enc.find('/') == std::string::npos; ++i) {
    enc = EncryptFor(std::string(kEvent), kAppKey);
    ASSERT_LT(i, 100);
  }
  Request r = Signed(enc);
  std::string escaped;
  for (char c : enc) escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  r.body = R"({"encrypt":")" + escaped + R"("})";
  EXPECT_EQ(ReasonFor(r), CallbackError::kNone);
}

TEST(QueryTest, PicksParameterSpellings) {
  std::multimap<std::string, std::string> both{{"signature", "s1"},
                                               {"msg_signature", "s2"},
                                               {"timestamp", "1"},
                                               {"nonce", "n"}};
  CallbackQuery q = QueryFromParams(both);
  EXPECT_EQ(q.signature, "s2");
  EXPECT_EQ(q.timestamp, "1");
  EXPECT_EQ(q.nonce, "n");
  std::map<std::string, std::string> legacy{{"signature", "s1"}, {"timeStamp", "2"}};
  q = QueryFromParams(legacy);
  EXPECT_EQ(q.signature, "s1");
  EXPECT_EQ(q.timestamp, "2");
  EXPECT_EQ(q.nonce, "");
}

TEST(ErrorTest, ReasonsMapToHttpAndLabels) {
  EXPECT_EQ(HttpStatusFor(CallbackError::kBadSignature), 401);
  EXPECT_EQ(HttpStatusFor(CallbackError::kMissingSignature), 401);
  EXPECT_EQ(HttpStatusFor(CallbackError::kBadTimestamp), 401);
  EXPECT_EQ(HttpStatusFor(CallbackError::kBadPadding), 400);
  EXPECT_EQ(HttpStatusFor(CallbackError::kWrongReceiver), 400);
  EXPECT_EQ(HttpStatusFor(CallbackError::kBadKey), 500);
  EXPECT_EQ(ReasonName(CallbackError::kBadBase64), "bad_base64");
  EXPECT_EQ(ReasonName(CallbackError::kWrongReceiver), "wrong_receiver");
  absl::Status s = MakeError(CallbackError::kBadPadding, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), CallbackError::kBadPadding);
  EXPECT_EQ(ReasonOf(MakeError(CallbackError::kBadSignature, "x")), CallbackError::kBadSignature);
  EXPECT_EQ(MakeError(CallbackError::kBadSignature, "x").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(absl::InvalidArgumentError("foreign")), CallbackError::kNone);
  EXPECT_EQ(ReasonOf(absl::OkStatus()), CallbackError::kNone);
  for (int i = 1; i <= static_cast<int>(CallbackError::kInternal); ++i) {
    const auto reason = static_cast<CallbackError>(i);
    EXPECT_EQ(ReasonOf(MakeError(reason, "m")), reason) << ReasonName(reason);
  }
}

}  // namespace
}  // namespace sase::callback

#include "store/secret_box.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"

namespace sase::store {
namespace {

const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

SecretBox TestBox(const std::string& hex = kHexKey) {
  absl::StatusOr<SecretBox> box = SecretBox::FromEncodedKey(hex);
  EXPECT_TRUE(box.ok()) << box.status();
  return *std::move(box);
}

TEST(SecretBoxTest, RoundTrip) {
  SecretBox box = TestBox();
  std::string aad = SecretBox::Aad("tenant-a", "idp-1", "app_secret");
  for (std::string plain : {std::string(""), std::string("s3cr3t"), std::string(1000, 'x')}) {
    absl::StatusOr<std::string> env = box.Seal(plain, aad);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_EQ(env->size(), 1 + 12 + plain.size() + 16);
    EXPECT_EQ(static_cast<unsigned char>((*env)[0]), SecretBox::kVersion);
    if (!plain.empty()) {
      EXPECT_EQ(env->find(plain), std::string::npos);
    }
    absl::StatusOr<std::string> back = box.Open(*env, aad);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

TEST(SecretBoxTest, NoncesDiffer) {
  SecretBox box = TestBox();
  std::string aad = SecretBox::Aad("t", "i", "token");
  EXPECT_NE(*box.Seal("same", aad), *box.Seal("same", aad));
}

TEST(SecretBoxTest, TamperIsRejected) {
  SecretBox box = TestBox();
  std::string aad = SecretBox::Aad("t", "i", "token");
  std::string env = *box.Seal("payload-bytes", aad);
  for (size_t i = 1; i < env.size(); ++i) {  // every nonce, ciphertext and tag byte
    std::string bad = env;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    absl::StatusOr<std::string> r = box.Open(bad, aad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
  }
  std::string bad_version = env;
  bad_version[0] = 0x02;
  EXPECT_EQ(box.Open(bad_version, aad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(box.Open(env.substr(0, 20), aad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(box.Open(env.substr(0, env.size() - 1), aad).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, WrongAadIsRejected) {
  SecretBox box = TestBox();
  std::string env = *box.Seal("secret", SecretBox::Aad("tenant-a", "idp-1", "app_secret"));
  EXPECT_EQ(box.Open(env, SecretBox::Aad("tenant-b", "idp-1", "app_secret")).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(box.Open(env, SecretBox::Aad("tenant-a", "idp-2", "app_secret")).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(box.Open(env, SecretBox::Aad("tenant-a", "idp-1", "token")).status().code(),
            absl::StatusCode::kDataLoss);
  // Length prefixes keep shifted boundaries apart.
  EXPECT_NE(SecretBox::Aad("ab", "c", "d"), SecretBox::Aad("a", "bc", "d"));
}

TEST(SecretBoxTest, WrongKeyIsRejected) {
  SecretBox box = TestBox();
  SecretBox other = TestBox("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  std::string aad = SecretBox::Aad("t", "i", "aes_key");
  std::string env = *box.Seal("secret", aad);
  absl::StatusOr<std::string> r = other.Open(env, aad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretBoxTest, KeyEncodings) {
  std::string raw = absl::HexStringToBytes(kHexKey);
  SecretBox from_hex = TestBox();
  absl::StatusOr<SecretBox> from_b64 = SecretBox::FromEncodedKey(absl::Base64Escape(raw) + "\n");
  ASSERT_TRUE(from_b64.ok()) << from_b64.status();
  absl::StatusOr<SecretBox> from_b64url = SecretBox::FromEncodedKey(absl::WebSafeBase64Escape(raw));
  ASSERT_TRUE(from_b64url.ok()) << from_b64url.status();
  absl::StatusOr<SecretBox> from_raw = SecretBox::FromRawKey(raw);
  ASSERT_TRUE(from_raw.ok());
  std::string aad = "x";
  std::string env = *from_hex.Seal("v", aad);
  EXPECT_EQ(*from_b64->Open(env, aad), "v");
  EXPECT_EQ(*from_b64url->Open(env, aad), "v");
  EXPECT_EQ(*from_raw->Open(env, aad), "v");

  EXPECT_FALSE(SecretBox::FromEncodedKey("").ok());
  EXPECT_FALSE(SecretBox::FromEncodedKey(kHexKey.substr(2)).ok());
  EXPECT_FALSE(SecretBox::FromEncodedKey(absl::Base64Escape(raw.substr(1))).ok());
  EXPECT_FALSE(SecretBox::FromEncodedKey("not a key!").ok());
  EXPECT_FALSE(SecretBox::FromRawKey("short").ok());
}

TEST(SecretBoxTest, LoadFromEnvAndFile) {
  std::map<std::string, std::string> env = {{"MY_KEK", kHexKey}, {"BAD_KEK", "nope"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  absl::StatusOr<SecretBox> from_env = SecretBox::Load("", "MY_KEK", getenv);
  ASSERT_TRUE(from_env.ok()) << from_env.status();

  std::string path = ::testing::TempDir() + "/secret_box_test_kek";
  {
    std::ofstream out(path);
    out << absl::Base64Escape(absl::HexStringToBytes(kHexKey)) << "\n";
  }
  absl::StatusOr<SecretBox> from_file = SecretBox::Load(path, "", getenv);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  std::string aad = "a";
  EXPECT_EQ(*from_file->Open(*from_env->Seal("same key", aad), aad), "same key");
  std::remove(path.c_str());

  absl::Status none = SecretBox::Load("", "", getenv).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.message().find("kek_file"), absl::string_view::npos);
  absl::Status both = SecretBox::Load(path, "MY_KEK", getenv).status();
  EXPECT_EQ(both.code(), absl::StatusCode::kInvalidArgument);
  absl::Status missing_env = SecretBox::Load("", "UNSET_KEK", getenv).status();
  EXPECT_NE(missing_env.message().find("kek_env"), absl::string_view::npos);
  absl::Status bad_env = SecretBox::Load("", "BAD_KEK", getenv).status();
  EXPECT_NE(bad_env.message().find("kek_env"), absl::string_view::npos);
  EXPECT_EQ(bad_env.message().find("nope"), absl::string_view::npos);  // never echoes the value
  absl::Status missing_file = SecretBox::Load("/nonexistent/kek", "", getenv).status();
  EXPECT_NE(missing_file.message().find("kek_file"), absl::string_view::npos);
}

}  // namespace
}  // namespace sase::store

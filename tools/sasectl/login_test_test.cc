#include "sasectl/login_test.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "login/assertion_signer.h"

namespace sase::sasectl {
namespace {

TEST(LoginTestTest, ParsesTheFragment) {
  nlohmann::json f = ParseFragment("https://c.example/cb#assertion=a.b.c&token_type=Bearer&state=x%20y+z");
  EXPECT_EQ(f["assertion"], "a.b.c");
  EXPECT_EQ(f["token_type"], "Bearer");
  EXPECT_EQ(f["state"], "x y z");
  EXPECT_TRUE(ParseFragment("https://c.example/cb").empty());
}

TEST(LoginTestTest, VerifiesOnlyWithTheNamedKeyOfTheJwks) {
  auto signer = login::AssertionSigner::Ephemeral();
  ASSERT_TRUE(signer.ok());
  auto other = login::AssertionSigner::Ephemeral();
  ASSERT_TRUE(other.ok());
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  absl::StatusOr<std::string> token =
      (*signer)->Sign({{"sub", "u1"}, {"iat", now}, {"exp", now + 300}, {"aud", "sase-client"}});
  ASSERT_TRUE(token.ok());
  const std::string jwks = login::JwksDocument((*signer)->PublicJwks());
  absl::StatusOr<LoginTestResult> ok = VerifyAssertion(*token, jwks);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->claims["sub"], "u1");
  EXPECT_EQ(ok->kid, (*signer)->kid());
  EXPECT_EQ(ok->assertion_prefix.size(), 12u);

  std::string tampered = *token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyAssertion(tampered, jwks).ok());
  EXPECT_TRUE(absl::IsNotFound(VerifyAssertion(*token, login::JwksDocument((*other)->PublicJwks())).status()));
  absl::StatusOr<std::string> expired = (*signer)->Sign({{"sub", "u1"}, {"iat", now - 600}, {"exp", now - 300}});
  EXPECT_TRUE(absl::IsPermissionDenied(VerifyAssertion(*expired, jwks).status()));
  EXPECT_FALSE(VerifyAssertion("not-a-jws", jwks).ok());
}

}  // namespace
}  // namespace sase::sasectl

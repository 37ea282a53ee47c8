#include "common/validation.h"

#include "gtest/gtest.h"

namespace sase::common {
namespace {

TEST(ValidationTest, TenantId) {
  EXPECT_TRUE(ValidateTenantId("acme-01").ok());
  EXPECT_EQ(ValidateTenantId("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTenantId("a b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateTenantId(std::string(65, 'a')).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidationTest, Uuid) {
  EXPECT_TRUE(IsUuid("0f8b7c1e-2a3b-4c5d-8e9f-001122334455"));
  EXPECT_FALSE(IsUuid("0f8b7c1e-2a3b-4c5d-8e9f-00112233445"));
  EXPECT_FALSE(IsUuid("0f8b7c1e-2a3b-4c5d-8e9f-00112233445g"));
  EXPECT_NE(ValidateUuid("user_id", "x").message().find("user_id"), std::string::npos);
}

TEST(ValidationTest, PageSize) {
  EXPECT_EQ(*ResolvePageSize(0, 100, 1000), 100);
  EXPECT_EQ(*ResolvePageSize(7, 100, 1000), 7);
  EXPECT_FALSE(ResolvePageSize(1001, 100, 1000).ok());
  EXPECT_FALSE(ResolvePageSize(-1, 100, 1000).ok());
}

TEST(ValidationTest, PageTokenRoundTripAndKindCheck) {
  std::string t = EncodePageToken("users", "abc|123");
  EXPECT_EQ(*DecodePageToken("users", t), "abc|123");
  EXPECT_FALSE(DecodePageToken("depts", t).ok());
  EXPECT_FALSE(DecodePageToken("users", "!!!").ok());
}

}  // namespace
}  // namespace sase::common

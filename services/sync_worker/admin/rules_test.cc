#include "sync_worker/admin/rules.h"

#include <gtest/gtest.h>

namespace sase::sync_worker {
namespace {

bool HasField(const absl::Status& s, const std::string& field) {
  return s.code() == absl::StatusCode::kInvalidArgument && std::string(s.message()).rfind(field + ":", 0) == 0;
}

TEST(RulesTest, Utf8Decoding) {
  std::u32string cps;
  EXPECT_TRUE(DecodeUtf8("a\xe4\xb8\xad\xf0\xa0\x80\x80", &cps));  // a, 中 (U+4E2D), U+20000
  EXPECT_EQ(cps, (std::u32string{U'a', U'\u4e2d', U'\U00020000'}));
  EXPECT_FALSE(DecodeUtf8("\xc0\xaf", &cps));          // overlong '/'
  EXPECT_FALSE(DecodeUtf8("\xed\xa0\x80", &cps));      // surrogate
  EXPECT_FALSE(DecodeUtf8("\xe4\xb8", &cps));          // truncated
  EXPECT_FALSE(DecodeUtf8("\xff", &cps));              // invalid lead
  EXPECT_FALSE(DecodeUtf8("\xf4\x90\x80\x80", &cps));  // above U+10FFFF
  EXPECT_FALSE(DecodeUtf8("\x80", &cps));              // stray continuation
  EXPECT_EQ(Utf8Length("中文ab"), 4);
  EXPECT_EQ(Utf8Length("\xe4"), -1);
}

TEST(RulesTest, SourceName) {
  EXPECT_TRUE(ValidateSourceName("ab").ok());
  EXPECT_TRUE(ValidateSourceName("钉钉").ok());  // 2 characters, 6 bytes
  EXPECT_TRUE(ValidateSourceName("Corp_钉钉-01").ok());
  EXPECT_TRUE(ValidateSourceName(std::string(100, 'x')).ok());
  std::string hundred_cjk;
  for (int i = 0; i < 100; ++i) hundred_cjk += "中";  // 300 bytes, 100 characters
  EXPECT_TRUE(ValidateSourceName(hundred_cjk).ok());
  EXPECT_TRUE(HasField(ValidateSourceName(hundred_cjk + "中"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName(""), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("a"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("中"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName(std::string(101, 'x')), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("has space"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("dot.name"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("emoji\xf0\x9f\x98\x80"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("ｆｕｌｌ"), "name"));  // full-width letters are not ASCII
  EXPECT_TRUE(HasField(ValidateSourceName("カタカナ"), "name"));
  EXPECT_TRUE(HasField(ValidateSourceName("bad\xe4\xb8"), "name"));
}

TEST(RulesTest, AesKeyAndCycle) {
  EXPECT_TRUE(ValidateAesKey("1234567890123456789012345678901234567890123").ok());
  EXPECT_TRUE(ValidateAesKey("o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus").ok());
  EXPECT_TRUE(HasField(ValidateAesKey("123456789012345678901234567890123456789012"), "aes_key"));
  EXPECT_TRUE(HasField(ValidateAesKey("12345678901234567890123456789012345678901234"), "aes_key"));
  absl::Status bad = ValidateAesKey("123456789012345678901234567890123456789012+");
  EXPECT_TRUE(HasField(bad, "aes_key"));
  EXPECT_EQ(bad.message().find("+"), absl::string_view::npos);
  EXPECT_TRUE(ValidateSyncCycleHours(1).ok());
  EXPECT_TRUE(ValidateSyncCycleHours(24).ok());
  EXPECT_TRUE(HasField(ValidateSyncCycleHours(0), "sync_cycle_hours"));
  EXPECT_TRUE(HasField(ValidateSyncCycleHours(25), "sync_cycle_hours"));
  EXPECT_TRUE(HasField(ValidateSyncCycleHours(-1), "sync_cycle_hours"));
}

TEST(RulesTest, TextTokenAndExtendedName) {
  EXPECT_TRUE(ValidateText("description", "", 0, 500).ok());
  EXPECT_TRUE(HasField(ValidateText("description", std::string(501, 'x'), 0, 500), "description"));
  EXPECT_TRUE(HasField(ValidateText("description", "line\nbreak", 0, 500), "description"));
  EXPECT_TRUE(ValidateToken("corp_id", "ding123", 128).ok());
  EXPECT_TRUE(HasField(ValidateToken("corp_id", "", 128), "corp_id"));
  absl::Status secret = ValidateToken("app_secret", "has space secret", 256);
  EXPECT_TRUE(HasField(secret, "app_secret"));
  EXPECT_EQ(secret.message().find("space secret"), absl::string_view::npos);
  EXPECT_TRUE(ValidateExtendedFieldName("name", "cost_center2").ok());
  EXPECT_TRUE(HasField(ValidateExtendedFieldName("name", "2cost"), "name"));
  EXPECT_TRUE(HasField(ValidateExtendedFieldName("name", "Cost"), "name"));
  EXPECT_TRUE(HasField(ValidateExtendedFieldName("name", std::string(65, 'a')), "name"));
}

TEST(RulesTest, MappingsScopeGuard) {
  EXPECT_TRUE(ValidateFieldMappings({{"job_number", "job_number"}, {"extension.工号", "ext.emp_no"}}).ok());
  EXPECT_TRUE(HasField(ValidateFieldMappings({{"nonsense", "email"}}), "field_mappings[0].source_field"));
  EXPECT_TRUE(HasField(ValidateFieldMappings({{"extension.", "email"}}), "field_mappings[0].source_field"));
  EXPECT_TRUE(HasField(ValidateFieldMappings({{"email", "password"}}), "field_mappings[0].target_field"));
  EXPECT_TRUE(HasField(ValidateFieldMappings({{"email", "ext.Bad"}}), "field_mappings[0].target_field"));
  EXPECT_TRUE(
      HasField(ValidateFieldMappings({{"email", "email"}, {"org_email", "email"}}), "field_mappings[1].target_field"));
  EXPECT_TRUE(ValidateScope({}).ok());
  EXPECT_TRUE(ValidateScope({1, 5}).ok());
  EXPECT_TRUE(HasField(ValidateScope({1, 0}), "scope.root_department_ids[1]"));
  EXPECT_TRUE(HasField(ValidateScope({3, 3}), "scope.root_department_ids[1]"));
  EXPECT_TRUE(ValidateDeletionGuard(0, 0).ok());
  EXPECT_TRUE(HasField(ValidateDeletionGuard(-1, 0), "deletion_guard.max_departures"));
  EXPECT_TRUE(HasField(ValidateDeletionGuard(0, 101), "deletion_guard.max_departure_percent"));
}

TEST(RulesTest, LoginRedirectUris) {
  EXPECT_TRUE(ValidateRedirectUris({}).ok());
  EXPECT_TRUE(ValidateRedirectUris({"https://client.example/cb?x=1", "http://127.0.0.1:8123/cb", "http://localhost/cb",
                                    "http://[::1]:9/cb", "com.example.sase:/callback", "sase://callback"})
                  .ok());
  EXPECT_TRUE(HasField(ValidateRedirectUris({"https://ok.example/cb", "http://client.example/cb"}),
                       "login_redirect_uris[1]"));  // plain http off loopback
  EXPECT_TRUE(HasField(ValidateRedirectUris({"https://client.example/cb#frag"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"https://user:pw@client.example/cb"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"javascript:alert(1)"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"data://text/html,x"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"file:///etc/passwd"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"/relative/cb"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"https://a.example/ cb"}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({""}), "login_redirect_uris[0]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"https://a.example/cb", "https://a.example/cb"}), "login_redirect_uris[1]"));
  EXPECT_TRUE(HasField(ValidateRedirectUris(std::vector<std::string>(17, "https://a.example/cb")), "login_redirect_uris"));
  EXPECT_TRUE(HasField(ValidateRedirectUris({"https://a.example/" + std::string(2048, 'a')}), "login_redirect_uris[0]"));
}

TEST(RulesTest, EnterpriseId) {
  EXPECT_EQ(*NormalizeEnterpriseId(""), "");
  EXPECT_EQ(*NormalizeEnterpriseId("Acme-Corp"), "acme-corp");
  EXPECT_EQ(*NormalizeEnterpriseId("a1b"), "a1b");
  EXPECT_TRUE(HasField(NormalizeEnterpriseId("ab").status(), "enterprise_id"));
  EXPECT_TRUE(HasField(NormalizeEnterpriseId(std::string(65, 'a')).status(), "enterprise_id"));
  EXPECT_TRUE(HasField(NormalizeEnterpriseId("-acme").status(), "enterprise_id"));
  EXPECT_TRUE(HasField(NormalizeEnterpriseId("acme-").status(), "enterprise_id"));
  EXPECT_TRUE(HasField(NormalizeEnterpriseId("ac me").status(), "enterprise_id"));
  EXPECT_TRUE(HasField(NormalizeEnterpriseId("阿里").status(), "enterprise_id"));
}

}  // namespace
}  // namespace sase::sync_worker

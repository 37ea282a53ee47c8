#include "sync_worker/source/field_mapping.h"

#include <gtest/gtest.h>

#include "dingtalk/testing/fake_client.h"

namespace sase::sync_worker {
namespace {

using dingtalk::testing::UserBuilder;

TEST(FieldMappingTest, BuiltInFieldsAndExtensionAttributes) {
  dingtalk::User u = UserBuilder("zhangsan")
                         .Name("张三")
                         .Email("zs@example.com")
                         .Title("工程师")
                         .JobNumber("A001")
                         .Extension(R"({"工号":"E-42","level":3})")
                         .Build();
  u.hired_date_ms = 1700000000123;
  auto out = MapUser(u, {});
  EXPECT_EQ(out.dingtalk_userid(), "zhangsan");
  EXPECT_EQ(out.name(), "张三");
  EXPECT_EQ(out.email(), "zs@example.com");
  EXPECT_EQ(out.title(), "工程师");
  EXPECT_EQ(out.job_number(), "A001");
  EXPECT_EQ(out.status(), ::sase::dingtalk::v1::USER_ACTIVE);
  EXPECT_EQ(out.hired_time().seconds(), 1700000000);
  EXPECT_EQ(out.hired_time().nanos(), 123000000);
  EXPECT_EQ(out.attributes().at("extension.工号"), "E-42");
  EXPECT_EQ(out.attributes().at("extension.level"), "3");
}

TEST(FieldMappingTest, MappingsOverrideBuiltInsAndFillExtendedFields) {
  dingtalk::User u = UserBuilder("lisi").Email("li@example.com").OrgEmail("li@corp.example").Build();
  u.extension = R"({"cost":"CC-7"})";
  u.work_place = "杭州";
  auto out = MapUser(u, {{"org_email", "email"},
                         {"extension.cost", "ext.cost_center"},
                         {"work_place", "ext.site"},
                         {"extension.missing", "ext.gone"},
                         {"remark", "title"}});
  EXPECT_EQ(out.email(), "li@corp.example");
  EXPECT_EQ(out.attributes().at("cost_center"), "CC-7");
  EXPECT_EQ(out.attributes().at("site"), "杭州");
  EXPECT_FALSE(out.attributes().contains("gone"));
  EXPECT_EQ(out.title(), "");  // source absent -> target cleared
}

TEST(FieldMappingTest, SourceValueFormats) {
  dingtalk::User u = UserBuilder("x").Active(false).Build();
  u.hired_date_ms = 0;
  EXPECT_EQ(SourceValue(u, "active"), "false");
  EXPECT_EQ(SourceValue(u, "hired_date"), "1970-01-01T00:00:00+00:00");
  EXPECT_EQ(SourceValue(u, "email"), std::nullopt);
  u.extension = "not json";
  EXPECT_EQ(SourceValue(u, "extension.k"), std::nullopt);
}

TEST(FieldMappingTest, DisabledUser) {
  dingtalk::User u = UserBuilder("x").Build();
  u.disabled = true;
  EXPECT_EQ(MapUser(u, {}).status(), ::sase::dingtalk::v1::USER_DISABLED);
}

}  // namespace
}  // namespace sase::sync_worker

#include "dingtalk/internal/parse.h"

#include <gtest/gtest.h>

namespace sase::dingtalk::internal {
namespace {

Json J(const char* text) {
  std::optional<Json> j = ParseJson(text);
  EXPECT_TRUE(j.has_value()) << text;
  return j.value_or(Json::object());
}

// The doc example of topapi/v2/user/list: every scalar quoted, `list` a single object.
constexpr char kQuotedUserList[] = R"({
  "errcode": "0",
  "result": {
    "next_cursor": "10", "has_more": "true",
    "list": {
      "leader": "true", "extension": "{\"爱好\":\"旅游\",\"年龄\":\"24\"}",
      "unionid": "z21HjQliSzpw0YWCNxmii6u2Os62cZ62iSZ", "boss": "true", "exclusive_account": "false",
      "admin": "true", "remark": "备注备注", "title": "技术总监", "hired_date": "1597573616828",
      "userid": "zhangsan", "work_place": "未来park", "dept_id_list": "[2,3,4]", "job_number": "4",
      "email": "test@xxx.com", "dept_order": "1", "mobile": "18513027676", "active": "true",
      "telephone": "010-86123456-2345", "avatar": "xxx", "hide_mobile": "false", "org_email": "test@xxx.com",
      "name": "张三", "state_code": "86"
    }
  },
  "errmsg": "ok"
})";

TEST(ParseUserPage, QuotedScalarsFromDocExample) {
  absl::StatusOr<UserPage> page = ParseUserPage(J(kQuotedUserList), 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->has_more);
  EXPECT_EQ(page->next_cursor, 10);
  ASSERT_EQ(page->users.size(), 1u);
  const User& u = page->users[0];
  EXPECT_EQ(u.userid, "zhangsan");
  EXPECT_EQ(u.name, "张三");
  EXPECT_EQ(u.dept_id_list, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_TRUE(u.active);
  EXPECT_TRUE(u.admin);
  EXPECT_TRUE(u.boss);
  EXPECT_FALSE(u.hide_mobile);
  EXPECT_FALSE(u.exclusive_account);
  EXPECT_EQ(u.hired_date_ms, 1597573616828);
  EXPECT_EQ(u.extension, R"({"爱好":"旅游","年龄":"24"})");
  EXPECT_EQ(u.org_email, "test@xxx.com");
  EXPECT_TRUE(u.IsLeaderOf(10));
  EXPECT_FALSE(u.IsLeaderOf(2));
  ASSERT_EQ(u.dept_order_list.size(), 1u);
  EXPECT_EQ(u.dept_order_list[0].dept_id, 10);
  EXPECT_EQ(u.dept_order_list[0].order, 1);
}

TEST(ParseUserPage, NativeTypes) {
  absl::StatusOr<UserPage> page = ParseUserPage(J(R"({"errcode":0,"result":{"has_more":false,"list":[
      {"userid":"a","dept_id_list":[5],"active":false,"leader":false,"hired_date":1,"unknown_field":{"x":1}},
      {"userid":"b","dept_id_list":[5,6],"active":true,"extension":{"k":"v"}}]}})"),
                                                5);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_FALSE(page->has_more);
  ASSERT_EQ(page->users.size(), 2u);
  EXPECT_FALSE(page->users[0].active);
  EXPECT_TRUE(page->users[1].active);
  EXPECT_EQ(page->users[1].dept_id_list, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(page->users[1].extension, R"({"k":"v"})");
}

TEST(ParseUserPage, RejectsHasMoreWithoutCursorAndMissingUserid) {
  EXPECT_FALSE(ParseUserPage(J(R"({"result":{"has_more":true,"list":[]}})"), 1).ok());
  EXPECT_FALSE(ParseUserPage(J(R"({"result":{"has_more":false,"list":[{"name":"x"}]}})"), 1).ok());
  EXPECT_FALSE(ParseUserPage(J(R"({"errcode":0})"), 1).ok());
}

TEST(ParseUserGet, DocExampleWithObjectsForArrays) {
  absl::StatusOr<User> u = ParseUserGet(J(R"({"errcode":"0","result":{
      "userid":"zhangsan","unionid":"z21","manager_userid":"manager240","senior":"true","real_authed":"true",
      "role_list":{"group_name":"职务","name":"总监","id":"100"},
      "dept_order_list":{"dept_id":"2","order":"1"},
      "leader_in_dept":{"leader":"true","dept_id":"2"},
      "dept_id_list":"[2,3,4]","exclusive_account":false,"disable_status":"false",
      "exclusive_account_type":"sso","login_id":"zs"},"errmsg":"ok"})"));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->manager_userid, "manager240");
  EXPECT_TRUE(u->senior);
  EXPECT_TRUE(u->real_authed);
  ASSERT_EQ(u->role_list.size(), 1u);
  EXPECT_EQ(u->role_list[0].id, 100);
  EXPECT_TRUE(u->IsLeaderOf(2));
  EXPECT_FALSE(u->IsLeaderOf(3));
  ASSERT_EQ(u->dept_order_list.size(), 1u);
  EXPECT_EQ(u->dept_order_list[0].order, 1);
  EXPECT_EQ(u->disabled, false);
  EXPECT_EQ(u->exclusive_account_type, "sso");
  EXPECT_EQ(u->login_id, "zs");
}

TEST(ParseDepartments, ListSubGetAndIds) {
  absl::StatusOr<std::vector<Department>> subs = ParseListSub(J(R"({"errcode":0,"errmsg":"ok","result":[
      {"auto_add_user":true,"create_dept_group":true,"dept_id":147953855,"name":"财务部","parent_id":1}],
      "request_id":"5um7ykyaalsj"})"));
  ASSERT_TRUE(subs.ok()) << subs.status();
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].dept_id, 147953855);
  EXPECT_EQ((*subs)[0].parent_id, 1);
  EXPECT_TRUE((*subs)[0].auto_add_user);

  absl::StatusOr<Department> d = ParseDepartmentGet(J(R"({"errcode":0,"result":{"dept_manager_userid_list":
      ["1020302901-431772414"],"org_dept_owner":"manager9153","hide_dept":false,"name":"测试","dept_id":1,
      "order":0,"code":"100","member_count":"12"}})"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->dept_id, 1);
  EXPECT_EQ(d->parent_id, 0);
  EXPECT_EQ(d->dept_manager_userid_list, (std::vector<std::string>{"1020302901-431772414"}));
  EXPECT_EQ(d->member_count, 12);

  absl::StatusOr<std::vector<int64_t>> ids = ParseListSubId(J(R"({"errcode":0,"result":{"dept_id_list":[3,"4"]}})"));
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int64_t>{3, 4}));
}

TEST(ParseSmallResults, UnionIdCountUserInfoMeTokens) {
  absl::StatusOr<UnionIdLookup> l =
      ParseGetByUnionId(J(R"({"errcode":"0","result":{"contact_type":"0","userid":"zhangsan"}})"));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->userid, "zhangsan");
  EXPECT_EQ(l->contact_type, 0);
  EXPECT_EQ(ParseCount(J(R"({"errcode":0,"result":{"count":4}})")).value_or(-1), 4);
  absl::StatusOr<FreeLoginUser> f = ParseGetUserInfo(J(R"({"errcode":0,"result":{"associated_unionid":"N2o",
      "unionid":"gli","device_id":"12d","sys_level":1,"name":"张xx","sys":true,"userid":"userid123"}})"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->userid, "userid123");
  EXPECT_TRUE(f->sys);
  EXPECT_EQ(f->sys_level, 1);
  absl::StatusOr<Me> me = ParseMe(J(R"({"nick":"zhangsan","avatarUrl":"https://xxx","mobile":"150","openId":"123",
      "unionId":"z21","email":"z@a.com","stateCode":"86"})"));
  ASSERT_TRUE(me.ok());
  EXPECT_EQ(me->union_id, "z21");
  absl::Time now = absl::FromUnixSeconds(1000);
  absl::StatusOr<AccessToken> t = ParseAccessToken(J(R"({"accessToken":"abc","expireIn":7200})"), now);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expires_at, now + absl::Seconds(7200));
  t = ParseAccessToken(J(R"({"errcode":0,"access_token":"old","errmsg":"ok","expires_in":"7200"})"), now);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token, "old");
  absl::StatusOr<UserAccessToken> ut =
      ParseUserAccessToken(J(R"({"accessToken":"a","refreshToken":"r","expireIn":7200,"corpId":"c"})"), now);
  ASSERT_TRUE(ut.ok());
  EXPECT_EQ(ut->corp_id, "c");
}

TEST(ParseFailedCallbacks, BothLayouts) {
  absl::StatusOr<FailedCallbackPage> cur = ParseFailedCallbacks(J(R"({"errcode":0,"errmsg":"ok","failed_list":[
      {"user_add_org":{"userid":["zhangsan"],"corpid":"ding241"},"call_back_tag":"user_add_org",
       "event_time":1606126433000},
      {"org_dept_remove":{"deptid":[7,8],"corpid":"ding241"},"call_back_tag":"org_dept_remove","event_time":1}],
      "has_more":true})"));
  ASSERT_TRUE(cur.ok());
  EXPECT_TRUE(cur->has_more);
  ASSERT_EQ(cur->events.size(), 2u);
  EXPECT_EQ(cur->events[0].userids, (std::vector<std::string>{"zhangsan"}));
  EXPECT_EQ(cur->events[0].corp_id, "ding241");
  EXPECT_EQ(cur->events[0].event_time_ms, 1606126433000);
  EXPECT_EQ(cur->events[1].dept_ids, (std::vector<int64_t>{7, 8}));

  absl::StatusOr<FailedCallbackPage> old = ParseFailedCallbacks(J(R"({"errcode":0,"has_more":false,"failed_list":[
      {"event_time":32112412,"call_back_tag":"user_add_org","userid":["u1",""],"corpid":"c"}]})"));
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->events.size(), 1u);
  EXPECT_EQ(old->events[0].userids, (std::vector<std::string>{"u1"}));
  EXPECT_EQ(old->events[0].corp_id, "c");
}

TEST(JsonUtil, LenientScalars) {
  EXPECT_EQ(AsInt(Json("12")), 12);
  EXPECT_EQ(AsInt(Json(12.0)), 12);
  EXPECT_FALSE(AsInt(Json("x")).has_value());
  EXPECT_FALSE(AsInt(Json(1.5)).has_value());
  EXPECT_EQ(AsBool(Json("TRUE")), true);
  EXPECT_EQ(AsBool(Json(0)), false);
  EXPECT_FALSE(AsBool(Json("maybe")).has_value());
  EXPECT_EQ(AsIntList(Json("[1, \"2\"]")), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(AsIntList(Json(7)), (std::vector<int64_t>{7}));
  EXPECT_TRUE(AsIntList(Json("not a list")).empty());
  EXPECT_EQ(AsObjectList(Json::parse(R"({"a":1})")).size(), 1u);
  EXPECT_TRUE(AsObjectList(Json(3)).empty());
}

// The objects are referred to, not copied: into the array itself, or into the list's own parse
// of JSON text; non-objects are skipped in every form.
TEST(JsonUtil, ObjectListRefersIntoTheDocument) {
  const Json arr = Json::parse(R"([{"a":1}, 2, {"b":2}, "x"])");
  const ObjectList list = AsObjectList(arr);
  ASSERT_EQ(list.size(), 2u);
  std::vector<const Json*> got;
  for (const Json& e : list) got.push_back(&e);
  EXPECT_EQ(got[0], &arr[0]);
  EXPECT_EQ(got[1], &arr[2]);
  const Json one = Json::parse(R"({"c":3})");
  for (const Json& e : AsObjectList(one)) EXPECT_EQ(&e, &one);
  std::vector<int64_t> from_text;
  for (const Json& e : AsObjectList(Json(R"( [{"d":4}, 5, {"d":6}] )"))) from_text.push_back(GetInt(e, "d").value_or(-1));
  EXPECT_EQ(from_text, (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(AsObjectList(Json(R"({"e":7})")).size(), 1u);
  EXPECT_TRUE(AsObjectList(Json("plain text")).empty());
}

}  // namespace
}  // namespace sase::dingtalk::internal

#include "dingtalk/internal/classify.h"

#include <gtest/gtest.h>

#include <string>

#include "dingtalk/error.h"

namespace sase::dingtalk::internal {
namespace {

struct Case {
  const char* name;
  ApiStyle style;
  long http_status;
  const char* content_type;
  const char* body;
  bool token_call;
  ApiError want;
  bool want_token_invalid;
  const char* want_permission;
};

class ClassifyTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTest, MapsToReason) {
  const Case& c = GetParam();
  Classified got = ClassifyResponse(c.style, c.http_status, c.content_type, c.body, c.token_call);
  EXPECT_EQ(ReasonName(got.reason), ReasonName(c.want)) << c.name << " code=" << got.code;
  EXPECT_EQ(got.token_invalid, c.want_token_invalid) << c.name;
  EXPECT_EQ(got.permission, c.want_permission) << c.name;
}

constexpr ApiStyle kO = ApiStyle::kOapi;
constexpr ApiStyle kN = ApiStyle::kNewApi;
constexpr const char* kJ = "application/json;charset=UTF-8";

INSTANTIATE_TEST_SUITE_P(
    Samples, ClassifyTest,
    ::testing::Values(
        Case{"ok_native", kO, 200, kJ, R"({"errcode":0,"errmsg":"ok","result":{}})", false, ApiError::kNone, false, ""},
        Case{"ok_quoted", kO, 200, kJ, R"({"errcode":"0","errmsg":"ok","result":{}})", false, ApiError::kNone, false,
             ""},
        Case{"errcode_0_under_400", kO, 400, kJ, R"({"errcode":"0","errmsg":"ok","result":{}})", false,
             ApiError::kInvalidArgument, false, ""},
        Case{"errcode_88_subcode_zero", kO, 200, kJ, R"({"errcode":88,"errmsg":"ding talk error[subcode=-000]"})",
             false, ApiError::kUnknown, false, ""},
        Case{"errcode_0_under_302", kO, 302, kJ, R"({"errcode":0,"errmsg":"ok"})", false, ApiError::kUnreachable, false,
             ""},
        Case{"dept_not_found", kO, 200, kJ, R"({"errcode":60003,"errmsg":"部门不存在"})", false, ApiError::kNotFound,
             false, ""},
        Case{"user_not_found", kO, 200, kJ, R"({"errcode":60121,"errmsg":"找不到该用户"})", false, ApiError::kNotFound,
             false, ""},
        Case{"invalid_userid", kO, 200, kJ, R"({"errcode":33012,"errmsg":"无效的userId"})", false, ApiError::kNotFound,
             false, ""},
        Case{"perm_60011", kO, 200, kJ, R"({"errcode":60011,"errmsg":"应用尚未开通所需的权限：[qyapi_get_member]"})",
             false, ApiError::kPermissionDenied, false, "qyapi_get_member"},
        Case{
            "perm_88_60011", kO, 200, kJ,
            R"({"errcode":88,"sub_code":"60011","sub_msg":"没有调用该接口的权限","errmsg":"ding talk error[subcode=60011,submsg=没有调用该接口的权限]","request_id":"5imjny7u9xwa"})",
            false, ApiError::kPermissionDenied, false, ""},
        Case{
            "perm_403", kN, 403, kJ,
            R"({"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"应用尚未开通所需的权限：[Contact.User.Read]"})",
            false, ApiError::kPermissionDenied, false, "Contact.User.Read"},
        Case{
            "perm_403_scopes", kN, 403, kJ,
            R"({"AccessDeniedDetail":{"requiredScopes":["Contact.Org.Read"]},"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"没有调用该接口的权限"})",
            false, ApiError::kPermissionDenied, false, "Contact.Org.Read"},
        Case{"scope_50002", kO, 200, kJ, R"({"errcode":50002,"errmsg":"员工不在权限范围内"})", false,
             ApiError::kOutOfScope, false, ""},
        Case{"scope_50004", kO, 200, kJ, R"({"errcode":50004,"errmsg":"部门不在权限范围内"})", false,
             ApiError::kOutOfScope, false, ""},
        Case{"throttle_90018", kO, 200, kJ, R"({"errcode":90018,"errmsg":"限流"})", false, ApiError::kThrottled, false,
             ""},
        Case{
            "throttle_88_90018", kO, 200, kJ,
            R"({"errcode":88,"sub_code":"90018","sub_msg":"接口次数过多","errmsg":"ding talk error[subcode=90018,submsg=接口次数过多]"})",
            false, ApiError::kThrottled, false, ""},
        Case{"throttle_88_errmsg_only", kO, 200, kJ, R"({"errcode":88,"errmsg":"ding talk error[subcode=90018]"})",
             false, ApiError::kThrottled, false, ""},
        Case{"throttle_90002", kO, 200, kJ,
             R"({"errmsg":"您的服务器调用钉钉开放平台当前接口的所有请求都被暂时禁用了","errcode":90002})", false,
             ApiError::kThrottled, false, ""},
        Case{"throttle_403_qps", kN, 403, kJ,
             R"({"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","requestid":"x","message":"暂时禁用"})", false,
             ApiError::kThrottled, false, ""},
        Case{"throttle_403_qpm", kN, 403, kJ, R"({"code":"Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"})", false,
             ApiError::kThrottled, false, ""},
        Case{"throttle_403_api", kN, 403, kJ, R"({"code":"Forbidden.AccessDenied.QpsLimitForApi"})", false,
             ApiError::kThrottled, false, ""},
        Case{"token_40014", kO, 200, kJ, R"({"errcode":40014,"errmsg":"不合法的access_token"})", false, ApiError::kAuth,
             true, ""},
        Case{"token_42001", kO, 200, kJ, R"({"errcode":42001,"errmsg":"access_token超时"})", false, ApiError::kAuth,
             true, ""},
        Case{"token_41001", kO, 200, kJ, R"({"errcode":41001,"errmsg":"缺少access_token"})", false, ApiError::kAuth,
             true, ""},
        Case{
            "token_88_40014", kO, 200, kJ,
            R"({"errcode":88,"sub_code":"40014","sub_msg":"不合法的access_token","errmsg":"ding talk error[subcode=40014,submsg=不合法的access_token]"})",
            false, ApiError::kAuth, true, ""},
        Case{"token_new_invalid", kN, 400, kJ,
             R"({"code":"InvalidAuthentication","requestid":"x","message":"不合法的access_token"})", false,
             ApiError::kAuth, true, ""},
        Case{"secret_40096", kO, 200, kJ, R"({"errcode":40096,"errmsg":"不合法的appKey或appSecret"})", true,
             ApiError::kAuth, false, ""},
        Case{"secret_40089", kO, 200, kJ, R"({"errcode":40089,"errmsg":"不合法的corpId或corpSecret"})", true,
             ApiError::kAuth, false, ""},
        Case{"secret_40001_on_token", kO, 200, kJ, R"({"errcode":40001,"errmsg":"bad"})", true, ApiError::kAuth, false,
             ""},
        Case{"secret_new", kN, 400, kJ,
             R"({"requestid":"x","code":"invalidClientIdOrSecret","message":"无效的clientId或者clientSecret"})", true,
             ApiError::kAuth, false, ""},
        Case{"ip_60020", kO, 200, kJ, R"({"errcode":60020,"errmsg":"访问ip不在白名单之中"})", false,
             ApiError::kIpNotAllowed, false, ""},
        Case{"ip_new", kN, 403, kJ, R"({"code":"Forbidden.AccessDenied.IpNotInWhiteList","message":"x"})", false,
             ApiError::kIpNotAllowed, false, ""},
        Case{"busy", kO, 200, kJ, R"({"errcode":-1,"errmsg":"系统繁忙"})", false, ApiError::kUnreachable, false, ""},
        Case{"http_502", kO, 502, "text/plain", "Bad Gateway", false, ApiError::kUnreachable, false, ""},
        Case{"http_503_new", kN, 503, kJ, R"({"code":"ServiceUnavailable"})", false, ApiError::kUnreachable, false, ""},
        Case{"ip_ban_html", kO, 200, "text/html; charset=utf-8", "<html><body>punish</body></html>", false,
             ApiError::kUnreachable, false, ""},
        Case{"ip_ban_html_no_ct", kO, 200, "", "  <!DOCTYPE html><html></html>", false, ApiError::kUnreachable, false,
             ""},
        Case{"ip_ban_json", kO, 200, kJ, R"({"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"xxx"})",
             false, ApiError::kUnreachable, false, ""},
        Case{"ip_ban_json_new", kN, 200, kJ, R"({"status":1111,"wait":5,"source":"x5","punish":"deny"})", false,
             ApiError::kUnreachable, false, ""},
        Case{"auth_code_40078", kO, 200, kJ, R"({"errcode":40078,"errmsg":"不存在的临时授权码"})", false,
             ApiError::kInvalidAuthCode, false, ""},
        Case{"quota_90020", kO, 200, kJ, R"({"errcode":90020,"errmsg":"超过限制"})", false, ApiError::kQuotaExhausted,
             false, ""},
        Case{"bad_param", kO, 200, kJ, R"({"errcode":40035,"errmsg":"参数非法"})", false, ApiError::kInvalidArgument,
             false, ""},
        Case{"me_not_found", kN, 404, kJ, R"({"code":"invalidParameter.user.notFound","message":"x"})", false,
             ApiError::kNotFound, false, ""},
        Case{"not_json", kO, 200, kJ, "{errcode:0", false, ApiError::kBadResponse, false, ""},
        Case{"no_errcode", kO, 200, kJ, R"({"result":{}})", false, ApiError::kBadResponse, false, ""},
        Case{"unknown_code", kO, 200, kJ, R"({"errcode":12345,"errmsg":"?"})", false, ApiError::kUnknown, false, ""}),
    [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

// Both are "unreachable" (retried the same way), but only the ban page may be reported as a ban.
TEST(ClassifyHtml, GatewayErrorPageIsNotReportedAsTheIpBan) {
  Classified gateway = ClassifyResponse(
      kO, 502, "text/html",
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
      "</center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n",
      false);
  EXPECT_EQ(gateway.reason, ApiError::kUnreachable);
  EXPECT_EQ(gateway.code, "http_502");
  Classified ban = ClassifyResponse(kO, 200, "text/html;charset=utf-8",
                                    "<!DOCTYPE html><html><head><title>访问被拒绝</title></head></html>", false);
  EXPECT_EQ(ban.reason, ApiError::kUnreachable);
  EXPECT_EQ(ban.code, "ip_ban");
  Classified ban_5xx = ClassifyResponse(kO, 503, "text/html", "<html><body>punish</body></html>", false);
  EXPECT_EQ(ban_5xx.code, "ip_ban");
}

TEST(PermissionFromMessage, Forms) {
  EXPECT_EQ(PermissionFromMessage("应用尚未开通所需的权限：[qyapi_get_department_list]"), "qyapi_get_department_list");
  EXPECT_EQ(PermissionFromMessage("need 【Contact.User.Read】 please"), "Contact.User.Read");
  EXPECT_EQ(PermissionFromMessage("ding talk error[subcode=60011,submsg=x]"), "");
  EXPECT_EQ(PermissionFromMessage("no brackets"), "");
}

TEST(ErrorStatus, CarriesReasonPermissionAndCode) {
  absl::Status s = MakeError(ApiError::kPermissionDenied, "dingtalk user_get: denied", "60011", "qyapi_get_member");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(s), ApiError::kPermissionDenied);
  EXPECT_EQ(PermissionOf(s), "qyapi_get_member");
  EXPECT_EQ(DingTalkCodeOf(s), "60011");
  EXPECT_NE(std::string(s.message()).find("qyapi_get_member"), std::string::npos);
  EXPECT_EQ(ReasonOf(absl::InternalError("foreign")), ApiError::kNone);
  EXPECT_EQ(MakeError(ApiError::kThrottled, "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(MakeError(ApiError::kUnreachable, "x").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(MakeError(ApiError::kAuth, "x").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(MakeError(ApiError::kNotFound, "x").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sase::dingtalk::internal

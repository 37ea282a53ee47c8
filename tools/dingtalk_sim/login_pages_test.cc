#include "dingtalk_sim/login_pages.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::dingtalk_sim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAppKey[] = "appkey1";
constexpr char kCorpId[] = "corp1";

httplib::Params GoodParams() {
  return {{"client_id", kAppKey},  {"redirect_uri", "https://sase.example.com/login/callback"},
          {"response_type", "code"}, {"scope", "openid"},
          {"prompt", "consent"},     {"state", "s1"}};
}

std::optional<std::string> ProblemParam(const httplib::Params& p) {
  std::optional<AuthorizeProblem> problem = CheckAuthorizeRequest(p, kAppKey, kCorpId);
  if (!problem) return std::nullopt;
  return problem->param;
}

httplib::Params With(httplib::Params p, const std::string& key, std::optional<std::string> value) {
  p.erase(key);
  if (value) p.emplace(key, *value);
  return p;
}

TEST(LoginPagesTest, Escaping) {
  EXPECT_EQ(HtmlEscape(R"(<script>alert("x&'y")</script>)"),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;");
  EXPECT_EQ(UrlEncode("a b&c=d/é~._-"), "a%20b%26c%3Dd%2F%C3%A9~._-");
  EXPECT_EQ(JsString("a\"b</script>\n\xe2\x80\xa8"), R"("a\"b\u003c/script\u003e\n\u2028")");
}

TEST(LoginPagesTest, AbsoluteHttpUrls) {
  for (const char* ok : {"https://a.example.com/cb", "http://127.0.0.1:8080/cb?x=1", "HTTPS://h", "http://[::1]:9/x",
                         "https://user@h.example/p"}) {
    EXPECT_TRUE(IsAbsoluteHttpUrl(ok)) << ok;
  }
  for (const char* bad : {"/relative/cb", "ftp://h/x", "https://", "https:///path", "https://h/cb#frag",
                          "javascript:alert(1)", "https://h:port/x", "https://h/a b", "http://[::1/x"}) {
    EXPECT_FALSE(IsAbsoluteHttpUrl(bad)) << bad;
  }
}

TEST(LoginPagesTest, AppendQueryKeepsExistingQuery) {
  EXPECT_EQ(AppendQuery("https://h/cb", {{"authCode", "c1"}, {"state", "a b&c"}}), "https://h/cb?authCode=c1&state=a%20b%26c");
  EXPECT_EQ(AppendQuery("https://h/cb?next=%2Fx", {{"code", "c"}}), "https://h/cb?next=%2Fx&code=c");
  EXPECT_EQ(AppendQuery("https://h/cb?", {{"code", "c"}}), "https://h/cb?code=c");
  EXPECT_EQ(AppendQuery("https://h/cb?a=1&", {{"code", "c"}}), "https://h/cb?a=1&code=c");
  EXPECT_EQ(AppendQuery("https://h/cb#f", {{"code", "c"}}), "https://h/cb?code=c#f");
}

TEST(LoginPagesTest, AuthorizeChecks) {
  EXPECT_EQ(ProblemParam(GoodParams()), std::nullopt);
  EXPECT_EQ(ProblemParam(With(GoodParams(), "scope", "openid corpid")), std::nullopt);
  EXPECT_EQ(ProblemParam(With(GoodParams(), "state", std::nullopt)), std::nullopt);
  EXPECT_EQ(ProblemParam(With(GoodParams(), "exclusiveLogin", "true")), "exclusiveCorpId");
  EXPECT_EQ(ProblemParam(With(With(GoodParams(), "exclusiveLogin", "true"), "exclusiveCorpId", "other")),
            "exclusiveCorpId");
  EXPECT_EQ(ProblemParam(With(With(GoodParams(), "exclusiveLogin", "true"), "exclusiveCorpId", kCorpId)), std::nullopt);
  EXPECT_EQ(ProblemParam(With(GoodParams(), "exclusiveLogin", "yes")), "exclusiveLogin");

  EXPECT_EQ(ProblemParam(With(GoodParams(), "client_id", std::nullopt)), "client_id");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "client_id", "other")), "client_id");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "response_type", "token")), "response_type");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "scope", "corpid")), "scope");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "scope", "openid,corpid")), "scope");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "scope", "openid email")), "scope");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "prompt", std::nullopt)), "prompt");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "redirect_uri", std::nullopt)), "redirect_uri");
  EXPECT_EQ(ProblemParam(With(GoodParams(), "redirect_uri", "/login/callback")), "redirect_uri");
  httplib::Params twice = GoodParams();
  twice.emplace("client_id", kAppKey);
  EXPECT_EQ(ProblemParam(twice), "client_id");
}

TEST(LoginPagesTest, PagesEscapeWhatTheyPrint) {
  const std::string page = AuthorizePickerPage("/oauth2/auth?client_id=k&state=%22%3E",
                                               {{"u<1>", "<script>alert(1)</script>"}, {"u2", "张三"}});
  EXPECT_THAT(page, HasSubstr("<title>DingTalk login (simulator)</title>"));
  EXPECT_THAT(page, Not(HasSubstr("<script>")));
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt; (u&lt;1&gt;)"));
  EXPECT_THAT(page, HasSubstr("href=\"/oauth2/auth?client_id=k&amp;state=%22%3E&amp;sim_userid=u%3C1%3E\""));
  EXPECT_THAT(page, HasSubstr("张三 (u2)"));
  EXPECT_THAT(page, HasSubstr("&amp;sim_error=access_denied\">Decline</a>"));

  const std::string error = AuthorizeErrorPage({"redirect_uri", "<b>bad</b>"});
  EXPECT_THAT(error, HasSubstr("<code>redirect_uri</code> &lt;b&gt;bad&lt;/b&gt;"));
}

TEST(LoginPagesTest, ScriptsBakeInTheirValues) {
  const std::string dd = DdLoginScript("code\"1", "key</script>");
  EXPECT_THAT(dd, HasSubstr("window.DTFrameLogin = function (frameOpts, loginOpts, onSuccess, onError)"));
  EXPECT_THAT(dd, HasSubstr(R"(var SIM_AUTH_CODE = "code\"1";)"));
  EXPECT_THAT(dd, HasSubstr(R"(var SIM_CLIENT_ID = "key\u003c/script\u003e";)"));
  EXPECT_THAT(dd, Not(HasSubstr("$")));
  EXPECT_THAT(dd, Not(HasSubstr("fetch(")));
  EXPECT_THAT(dd, Not(HasSubstr("XMLHttpRequest")));

  const std::string js = JsapiScript("flc", "corpX", false);
  EXPECT_THAT(js, HasSubstr(R"(var SIM_CODE = "flc";)"));
  EXPECT_THAT(js, HasSubstr(R"(var SIM_CORP_ID = "corpX";)"));
  EXPECT_THAT(js, HasSubstr(R"(env: {platform: "notInDingTalk"})"));
  EXPECT_THAT(JsapiScript("flc", "corpX", true), HasSubstr(R"(env: {platform: "pc"})"));
  EXPECT_THAT(js, Not(HasSubstr("$")));
}

}  // namespace
}  // namespace sase::dingtalk_sim

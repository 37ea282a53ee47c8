#include "dingtalk_sim/sim_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <regex>
#include <set>

#include "dingtalk_sim/login_pages.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

class SimServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimOptions opt;
    opt.generator = {.seed = 11, .users = 400, .departments = 30, .max_depth = 4};
    opt.qps = 0;
    opt.threads = 4;
    auto s = SimServer::Start(opt);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    opt_ = opt;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
  }

  json Parse(const httplib::Result& r) {
    if (!r) {
      ADD_FAILURE() << "no response: " << httplib::to_string(r.error());
      return json();
    }
    return json::parse(r->body, nullptr, false);
  }

  std::string Token() {
    auto r = client_->Get(("/gettoken?appkey=" + opt_.app_key + "&appsecret=" + opt_.app_secret).c_str());
    json j = Parse(r);
    EXPECT_EQ(j["errcode"], 0) << j;
    return j.value("access_token", "");
  }

  json Old(const std::string& path, const json& body, const std::string& token) {
    auto r = client_->Post((path + "?access_token=" + token).c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    return Parse(r);
  }
  json Old(const std::string& path, const json& body) { return Old(path, body, Token()); }

  json Admin(const std::string& path, const json& body = json::object(), int want_status = 200) {
    auto r = client_->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == want_status) << path << " " << (r ? r->body : "no response");
    return Parse(r);
  }
  json AdminGet(const std::string& path) { return Parse(client_->Get(path.c_str())); }

  // GET /oauth2/auth with the parameters a connector sends; an override of nullopt leaves one out.
  httplib::Result Authorize(const std::map<std::string, std::optional<std::string>>& overrides = {}) {
    return client_->Get(AuthorizePath(overrides).c_str());
  }
  std::string AuthorizePath(const std::map<std::string, std::optional<std::string>>& overrides = {}) {
    std::map<std::string, std::optional<std::string>> params = {
        {"client_id", opt_.app_key}, {"redirect_uri", kRedirectUri}, {"response_type", "code"},
        {"scope", "openid corpid"},  {"prompt", "consent"},          {"state", "st a&b"}};
    for (const auto& [k, v] : overrides) params[k] = v;
    std::string path = "/oauth2/auth";
    for (const auto& [k, v] : params) {
      if (v) path += (path.find('?') == std::string::npos ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(*v);
    }
    return path;
  }

  // Exchanges an OAuth code; returns the unionId users/me reports, or "" (with a failure) on error.
  std::string UnionIdOfAuthCode(const std::string& code) {
    json req = {{"clientId", opt_.app_key}, {"clientSecret", opt_.app_secret}, {"code", code}, {"grantType", "authorization_code"}};
    auto r = client_->Post("/v1.0/oauth2/userAccessToken", req.dump(), "application/json");
    if (!r || r->status != 200) {
      ADD_FAILURE() << "userAccessToken: " << (r ? r->body : "no response");
      return "";
    }
    auto me = client_->Get("/v1.0/contact/users/me",
                           {{"x-acs-dingtalk-access-token", json::parse(r->body)["accessToken"].get<std::string>()}});
    if (!me || me->status != 200) {
      ADD_FAILURE() << "users/me: " << (me ? me->body : "no response");
      return "";
    }
    return json::parse(me->body)["unionId"];
  }

  static constexpr char kRedirectUri[] = "https://sase.example.com/login/cb?next=%2Fhome";

  SimOptions opt_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(SimServerTest, TokensAndBadCredentials) {
  const std::string t1 = Token();
  EXPECT_EQ(t1.size(), 32u);
  EXPECT_EQ(Token(), t1);  // same token while valid

  json bad = Parse(client_->Get(("/gettoken?appkey=" + opt_.app_key + "&appsecret=wrong").c_str()));
  EXPECT_EQ(bad["errcode"], 40096);
  EXPECT_EQ(bad["errmsg"], "不合法的appKey或appSecret");

  auto ok = client_->Post("/v1.0/oauth2/accessToken", json{{"appKey", opt_.app_key}, {"appSecret", opt_.app_secret}}.dump(),
                          "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  json okj = json::parse(ok->body);
  EXPECT_EQ(okj["expireIn"], 7200);
  EXPECT_EQ(okj["accessToken"], t1);
  EXPECT_FALSE(okj.contains("code"));

  auto r = client_->Post("/v1.0/oauth2/accessToken", json{{"appKey", "test"}, {"appSecret", "test"}}.dump(),
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  json j = json::parse(r->body);
  EXPECT_EQ(j["code"], "invalidClientIdOrSecret");
  EXPECT_EQ(j["message"], "无效的clientId或者clientSecret");
  EXPECT_EQ(j["requestid"].get<std::string>().size(), 36u);
}

TEST_F(SimServerTest, UserListPagesExactlyDirectMembers) {
  json dump = AdminGet("/admin/org");
  const std::string token = Token();
  std::map<int64_t, std::multiset<std::string>> expected;
  for (const json& u : dump["users"]) {
    for (const json& d : u["dept_id_list"]) expected[d.get<int64_t>()].insert(u["userid"].get<std::string>());
  }
  ASSERT_EQ(dump["departments"].size(), 30u);
  for (const json& dept : dump["departments"]) {
    const int64_t id = dept["dept_id"];
    std::multiset<std::string> got;
    int64_t cursor = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      json j = Old("/topapi/v2/user/list", {{"dept_id", id}, {"cursor", cursor}, {"size", 7}}, token);
      ASSERT_EQ(j["errcode"], 0) << j;
      ASSERT_TRUE(j.contains("request_id"));
      const json& result = j["result"];
      EXPECT_LE(result["list"].size(), 7u);
      for (const json& u : result["list"]) {
        got.insert(u["userid"].get<std::string>());
        EXPECT_TRUE(u["leader"].is_boolean());
        EXPECT_NE(std::find(u["dept_id_list"].begin(), u["dept_id_list"].end(), json(id)), u["dept_id_list"].end());
      }
      if (!result["has_more"].get<bool>()) {
        EXPECT_FALSE(result.contains("next_cursor"));
        break;
      }
      cursor = result["next_cursor"];
    }
    EXPECT_EQ(got, expected[id]) << "dept " << id;
    EXPECT_EQ(static_cast<int64_t>(got.size()), dept["owning_member_count"].get<int64_t>());
  }
  json count = Old("/topapi/user/count", {{"only_active", false}}, token);
  EXPECT_EQ(count["result"]["count"], 400);
}

TEST_F(SimServerTest, ListSubWalksTheWholeTree) {
  json dump = AdminGet("/admin/org");
  const std::string token = Token();
  std::set<int64_t> seen = {1};
  std::vector<int64_t> queue = {1};
  while (!queue.empty()) {
    const int64_t id = queue.back();
    queue.pop_back();
    json sub = Old("/topapi/v2/department/listsub", {{"dept_id", id}}, token);
    ASSERT_EQ(sub["errcode"], 0) << sub;
    json ids = Old("/topapi/v2/department/listsubid", {{"dept_id", id}}, token);
    ASSERT_EQ(ids["result"]["dept_id_list"].size(), sub["result"].size());
    for (const json& d : sub["result"]) {
      EXPECT_EQ(d["parent_id"], id);
      EXPECT_TRUE(d.contains("name") && d.contains("create_dept_group") && d.contains("auto_add_user"));
      EXPECT_TRUE(seen.insert(d["dept_id"].get<int64_t>()).second);
      queue.push_back(d["dept_id"]);
    }
  }
  std::set<int64_t> all;
  for (const json& d : dump["departments"]) all.insert(d["dept_id"].get<int64_t>());
  EXPECT_EQ(seen, all);
  json root = Old("/topapi/v2/department/get", {{"dept_id", 1}}, token);
  EXPECT_EQ(root["result"]["dept_id"], 1);
  EXPECT_EQ(root["result"]["member_count"], 400);
  // Default dept_id of listsub is the root.
  EXPECT_EQ(Old("/topapi/v2/department/listsub", json::object(), token)["result"].size(),
            Old("/topapi/v2/department/listsub", {{"dept_id", 1}}, token)["result"].size());
}

TEST_F(SimServerTest, ErrorBodies) {
  auto missing = client_->Post("/topapi/user/count", R"({"only_active":false})", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(json::parse(missing->body)["errcode"], 41001);
  json bad = Old("/topapi/user/count", {{"only_active", false}}, "nosuchtoken");
  EXPECT_EQ(bad["errcode"], 40014);
  EXPECT_EQ(bad["errmsg"], "不合法的access_token");

  const std::string token = Token();
  EXPECT_EQ(Old("/topapi/v2/department/get", {{"dept_id", 999}}, token)["errcode"], 60003);
  EXPECT_EQ(Old("/topapi/v2/department/listsub", {{"dept_id", 999}}, token)["errcode"], 60003);
  EXPECT_EQ(Old("/topapi/v2/user/list", {{"dept_id", 999}, {"cursor", 0}, {"size", 10}}, token)["errcode"], 60003);
  EXPECT_EQ(Old("/topapi/v2/user/list", {{"dept_id", 1}, {"cursor", 0}, {"size", 101}}, token)["errcode"], 40035);
  json nouser = Old("/topapi/v2/user/get", {{"userid", "nobody"}}, token);
  EXPECT_EQ(nouser["errcode"], 60121);
  EXPECT_EQ(nouser["errmsg"], "找不到该用户");
  EXPECT_EQ(Old("/topapi/user/getbyunionid", {{"unionid", "nosuchunionid"}}, token)["errcode"], 60121);

  // Expired by admin -> 42001; a new gettoken issues a fresh token.
  Admin("/admin/tokens/expire");
  EXPECT_EQ(Old("/topapi/user/count", {{"only_active", false}}, token)["errcode"], 42001);
  const std::string fresh = Token();
  EXPECT_NE(fresh, token);
  EXPECT_EQ(Old("/topapi/user/count", {{"only_active", false}}, fresh)["errcode"], 0);

  // errcode 88 wrapping.
  Admin("/admin/throttle", {{"token_error_style", "88"}});
  json wrapped = Old("/topapi/user/count", {{"only_active", false}}, "nosuchtoken");
  EXPECT_EQ(wrapped["errcode"], 88);
  EXPECT_EQ(wrapped["sub_code"], "40014");
  EXPECT_EQ(wrapped["errmsg"], "ding talk error[subcode=40014,submsg=不合法的access_token]");
}

TEST_F(SimServerTest, ThrottlingInBothStyles) {
  const std::string token = Token();
  Admin("/admin/throttle", {{"qps", 3}, {"style", "90018"}});
  int throttled = 0, ok = 0;
  for (int i = 0; i < 10; ++i) {
    json j = Old("/topapi/user/count", {{"only_active", true}}, token);
    if (j["errcode"] == 90018) {
      ++throttled;
    } else if (j["errcode"] == 0) {
      ++ok;
    } else {
      ADD_FAILURE() << j;
    }
  }
  EXPECT_GT(throttled, 0);
  EXPECT_GE(ok, 3);
  // Per API: another API still has its own budget.
  EXPECT_EQ(Old("/topapi/v2/department/get", {{"dept_id", 1}}, token)["errcode"], 0);

  Admin("/admin/throttle", {{"style", "88"}});
  int wrapped = 0;
  for (int i = 0; i < 10; ++i) {
    json j = Old("/topapi/user/count", {{"only_active", true}}, token);
    if (j["errcode"] == 88) {
      EXPECT_EQ(j["sub_code"], "90018");
      EXPECT_TRUE(j.contains("sub_msg") && j.contains("request_id"));
      ++wrapped;
    }
  }
  EXPECT_GT(wrapped, 0);
  json counters = AdminGet("/admin/counters");
  EXPECT_EQ(counters["throttled_total"], throttled + wrapped);
  EXPECT_GE(counters["calls"]["/topapi/user/count"].get<int64_t>(), 20);

  Admin("/admin/throttle", {{"qps", 0}});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Old("/topapi/user/count", {{"only_active", true}}, token)["errcode"], 0);
}

TEST_F(SimServerTest, AdminMutationsVisibleInApi) {
  const std::string token = Token();
  json d = Admin("/admin/depts/add", {{"name", "新研发中心"}, {"parent_id", 1}});
  const int64_t dept = d["dept_id"];
  json u = Admin("/admin/users/add", {{"userid", "lisi"}, {"name", "李四"}, {"dept_id_list", {dept}}, {"title", "工程师"}});
  EXPECT_EQ(u["userid"], "lisi");
  EXPECT_EQ(u["events"], json({"user_add_org"}));

  json got = Old("/topapi/v2/user/get", {{"userid", "lisi"}}, token);
  ASSERT_EQ(got["errcode"], 0) << got;
  EXPECT_EQ(got["result"]["name"], "李四");
  EXPECT_EQ(got["result"]["title"], "工程师");
  EXPECT_EQ(got["result"]["dept_id_list"], json({dept}));
  json list = Old("/topapi/v2/user/list", {{"dept_id", dept}, {"cursor", 0}, {"size", 10}}, token);
  ASSERT_EQ(list["result"]["list"].size(), 1u);

  Admin("/admin/users/modify", {{"userid", "lisi"}, {"name", "李四四"}, {"email", nullptr}});
  got = Old("/topapi/v2/user/get", {{"userid", "lisi"}}, token);
  EXPECT_EQ(got["result"]["name"], "李四四");
  EXPECT_FALSE(got["result"].contains("email"));

  Admin("/admin/users/move", {{"userid", "lisi"}, {"dept_id_list", {1}}});
  EXPECT_EQ(Old("/topapi/v2/user/list", {{"dept_id", dept}, {"cursor", 0}, {"size", 10}}, token)["result"]["list"].size(), 0u);
  Admin("/admin/depts/modify", {{"dept_id", dept}, {"name", "改名部门"}});
  EXPECT_EQ(Old("/topapi/v2/department/get", {{"dept_id", dept}}, token)["result"]["name"], "改名部门");
  Admin("/admin/depts/remove", {{"dept_id", dept}});
  EXPECT_EQ(Old("/topapi/v2/department/get", {{"dept_id", dept}}, token)["errcode"], 60003);
  Admin("/admin/users/remove", {{"userid", "lisi"}});
  EXPECT_EQ(Old("/topapi/v2/user/get", {{"userid", "lisi"}}, token)["errcode"], 60121);

  // Errors of the admin API itself.
  Admin("/admin/users/remove", {{"userid", "lisi"}}, 404);
  Admin("/admin/users/add", {{"name", "x"}, {"dept_id_list", {424242}}}, 404);
  Admin("/admin/depts/remove", {{"dept_id", 1}}, 400);

  json events = AdminGet("/admin/events")["events"];
  std::vector<std::string> types;
  for (const json& e : events) types.push_back(e["EventType"]);
  EXPECT_THAT(types, ::testing::ElementsAre("org_dept_create", "user_add_org", "user_modify_org", "user_modify_org",
                                            "org_dept_modify", "org_dept_remove", "user_leave_org"));
  EXPECT_EQ(events[1]["userId"], json({"lisi"}));
  EXPECT_EQ(events[0]["deptId"], json({dept}));
}

TEST_F(SimServerTest, OAuthChainAndFreeLogin) {
  json dump = AdminGet("/admin/org");
  const std::string userid = dump["users"][5]["userid"];
  const std::string code = Admin("/admin/auth_codes", {{"userid", userid}})["authCode"];
  json req = {{"clientId", opt_.app_key}, {"clientSecret", opt_.app_secret}, {"code", code}, {"grantType", "authorization_code"}};
  auto r = client_->Post("/v1.0/oauth2/userAccessToken", req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json tok = json::parse(r->body);
  EXPECT_EQ(tok["expireIn"], 7200);
  EXPECT_EQ(tok["corpId"], opt_.corp_id);
  // Codes are single use.
  auto again = client_->Post("/v1.0/oauth2/userAccessToken", req.dump(), "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 400);

  auto me = client_->Get("/v1.0/contact/users/me", {{"x-acs-dingtalk-access-token", tok["accessToken"].get<std::string>()}});
  ASSERT_TRUE(me);
  ASSERT_EQ(me->status, 200) << me->body;
  json mej = json::parse(me->body);
  EXPECT_EQ(mej["unionId"], dump["users"][5]["unionid"]);
  EXPECT_EQ(mej["nick"], dump["users"][5]["name"]);
  EXPECT_FALSE(mej.contains("userid"));

  json by = Old("/topapi/user/getbyunionid", {{"unionid", mej["unionId"]}});
  ASSERT_EQ(by["errcode"], 0) << by;
  EXPECT_EQ(by["result"]["userid"], userid);
  EXPECT_EQ(by["result"]["contact_type"], 0);

  auto nohdr = client_->Get("/v1.0/contact/users/me");
  ASSERT_TRUE(nohdr);
  EXPECT_EQ(nohdr->status, 400);
  EXPECT_EQ(json::parse(nohdr->body)["code"], "AuthenticationFailed.MissingParameter");
  auto badtok = client_->Get("/v1.0/contact/users/me", {{"x-acs-dingtalk-access-token", "bogus"}});
  ASSERT_TRUE(badtok);
  EXPECT_EQ(badtok->status, 400);
  EXPECT_EQ(json::parse(badtok->body)["code"], "InvalidAuthentication");

  // Free login (免登): code -> getuserinfo -> userid, single use.
  const std::string fl = Admin("/admin/free_login_codes", {{"userid", userid}})["code"];
  json info = Old("/topapi/v2/user/getuserinfo", {{"code", fl}});
  ASSERT_EQ(info["errcode"], 0) << info;
  EXPECT_EQ(info["result"]["userid"], userid);
  EXPECT_EQ(info["result"]["unionid"], mej["unionId"]);
  EXPECT_EQ(Old("/topapi/v2/user/getuserinfo", {{"code", fl}})["errcode"], 40078);
}

// Status line and headers of a GET exactly as sent: httplib 0.11's client percent-decodes every
// response header value, Location included (fixed upstream later, cpp-httplib PR #1459).
std::string RawHead(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) reply.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return reply.substr(0, reply.find("\r\n\r\n") + 2);
}

// A header's value in a RawHead ("" when absent).
std::string HeaderOf(const std::string& head, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(head, m, std::regex("\r\n" + name + ": ([^\r]*)\r\n", std::regex::icase))) return "";
  return m[1];
}

// Query parameters of a URL, decoded.
httplib::Params QueryOf(const std::string& url) {
  httplib::Params params;
  const size_t q = url.find('?');
  if (q != std::string::npos) httplib::detail::parse_query_text(url.substr(q + 1), params);
  return params;
}

// The JS string literal assigned to `name` in a generated script ("" when absent).
std::string BakedString(const std::string& script, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(script, m, std::regex("var " + name + " = \"([^\"]*)\";"))) return "";
  return m[1];
}

TEST_F(SimServerTest, AuthorizeWithSimUserRedirectsWithAnExchangeableCode) {
  auto none = client_->Get("/admin/last_authorize");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);

  json dump = AdminGet("/admin/org");
  const std::string userid = dump["users"][3]["userid"];
  const std::string head = RawHead(server_->port(), AuthorizePath({{"sim_userid", userid}}));
  ASSERT_THAT(head, ::testing::StartsWith("HTTP/1.1 302 ")) << head;
  EXPECT_EQ(HeaderOf(head, "Cache-Control"), "no-store");
  const std::string location = HeaderOf(head, "Location");
  EXPECT_THAT(location, ::testing::StartsWith(std::string(kRedirectUri) + "&authCode="));
  httplib::Params q = QueryOf(location);
  ASSERT_EQ(q.count("authCode"), 1u) << location;
  ASSERT_EQ(q.count("code"), 1u) << location;
  EXPECT_EQ(q.find("authCode")->second, q.find("code")->second);
  EXPECT_EQ(q.find("state")->second, "st a&b");
  EXPECT_EQ(q.find("next")->second, "/home");  // the redirect_uri's own query survives
  EXPECT_EQ(UnionIdOfAuthCode(q.find("code")->second), dump["users"][3]["unionid"]);

  json last = AdminGet("/admin/last_authorize");
  EXPECT_EQ(last["params"], json({{"client_id", opt_.app_key},
                                  {"redirect_uri", kRedirectUri},
                                  {"response_type", "code"},
                                  {"scope", "openid corpid"},
                                  {"prompt", "consent"},
                                  {"state", "st a&b"},
                                  {"sim_userid", userid}}));
  EXPECT_THAT(last["target"].get<std::string>(), ::testing::StartsWith("/oauth2/auth?"));

  // Without state there is no state in the redirect; exclusive login for our own corp is fine.
  auto r = Authorize({{"sim_userid", userid}, {"state", std::nullopt}, {"exclusiveLogin", "true"}, {"exclusiveCorpId", opt_.corp_id}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 302) << r->body;
  EXPECT_EQ(QueryOf(r->get_header_value("Location")).count("state"), 0u);
  EXPECT_EQ(AdminGet("/admin/last_authorize")["params"]["exclusiveCorpId"], opt_.corp_id);
  EXPECT_EQ(AdminGet("/admin/counters")["calls"]["/oauth2/auth"], 2);
}

TEST_F(SimServerTest, AuthorizeDeclineAndRefusedRequests) {
  const std::string head = RawHead(server_->port(), AuthorizePath({{"sim_error", "access_denied"}}));
  ASSERT_THAT(head, ::testing::StartsWith("HTTP/1.1 302 ")) << head;
  EXPECT_EQ(HeaderOf(head, "Location"), std::string(kRedirectUri) + "&error=access_denied&state=st%20a%26b");

  const std::string userid = AdminGet("/admin/org")["users"][0]["userid"];
  const std::vector<std::pair<std::map<std::string, std::optional<std::string>>, std::string>> bad = {
      {{{"client_id", "someoneelse"}}, "client_id"},
      {{{"client_id", std::nullopt}}, "client_id"},
      {{{"scope", "corpid"}}, "scope"},
      {{{"prompt", std::nullopt}}, "prompt"},
      {{{"response_type", "token"}}, "response_type"},
      {{{"redirect_uri", "/login/cb"}}, "redirect_uri"},
      {{{"redirect_uri", std::nullopt}}, "redirect_uri"},
      {{{"exclusiveLogin", "true"}, {"exclusiveCorpId", "dingothercorp"}}, "exclusiveCorpId"},
      {{{"sim_userid", "nosuchuser"}}, "sim_userid"},
  };
  for (const auto& [overrides, param] : bad) {
    auto with_user = overrides;
    if (!with_user.contains("sim_userid")) with_user["sim_userid"] = userid;
    for (const auto& o : {overrides, with_user}) {
      auto r = Authorize(o);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 400) << param;
      EXPECT_FALSE(r->has_header("Location")) << param;
      EXPECT_THAT(r->get_header_value("Content-Type"), ::testing::HasSubstr("text/html"));
      EXPECT_THAT(r->body, ::testing::HasSubstr("<code>" + param + "</code>"));
    }
  }
  // Refused requests are recorded too.
  EXPECT_EQ(AdminGet("/admin/last_authorize")["params"]["sim_userid"], "nosuchuser");
}

TEST_F(SimServerTest, AuthorizePickerListsUsersEscaped) {
  json dump = AdminGet("/admin/org");
  const std::string first = dump["users"][0]["userid"];
  ASSERT_TRUE(dump["users"][0]["active"].get<bool>());
  Admin("/admin/users/modify", {{"userid", first}, {"name", "<script>alert(\"x\")</script>&"}});

  auto r = Authorize();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  EXPECT_THAT(r->get_header_value("Content-Type"), ::testing::HasSubstr("text/html"));
  EXPECT_THAT(r->body, ::testing::HasSubstr("<title>DingTalk login (simulator)</title>"));
  EXPECT_THAT(r->body, ::testing::Not(::testing::HasSubstr("<script>")));
  EXPECT_THAT(r->body, ::testing::HasSubstr("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp; (" + first + ")"));
  EXPECT_THAT(r->body, ::testing::HasSubstr("sim_error=access_denied\">Decline</a>"));

  std::vector<std::string> hrefs;
  const std::regex link("<a class=\"sim-user\" href=\"([^\"]*)\">");
  for (auto it = std::sregex_iterator(r->body.begin(), r->body.end(), link); it != std::sregex_iterator(); ++it) {
    hrefs.push_back((*it)[1]);
  }
  ASSERT_EQ(hrefs.size(), 20u);
  // Following a link (after undoing the HTML escaping) logs that user in.
  const std::string href = std::regex_replace(hrefs[1], std::regex("&amp;"), "&");
  EXPECT_THAT(href, ::testing::StartsWith("/oauth2/auth?"));
  const std::string second = QueryOf(href).find("sim_userid")->second;
  const std::string follow = RawHead(server_->port(), href);
  ASSERT_THAT(follow, ::testing::StartsWith("HTTP/1.1 302 ")) << follow;
  httplib::Params q = QueryOf(HeaderOf(follow, "Location"));
  EXPECT_EQ(q.find("state")->second, "st a&b");
  json by = Old("/topapi/user/getbyunionid", {{"unionid", UnionIdOfAuthCode(q.find("authCode")->second)}});
  EXPECT_EQ(by["result"]["userid"], second);
}

TEST_F(SimServerTest, DdLoginScriptCarriesAFreshCodeOfTheLoginUser) {
  json dump = AdminGet("/admin/org");
  json first_active;
  for (const json& u : dump["users"]) {
    if (u["active"].get<bool>()) {
      first_active = u;
      break;
    }
  }
  json who = AdminGet("/admin/login_user");
  EXPECT_EQ(who["userid"], first_active["userid"]);
  EXPECT_EQ(who["default"], true);

  auto a = client_->Get("/ddlogin.js");
  auto b = client_->Get("/ddlogin.js");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->status, 200);
  EXPECT_THAT(a->get_header_value("Content-Type"), ::testing::HasSubstr("application/javascript"));
  EXPECT_EQ(a->get_header_value("Cache-Control"), "no-store");
  EXPECT_THAT(a->body, ::testing::HasSubstr("window.DTFrameLogin = function (frameOpts, loginOpts, onSuccess, onError)"));
  EXPECT_THAT(a->body, ::testing::HasSubstr("'sim-scan'"));
  EXPECT_EQ(BakedString(a->body, "SIM_CLIENT_ID"), opt_.app_key);
  const std::string code_a = BakedString(a->body, "SIM_AUTH_CODE");
  const std::string code_b = BakedString(b->body, "SIM_AUTH_CODE");
  ASSERT_FALSE(code_a.empty());
  EXPECT_NE(code_a, code_b);
  EXPECT_EQ(UnionIdOfAuthCode(code_a), first_active["unionid"]);
  EXPECT_EQ(UnionIdOfAuthCode(code_b), first_active["unionid"]);

  const json& other = dump["users"][7];
  who = Admin("/admin/login_user", {{"userid", other["userid"]}});
  EXPECT_EQ(who["userid"], other["userid"]);
  EXPECT_EQ(who["default"], false);
  EXPECT_EQ(AdminGet("/admin/login_user")["userid"], other["userid"]);
  auto c = client_->Get("/ddlogin.js");
  ASSERT_TRUE(c);
  EXPECT_EQ(UnionIdOfAuthCode(BakedString(c->body, "SIM_AUTH_CODE")), other["unionid"]);

  Admin("/admin/login_user", {{"userid", "nosuchuser"}}, 404);
  Admin("/admin/login_user", json::object(), 400);
  EXPECT_EQ(AdminGet("/admin/login_user")["userid"], other["userid"]);
  EXPECT_EQ(Admin("/admin/login_user", {{"userid", ""}})["userid"], first_active["userid"]);
  EXPECT_EQ(AdminGet("/admin/counters")["calls"]["/ddlogin.js"], 3);
}

TEST_F(SimServerTest, JsapiScriptCarriesAFreeLoginCode) {
  const std::string userid = AdminGet("/admin/org")["users"][9]["userid"];
  Admin("/admin/login_user", {{"userid", userid}});
  auto r = client_->Get("/dingtalk.open.js");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), ::testing::HasSubstr("application/javascript"));
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  EXPECT_THAT(r->body, ::testing::HasSubstr("window.dd = {"));
  EXPECT_THAT(r->body, ::testing::HasSubstr(R"(env: {platform: "notInDingTalk"})"));
  EXPECT_EQ(BakedString(r->body, "SIM_CORP_ID"), opt_.corp_id);
  const std::string code = BakedString(r->body, "SIM_CODE");
  ASSERT_FALSE(code.empty());

  const std::string token = Token();
  json info = Old("/topapi/v2/user/getuserinfo", {{"code", code}}, token);
  ASSERT_EQ(info["errcode"], 0) << info;
  EXPECT_EQ(info["result"]["userid"], userid);
  json again = Old("/topapi/v2/user/getuserinfo", {{"code", code}}, token);
  EXPECT_EQ(again["errcode"], 40078);
  EXPECT_EQ(again["errmsg"], "不存在的临时授权码");

  auto in_app = client_->Get("/dingtalk.open.js?in_app=1");
  ASSERT_TRUE(in_app);
  EXPECT_THAT(in_app->body, ::testing::HasSubstr(R"(env: {platform: "pc"})"));
  EXPECT_NE(BakedString(in_app->body, "SIM_CODE"), code);
}

TEST_F(SimServerTest, ExpiredCodesSayExpired) {
  const std::string userid = AdminGet("/admin/org")["users"][2]["userid"];
  const std::string auth = Admin("/admin/auth_codes", {{"userid", userid}})["authCode"];
  const std::string fl = Admin("/admin/free_login_codes", {{"userid", userid}})["code"];
  EXPECT_EQ(Admin("/admin/codes/expire")["expired"], 2);

  auto exchange = [this](const std::string& code) {
    json req = {{"clientId", opt_.app_key}, {"clientSecret", opt_.app_secret}, {"code", code}, {"grantType", "authorization_code"}};
    auto r = client_->Post("/v1.0/oauth2/userAccessToken", req.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 400) << (r ? r->body : "no response");
    return Parse(r);
  };
  json expired = exchange(auth);
  EXPECT_EQ(expired["code"], "invalidAuthCode");
  EXPECT_EQ(expired["message"], "临时授权码已过期");
  EXPECT_EQ(exchange(auth)["message"], "不合法的临时授权码");  // consumed
  EXPECT_EQ(exchange("nosuchcode")["message"], "不合法的临时授权码");

  const std::string token = Token();
  json info = Old("/topapi/v2/user/getuserinfo", {{"code", fl}}, token);
  EXPECT_EQ(info["errcode"], 40078);
  EXPECT_EQ(info["errmsg"], "临时授权码已过期");
  info = Old("/topapi/v2/user/getuserinfo", {{"code", fl}}, token);
  EXPECT_EQ(info["errcode"], 40078);
  EXPECT_EQ(info["errmsg"], "不存在的临时授权码");

  // Codes issued after the call are fresh.
  const std::string fresh = Admin("/admin/auth_codes", {{"userid", userid}})["authCode"];
  EXPECT_FALSE(UnionIdOfAuthCode(fresh).empty());
}

TEST_F(SimServerTest, InjectedFaults) {
  const std::string token = Token();
  Admin("/admin/faults", {{"error_rate", 1.0}});
  auto r = client_->Post(("/topapi/user/count?access_token=" + token).c_str(), R"({"only_active":true})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_THAT(r->body, ::testing::HasSubstr("502 Bad Gateway"));

  Admin("/admin/faults", {{"error_rate", 0}, {"busy_rate", 1.0}});
  EXPECT_EQ(Old("/topapi/user/count", {{"only_active", true}}, token)["errcode"], -1);

  Admin("/admin/faults", {{"busy_rate", 0}, {"ip_ban_rate", 1.0}});
  r = client_->Post(("/topapi/user/count?access_token=" + token).c_str(), R"({"only_active":true})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_THAT(r->get_header_value("Content-Type"), ::testing::HasSubstr("text/html"));
  EXPECT_TRUE(json::parse(r->body, nullptr, false).is_discarded());

  Admin("/admin/faults", {{"ip_ban_rate", 0}, {"drop_rate", 1.0}});
  httplib::Client fresh("127.0.0.1", server_->port());
  auto dropped = fresh.Post(("/topapi/user/count?access_token=" + token).c_str(), R"({"only_active":true})",
                            "application/json");
  EXPECT_FALSE(dropped);

  Admin("/admin/faults", {{"drop_rate", 0}, {"latency_ms", 150}});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Old("/topapi/user/count", {{"only_active", true}}, token)["errcode"], 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  Admin("/admin/faults", {{"latency_ms", 0}});

  json counters = AdminGet("/admin/counters");
  EXPECT_EQ(counters["faults"]["error"], 1);
  EXPECT_EQ(counters["faults"]["drop"], 1);
  Admin("/admin/faults", {{"error_rate", 2}}, 400);
}

// The simulator's accepted sockets have Nagle off: with it on, each keep-alive reply (written in two
// pieces by httplib 0.11) waits ~40 ms for the client's delayed ACK. The server runs in this process,
// so the test finds its accepted socket among our own fds (local port = server port, has a peer).
TEST_F(SimServerTest, AcceptedKeepAliveSocketHasTcpNodelay) {
  client_->set_keep_alive(true);  // httplib 0.11 clients close after each request by default
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client_->Get("/admin/counters")) << i;
  int accepted = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    int port = -1;
    if (local.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    if (local.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    if (port != server_->port()) continue;
    len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;  // the listener
    int nodelay = 0;
    len = sizeof(nodelay);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    EXPECT_NE(nodelay, 0) << "accepted fd " << fd;
    ++accepted;
  }
  EXPECT_EQ(accepted, 1);  // the one keep-alive connection served all 20 requests
}

TEST_F(SimServerTest, FailedCallbackList) {
  Admin("/admin/failed_events", {{"type", "user_add_org"}, {"user_ids", {"zhangsan"}}});
  Admin("/admin/failed_events", {{"type", "org_dept_create"}, {"dept_ids", {123}}});
  const std::string token = Token();
  auto r = client_->Get(("/call_back/get_call_back_failed_result?access_token=" + token).c_str());
  ASSERT_TRUE(r);
  json j = json::parse(r->body);
  EXPECT_EQ(j["errcode"], 0);
  EXPECT_EQ(j["has_more"], false);
  ASSERT_EQ(j["failed_list"].size(), 2u);
  EXPECT_EQ(j["failed_list"][0]["call_back_tag"], "user_add_org");
  EXPECT_EQ(j["failed_list"][0]["user_add_org"]["userid"], json({"zhangsan"}));
  EXPECT_EQ(j["failed_list"][0]["user_add_org"]["corpid"], opt_.corp_id);
  EXPECT_EQ(j["failed_list"][1]["org_dept_create"]["deptid"], json({123}));
  EXPECT_TRUE(j["failed_list"][0]["event_time"].is_number_integer());
  // Consumed on read.
  EXPECT_EQ(Old("/topapi/call_back/get_call_back_failed_result", json::object(), token)["failed_list"].size(), 0u);
}

}  // namespace
}  // namespace sase::dingtalk_sim

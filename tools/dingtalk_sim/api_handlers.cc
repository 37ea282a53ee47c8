// DingTalk API endpoints of the simulator (old oapi and new api /v1.0 formats).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "dingtalk_sim/derive.h"
#include "dingtalk_sim/sim_server.h"
#include "dingtalk_sim/sim_util.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

json Ok(json result) { return {{"errcode", 0}, {"errmsg", "ok"}, {"result", std::move(result)}}; }

constexpr int kMaxPageSize = 100;
constexpr size_t kFailedListMax = 200;

}  // namespace

void SimServer::RegisterApiRoutes() {
  // --- access tokens -------------------------------------------------------------------------
  http_.Get("/gettoken", [this](const Request& req, Response& res) {
    if (CountAndInjectFault("/gettoken", req, res, false)) return;
    const std::string key = req.get_param_value("appkey");
    const std::string secret = req.get_param_value("appsecret");
    if (key.empty() || secret.empty()) return ReplyOld(res, OldError(40035, "缺少参数 corpid or appkey"));
    if (key != opt_.app_key || secret != opt_.app_secret) {
      return ReplyOld(res, OldError(40096, "不合法的appKey或appSecret"));
    }
    int64_t expires_in = 0;
    std::string token = IssueAppToken(key, &expires_in);
    res.status = 200;
    res.set_content(json{{"errcode", 0}, {"access_token", token}, {"errmsg", "ok"}, {"expires_in", expires_in}}.dump(),
                    "application/json;charset=utf-8");
  });

  http_.Post("/v1.0/oauth2/accessToken", [this](const Request& req, Response& res) {
    if (CountAndInjectFault("/v1.0/oauth2/accessToken", req, res, true)) return;
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return ReplyNew(res, 400, NewError("MissingParameter", "body is mandatory for this action"));
    }
    if (GetString(body, "appKey").value_or("") != opt_.app_key ||
        GetString(body, "appSecret").value_or("") != opt_.app_secret) {
      return ReplyNew(res, 400, NewError("invalidClientIdOrSecret", "无效的clientId或者clientSecret"));
    }
    int64_t expires_in = 0;
    std::string token = IssueAppToken(opt_.app_key, &expires_in);
    ReplyNew(res, 200, {{"accessToken", token}, {"expireIn", expires_in}});
  });

  // --- departments ---------------------------------------------------------------------------
  OldRoute("POST", "/topapi/v2/department/listsub", [this](const Request&, const json& body) {
    const int64_t id = GetInt(body, "dept_id").value_or(kRootDeptId);
    std::shared_lock lock(org_mu_);
    const DeptRecord* d = org_->FindDept(id);
    if (d == nullptr) return OldError(60003, "未找到对应部门");
    json list = json::array();
    for (int64_t child : d->children) list.push_back(org_->DeptBriefJson(child));
    return Ok(std::move(list));
  });

  OldRoute("POST", "/topapi/v2/department/listsubid", [this](const Request&, const json& body) {
    std::optional<int64_t> id = GetInt(body, "dept_id");
    if (!id) return OldError(400002, "无效的参数");
    std::shared_lock lock(org_mu_);
    const DeptRecord* d = org_->FindDept(*id);
    if (d == nullptr) return OldError(60003, "未找到对应部门");
    return Ok({{"dept_id_list", d->children}});
  });

  OldRoute("POST", "/topapi/v2/department/get", [this](const Request&, const json& body) {
    std::optional<int64_t> id = GetInt(body, "dept_id");
    if (!id) return OldError(400002, "无效的参数");
    std::shared_lock lock(org_mu_);
    if (org_->FindDept(*id) == nullptr) return OldError(60003, "未找到对应部门");
    return Ok(org_->DeptJson(*id));
  });

  // --- users ---------------------------------------------------------------------------------
  // Shared paging for v2/user/list and user/listsimple: direct members only, cursor = offset.
  auto page = [this](const json& body, bool simple) -> json {
    std::optional<int64_t> dept = GetInt(body, "dept_id");
    std::optional<int64_t> cursor = GetInt(body, "cursor");
    std::optional<int64_t> size = GetInt(body, "size");
    if (!dept || !cursor || !size) return OldError(400002, "无效的参数");
    if (*size < 1 || *size > kMaxPageSize) return simple ? OldError(40069, "无效的size") : OldError(40035, "参数非法");
    if (*cursor < 0) return simple ? OldError(40068, "无效的偏移量") : OldError(40035, "参数非法");
    std::shared_lock lock(org_mu_);
    const DeptRecord* d = org_->FindDept(*dept);
    if (d == nullptr) return OldError(60003, "未找到对应部门");
    const int64_t total = static_cast<int64_t>(d->members.size());
    const int64_t end = std::min(total, *cursor + *size);
    json list = json::array();
    for (int64_t i = *cursor; i < end; ++i) {
      const uint32_t slot = d->members[static_cast<size_t>(i)];
      if (simple) {
        list.push_back({{"userid", org_->user(slot).userid}, {"name", org_->user(slot).name}});
      } else {
        list.push_back(org_->UserJson(slot, UserView::kList, *dept));
      }
    }
    json result = {{"has_more", end < total}, {"list", std::move(list)}};
    if (end < total) result["next_cursor"] = end;
    return Ok(std::move(result));
  };
  OldRoute("POST", "/topapi/v2/user/list", [page](const Request&, const json& body) { return page(body, false); });
  OldRoute("POST", "/topapi/user/listsimple", [page](const Request&, const json& body) { return page(body, true); });

  OldRoute("POST", "/topapi/user/listid", [this](const Request&, const json& body) {
    std::optional<int64_t> id = GetInt(body, "dept_id");
    if (!id) return OldError(400002, "无效的参数");
    std::shared_lock lock(org_mu_);
    const DeptRecord* d = org_->FindDept(*id);
    if (d == nullptr) return OldError(60003, "未找到部门");
    json ids = json::array();
    for (uint32_t slot : d->members) ids.push_back(org_->user(slot).userid);
    return Ok({{"userid_list", std::move(ids)}});
  });

  OldRoute("POST", "/topapi/v2/user/get", [this](const Request&, const json& body) {
    std::optional<std::string> userid = GetString(body, "userid");
    if (!userid || userid->empty()) return OldError(400002, "无效的参数");
    std::shared_lock lock(org_mu_);
    std::optional<uint32_t> slot = org_->SlotOfUserid(*userid);
    if (!slot) return OldError(60121, "找不到该用户");
    return Ok(org_->UserJson(*slot, UserView::kGet));
  });

  OldRoute("POST", "/topapi/user/getbyunionid", [this](const Request&, const json& body) {
    std::optional<std::string> unionid = GetString(body, "unionid");
    if (!unionid || unionid->empty()) return OldError(400002, "无效的参数");
    std::shared_lock lock(org_mu_);
    std::optional<uint32_t> slot = org_->SlotOfUnionid(*unionid);
    if (!slot) return OldError(60121, "未找到对应员工");
    return Ok({{"contact_type", 0}, {"userid", org_->user(*slot).userid}});
  });

  OldRoute("POST", "/topapi/user/count", [this](const Request&, const json& body) {
    std::optional<bool> only_active = GetBool(body, "only_active");
    if (!only_active) return OldError(400002, "参数为空");
    std::shared_lock lock(org_mu_);
    return Ok({{"count", org_->CountUsers(*only_active)}});
  });

  // --- free login (免登) ----------------------------------------------------------------------
  OldRoute("POST", "/topapi/v2/user/getuserinfo", [this](const Request&, const json& body) {
    std::optional<std::string> code = GetString(body, "code");
    std::string userid;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = code ? free_login_codes_.find(*code) : free_login_codes_.end();
      if (it == free_login_codes_.end()) return OldError(40078, "不存在的临时授权码");  // unknown or used
      const bool fresh = Clock::now() < it->second.expires;
      userid = it->second.userid;
      free_login_codes_.erase(it);  // single use
      if (!fresh) return OldError(40078, "临时授权码已过期");
    }
    std::shared_lock lock(org_mu_);
    std::optional<uint32_t> slot = org_->SlotOfUserid(userid);
    if (!slot) return OldError(60121, "找不到该用户");
    const UserRecord& u = org_->user(*slot);
    const bool admin = u.has(UserRecord::kAdmin);
    const int sys_level = u.has(UserRecord::kBoss) ? 100 : admin ? 2 : 0;
    return Ok({{"userid", u.userid},
               {"unionid", org_->UnionIdOf(*slot)},
               {"associated_unionid", ""},
               {"name", u.name},
               {"device_id", RandomHex(16)},
               {"sys", admin},
               {"sys_level", sys_level}});
  });

  // --- failed event list ---------------------------------------------------------------------
  auto failed = [this](const Request&, const json&) {
    std::lock_guard<std::mutex> lock(mu_);
    json list = json::array();
    while (!failed_events_.empty() && list.size() < kFailedListMax) {
      list.push_back(FailedListEntry(failed_events_.front()));
      failed_events_.pop_front();
    }
    return json{{"errcode", 0}, {"errmsg", "ok"}, {"has_more", !failed_events_.empty()}, {"failed_list", std::move(list)}};
  };
  for (const char* path : {"/call_back/get_call_back_failed_result", "/topapi/call_back/get_call_back_failed_result"}) {
    OldRoute("GET", path, failed);
    OldRoute("POST", path, failed);
  }

  // --- OAuth login (new API) -----------------------------------------------------------------
  http_.Post("/v1.0/oauth2/userAccessToken", [this](const Request& req, Response& res) {
    if (CountAndInjectFault("/v1.0/oauth2/userAccessToken", req, res, true)) return;
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return ReplyNew(res, 400, NewError("MissingParameter", "body is mandatory for this action"));
    }
    if (GetString(body, "clientId").value_or("") != opt_.app_key ||
        GetString(body, "clientSecret").value_or("") != opt_.app_secret) {
      return ReplyNew(res, 400, NewError("invalidClientIdOrSecret", "无效的clientId或者clientSecret"));
    }
    const std::string grant = GetString(body, "grantType").value_or("authorization_code");
    std::string userid;
    std::lock_guard<std::mutex> lock(mu_);
    if (grant == "authorization_code") {
      std::optional<std::string> code = GetString(body, "code");
      auto it = code ? auth_codes_.find(*code) : auth_codes_.end();
      if (it == auth_codes_.end()) return ReplyNew(res, 400, NewError("invalidAuthCode", "不合法的临时授权码"));
      if (Clock::now() >= it->second.expires) {
        auth_codes_.erase(it);
        return ReplyNew(res, 400, NewError("invalidAuthCode", "临时授权码已过期"));
      }
      userid = it->second.userid;
      auth_codes_.erase(it);  // single use
    } else if (grant == "refresh_token") {
      std::optional<std::string> refresh = GetString(body, "refreshToken");
      auto it = refresh ? refresh_tokens_.find(*refresh) : refresh_tokens_.end();
      if (it == refresh_tokens_.end()) return ReplyNew(res, 400, NewError("invalidRefreshToken", "不合法的refreshToken"));
      userid = it->second;
    } else {
      return ReplyNew(res, 400, NewError("unsupported.grant.type", "不支持的grantType"));
    }
    std::string token = RandomHex(32);
    std::string refresh = RandomHex(32);
    user_tokens_[token] = Token{userid, Clock::now() + std::chrono::seconds(opt_.token_lifetime_s), false};
    refresh_tokens_[refresh] = userid;
    ReplyNew(res, 200,
             {{"accessToken", token}, {"refreshToken", refresh}, {"expireIn", opt_.token_lifetime_s}, {"corpId", opt_.corp_id}});
  });

  http_.Get(R"(/v1\.0/contact/users/([^/]+))", [this](const Request& req, Response& res) {
    const std::string api = "/v1.0/contact/users/me";
    if (CountAndInjectFault(api, req, res, true)) return;
    const std::string token = req.get_header_value("x-acs-dingtalk-access-token");
    if (token.empty()) {
      return ReplyNew(res, 400, NewError("AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token"));
    }
    std::string userid;
    bool app_token = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = user_tokens_.find(token);
      if (it == user_tokens_.end()) {
        auto app = app_tokens_.find(token);
        if (app == app_tokens_.end()) return ReplyNew(res, 400, NewError("InvalidAuthentication", "不合法的access_token"));
        app_token = true;
      } else {
        if (it->second.revoked || Clock::now() >= it->second.expires) {
          return ReplyNew(res, 400, NewError("accesstoken.expired", "用户accessToken过期"));
        }
        userid = it->second.subject;
      }
    }
    const std::string target = req.matches[1];
    if (target == "me" && app_token) {
      return ReplyNew(res, 403, NewError("Forbidden.AccessDenied.AccessTokenPermissionDenied", "没有调用该接口的权限"));
    }
    if (Throttled(opt_.app_key, api)) {
      return ReplyNew(res, 403,
                      NewError("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "您的企业应用调用钉钉开放平台当前接口的所有请求都被暂时禁用了"));
    }
    std::shared_lock lock(org_mu_);
    std::optional<uint32_t> slot = target == "me" ? org_->SlotOfUserid(userid) : org_->SlotOfUnionid(target);
    if (!slot) return ReplyNew(res, 404, NewError("invalidParameter.user.notFound", "找不到该用户"));
    json u = org_->UserJson(*slot, UserView::kGet);
    json me = {{"nick", u["name"]},
               {"avatarUrl", absl::StrCat("https://static.example.com/avatar/", org_->user(*slot).serial, ".png")},
               {"mobile", u.value("mobile", "")},
               {"openId", DerivedUnionId(SplitMix64(std::hash<std::string>{}(opt_.app_key)), org_->user(*slot).serial)},
               {"unionId", u["unionid"]},
               {"stateCode", u.value("state_code", "86")}};
    if (u.contains("email")) me["email"] = u["email"];
    ReplyNew(res, 200, std::move(me));
  });
}

}  // namespace sase::dingtalk_sim

// Admin API of the simulator. All bodies are JSON; answers are JSON with "ok": true, or an HTTP
// 4xx with {"ok":false,"error":"..."} (400 bad input, 404 unknown id, 409 conflict).
//
//   GET  /admin/org                 whole organisation: {"corp_id","departments":[department/get],
//                                   "users":[v2/user/get]}
//   POST /admin/users/add           {"userid"?, "name", "dept_id_list":[..], any v2/user/get field}
//   POST /admin/users/modify        {"userid", fields...}; null removes email/extension/...;
//                                   "dept_id_list" moves, "leader_in_dept":[{dept_id,leader}]
//   POST /admin/users/move          {"userid", "dept_id_list":[..]}
//   POST /admin/users/remove        {"userid"}
//   POST /admin/depts/add           {"name", "parent_id"?=1, "dept_id"?, "order"?}
//   POST /admin/depts/modify        {"dept_id", "name"?, "order"?, "parent_id"?, extra fields}
//   POST /admin/depts/move          {"dept_id", "parent_id"}
//   POST /admin/depts/remove        {"dept_id"} (must have no members and no sub-departments)
//   GET|POST /admin/faults          {"error_rate","busy_rate","latency_ms","ip_ban_rate","ip_ban_style",
//                                   "ip_ban_http_status","drop_rate"} (partial update)
//   GET|POST /admin/throttle        {"qps": N (0 = unlimited), "style": "90018"|"88",
//                                   "token_error_style": "flat"|"88"}
//   POST /admin/tokens/expire       every app and user token answers expired from now on
//   GET  /admin/counters            {"calls":{api:n},"throttled":{api:n},"throttled_total",
//                                   "faults":{kind:n},"events","failed_pending","pusher"}
//   POST /admin/counters/reset
//   POST /admin/auth_codes          {"userid"} -> {"authCode"}   (OAuth, for /v1.0/oauth2/userAccessToken)
//   POST /admin/free_login_codes    {"userid"} -> {"code"}       (for /topapi/v2/user/getuserinfo)
//   POST /admin/codes/expire        every outstanding OAuth and free-login code answers expired from now on
//   GET|POST /admin/login_user      {"userid"}: whom /ddlogin.js and /dingtalk.open.js issue codes for
//                                   ("" = default, the first active user) -> {"userid","default"}
//   GET  /admin/last_authorize      {"params":{name: value, or [values] when repeated},"target"} of the
//                                   last GET /oauth2/auth (404 before the first)
//   GET  /admin/events              every event the mutations produced, in the current layout
//   POST /admin/failed_events       {"type","user_ids"?,"dept_ids"?}: file an event as failed directly
//   POST /admin/callback/check_url  push {"EventType":"check_url"} through the event pusher (409 if none)
//   GET  /admin/robot/messages, POST /admin/robot/reset: the custom robot (robot_handlers.cc)

#include "absl/strings/str_cat.h"
#include "dingtalk_sim/sim_server.h"
#include "dingtalk_sim/sim_util.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;
using httplib::Request;
using httplib::Response;

void ReplyAdmin(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json;charset=utf-8");
}

void ReplyStatus(Response& res, const absl::Status& s) {
  int status = 500;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument: status = 400; break;
    case absl::StatusCode::kNotFound: status = 404; break;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition: status = 409; break;
    default: break;
  }
  ReplyAdmin(res, status, {{"ok", false}, {"error", std::string(s.message())}});
}

bool ParseAdminBody(const Request& req, Response& res, json* out) {
  *out = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    ReplyAdmin(res, 400, {{"ok", false}, {"error", "body must be a JSON object"}});
    return false;
  }
  return true;
}

json EventTypes(const std::vector<MutationEvent>& events) {
  json types = json::array();
  for (const MutationEvent& e : events) types.push_back(e.type);
  return types;
}

}  // namespace

void SimServer::RegisterAdminRoutes() {
  http_.Get("/admin/org", [this](const Request&, Response& res) {
    std::shared_lock lock(org_mu_);
    ReplyAdmin(res, 200, org_->Dump());
  });

  // Runs one Org mutation under the write lock, emits its events, answers with extra fields.
  using Mutation = std::function<absl::StatusOr<std::vector<MutationEvent>>(const json&, json* extra)>;
  auto mutate = [this](const std::string& path, Mutation m) {
    http_.Post(path, [this, m](const Request& req, Response& res) {
      json body;
      if (!ParseAdminBody(req, res, &body)) return;
      json extra = json::object();
      absl::StatusOr<std::vector<MutationEvent>> events;
      {
        std::unique_lock lock(org_mu_);
        events = m(body, &extra);
      }
      if (!events.ok()) return ReplyStatus(res, events.status());
      EmitEvents(*events);
      extra["ok"] = true;
      extra["events"] = EventTypes(*events);
      ReplyAdmin(res, 200, extra);
    });
  };

  mutate("/admin/users/add", [this](const json& b, json* extra) {
    std::string userid;
    auto r = org_->AddUser(b, &userid);
    if (r.ok()) (*extra)["userid"] = userid;
    return r;
  });
  mutate("/admin/users/modify", [this](const json& b, json*) { return org_->ModifyUser(b); });
  mutate("/admin/users/move", [this](const json& b, json*) -> absl::StatusOr<std::vector<MutationEvent>> {
    if (!b.contains("userid") || !b.contains("dept_id_list")) {
      return absl::InvalidArgumentError("userid and dept_id_list are required");
    }
    return org_->ModifyUser({{"userid", b["userid"]}, {"dept_id_list", b["dept_id_list"]}});
  });
  mutate("/admin/users/remove", [this](const json& b, json*) -> absl::StatusOr<std::vector<MutationEvent>> {
    std::optional<std::string> userid = GetString(b, "userid");
    if (!userid) return absl::InvalidArgumentError("userid is required");
    return org_->RemoveUser(*userid);
  });
  mutate("/admin/depts/add", [this](const json& b, json* extra) {
    int64_t id = 0;
    auto r = org_->AddDept(b, &id);
    if (r.ok()) (*extra)["dept_id"] = id;
    return r;
  });
  mutate("/admin/depts/modify", [this](const json& b, json*) { return org_->ModifyDept(b); });
  mutate("/admin/depts/move", [this](const json& b, json*) -> absl::StatusOr<std::vector<MutationEvent>> {
    if (!b.contains("dept_id") || !b.contains("parent_id")) {
      return absl::InvalidArgumentError("dept_id and parent_id are required");
    }
    return org_->ModifyDept({{"dept_id", b["dept_id"]}, {"parent_id", b["parent_id"]}});
  });
  mutate("/admin/depts/remove", [this](const json& b, json*) -> absl::StatusOr<std::vector<MutationEvent>> {
    std::optional<int64_t> id = GetInt(b, "dept_id");
    if (!id) return absl::InvalidArgumentError("dept_id is required");
    return org_->RemoveDept(*id);
  });

  auto faults_get = [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ReplyAdmin(res, 200, FaultsToJson(faults_));
  };
  http_.Get("/admin/faults", faults_get);
  http_.Post("/admin/faults", [this](const Request& req, Response& res) {
    json body;
    if (!ParseAdminBody(req, res, &body)) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Status s = ApplyFaultsJson(body, &faults_); !s.ok()) return ReplyStatus(res, s);
    json out = FaultsToJson(faults_);
    out["ok"] = true;
    ReplyAdmin(res, 200, out);
  });

  auto throttle_json = [this] {
    return json{{"qps", qps_},
                {"style", throttle_style_ == ThrottleStyle::kTopLevel ? "90018" : "88"},
                {"token_error_style", token_error_style_ == TokenErrorStyle::kTopLevel ? "flat" : "88"}};
  };
  http_.Get("/admin/throttle", [this, throttle_json](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ReplyAdmin(res, 200, throttle_json());
  });
  http_.Post("/admin/throttle", [this, throttle_json](const Request& req, Response& res) {
    json body;
    if (!ParseAdminBody(req, res, &body)) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (body.contains("qps")) {
      if (!body["qps"].is_number_integer() || body["qps"].get<int64_t>() < 0) {
        return ReplyStatus(res, absl::InvalidArgumentError("qps must be an integer >= 0"));
      }
      qps_ = body["qps"].get<int64_t>();
    }
    if (body.contains("style")) {
      absl::StatusOr<ThrottleStyle> st = ParseThrottleStyle(body["style"].is_string() ? body["style"].get<std::string>() : "");
      if (!st.ok()) return ReplyStatus(res, st.status());
      throttle_style_ = *st;
    }
    if (body.contains("token_error_style")) {
      const json& v = body["token_error_style"];
      absl::StatusOr<TokenErrorStyle> st = ParseTokenErrorStyle(v.is_string() ? v.get<std::string>() : "");
      if (!st.ok()) return ReplyStatus(res, st.status());
      token_error_style_ = *st;
    }
    windows_.clear();
    json out = throttle_json();
    out["ok"] = true;
    ReplyAdmin(res, 200, out);
  });

  http_.Post("/admin/tokens/expire", [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [token, t] : app_tokens_) t.revoked = true;
    for (auto& [token, t] : user_tokens_) t.revoked = true;
    ReplyAdmin(res, 200, {{"ok", true}, {"expired", app_tokens_.size() + user_tokens_.size()}});
  });

  http_.Get("/admin/counters", [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t throttled_total = 0;
    for (const auto& [api, n] : throttled_) throttled_total += n;
    json out = {{"calls", calls_},
                {"throttled", throttled_},
                {"throttled_total", throttled_total},
                {"faults", faults_injected_},
                {"events", event_log_.size()},
                {"failed_pending", failed_events_.size()}};
    if (pusher_) out["pusher"] = pusher_->Stats();
    ReplyAdmin(res, 200, out);
  });
  http_.Post("/admin/counters/reset", [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
    throttled_.clear();
    faults_injected_.clear();
    ReplyAdmin(res, 200, {{"ok", true}});
  });

  auto code_route = [this](const std::string& path, bool free_login) {
    http_.Post(path, [this, free_login](const Request& req, Response& res) {
      json body;
      if (!ParseAdminBody(req, res, &body)) return;
      std::optional<std::string> userid = GetString(body, "userid");
      if (!userid) return ReplyStatus(res, absl::InvalidArgumentError("userid is required"));
      {
        std::shared_lock lock(org_mu_);
        if (!org_->SlotOfUserid(*userid)) return ReplyStatus(res, absl::NotFoundError("user not found"));
      }
      std::string code = IssueCode(*userid, free_login);
      ReplyAdmin(res, 200, {{"ok", true}, {free_login ? "code" : "authCode", code}});
    });
  };
  code_route("/admin/auth_codes", false);
  code_route("/admin/free_login_codes", true);

  http_.Post("/admin/codes/expire", [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [code, c] : auth_codes_) c.expires = Clock::time_point::min();
    for (auto& [code, c] : free_login_codes_) c.expires = Clock::time_point::min();
    ReplyAdmin(res, 200, {{"ok", true}, {"expired", auth_codes_.size() + free_login_codes_.size()}});
  });

  auto login_user_json = [this] {
    bool is_default = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      is_default = login_user_.empty();
    }
    std::optional<std::string> userid = LoginUserid();
    return json{{"userid", userid ? json(*userid) : json()}, {"default", is_default}};
  };
  http_.Get("/admin/login_user", [login_user_json](const Request&, Response& res) {
    ReplyAdmin(res, 200, login_user_json());
  });
  http_.Post("/admin/login_user", [this, login_user_json](const Request& req, Response& res) {
    json body;
    if (!ParseAdminBody(req, res, &body)) return;
    std::optional<std::string> userid = GetString(body, "userid");
    if (!userid) return ReplyStatus(res, absl::InvalidArgumentError("userid is required (\"\" = default)"));
    if (!userid->empty()) {
      std::shared_lock lock(org_mu_);
      if (!org_->SlotOfUserid(*userid)) return ReplyStatus(res, absl::NotFoundError("user not found"));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      login_user_ = *userid;
    }
    json out = login_user_json();
    out["ok"] = true;
    ReplyAdmin(res, 200, out);
  });

  http_.Get("/admin/last_authorize", [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_authorize_.is_null()) return ReplyStatus(res, absl::NotFoundError("no authorize request yet"));
    ReplyAdmin(res, 200, last_authorize_);
  });

  http_.Get("/admin/events", [this](const Request&, Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    json list = json::array();
    for (const SimEvent& e : event_log_) list.push_back(EventPayload(e, EventLayout::kCurrent));
    ReplyAdmin(res, 200, {{"events", std::move(list)}});
  });

  http_.Post("/admin/failed_events", [this](const Request& req, Response& res) {
    json body;
    if (!ParseAdminBody(req, res, &body)) return;
    std::optional<std::string> type = GetString(body, "type");
    if (!type) return ReplyStatus(res, absl::InvalidArgumentError("type is required"));
    SimEvent e;
    e.type = *type;
    e.corp_id = opt_.corp_id;
    e.event_id = RandomHex(32);
    e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    if (body.contains("user_ids") && body["user_ids"].is_array()) {
      for (const json& u : body["user_ids"]) {
        if (u.is_string()) e.user_ids.push_back(u.get<std::string>());
      }
    }
    if (body.contains("dept_ids") && body["dept_ids"].is_array()) {
      for (const json& d : body["dept_ids"]) {
        if (d.is_number_integer()) e.dept_ids.push_back(d.get<int64_t>());
      }
    }
    FileFailed(e);
    ReplyAdmin(res, 200, {{"ok", true}});
  });

  http_.Post("/admin/callback/check_url", [this](const Request&, Response& res) {
    if (!pusher_) return ReplyStatus(res, absl::FailedPreconditionError("no callback url configured"));
    EmitEvents({MutationEvent{"check_url", {}, {}}});
    ReplyAdmin(res, 200, {{"ok", true}});
  });
}

}  // namespace sase::dingtalk_sim

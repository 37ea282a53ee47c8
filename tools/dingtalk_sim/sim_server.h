#pragma once
// DingTalk simulator: serves a generated organisation over DingTalk's old (oapi, errcode) and new
// (api /v1.0, HTTP status + code) wire formats on loopback, with per-app per-API QPS limits, token
// expiry, injectable faults, an admin API under /admin/ and address-book event delivery.
//
// DingTalk endpoints (one host serves both the oapi and the api paths):
//   GET  /gettoken?appkey&appsecret                      POST /v1.0/oauth2/accessToken {appKey,appSecret}
//   POST /topapi/v2/department/listsub|listsubid|get     POST /topapi/v2/user/list|get
//   POST /topapi/user/getbyunionid|count|listsimple|listid
//   POST /topapi/v2/user/getuserinfo {code}              POST /v1.0/oauth2/userAccessToken
//   GET  /v1.0/contact/users/me (x-acs-dingtalk-access-token)
//   GET|POST /call_back/get_call_back_failed_result (also under /topapi/call_back/...)
// Login side (login_handlers.cc; on the same host, although DingTalk serves them from
// login.dingtalk.com and g.alicdn.com):
//   GET  /oauth2/auth?client_id&redirect_uri&response_type&scope&prompt&state...  authorize page; test
//        hooks sim_userid=U (302 with a code for U) and sim_error=E (302 with error=E)
//   GET  /ddlogin.js          DTFrameLogin stand-in with a fresh OAuth code of the login user baked in
//   GET  /dingtalk.open.js    dd (JSAPI) stand-in with a fresh free-login code baked in (?in_app=1: in DingTalk)
// Custom group robot (robot.h, robot_handlers.cc; DingTalk serves it from oapi.dingtalk.com):
//   POST /robot/send?access_token&timestamp&sign   signed markdown/text messages, 20 per minute
// Admin endpoints: see admin_handlers.cc (the list is in the README block there) and, for the
// robot, robot_handlers.cc.
//
// Test use: Start() with port 0 and read port(); everything is in-process.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dingtalk_sim/event_pusher.h"
#include "dingtalk_sim/org.h"
#include "dingtalk_sim/robot.h"
#include "nlohmann/json.hpp"

namespace sase::dingtalk_sim {

// How the old API reports a QPS overrun (DingTalk's real shape is unconfirmed: clients must accept both).
enum class ThrottleStyle {
  kTopLevel,  // {"errcode":90018,"errmsg":...}
  kSubCode,   // {"errcode":88,"sub_code":"90018","sub_msg":...,"errmsg":"ding talk error[subcode=90018,...]"}
};
// How the old API reports token problems.
enum class TokenErrorStyle {
  kTopLevel,  // 41001 missing, 40014 unknown, 42001 expired
  kSubCode,   // errcode 88 with sub_code 40000 (blank), 40014 (unknown), 42001 (expired)
};

absl::StatusOr<ThrottleStyle> ParseThrottleStyle(std::string_view s);   // "90018" | "88"
absl::StatusOr<TokenErrorStyle> ParseTokenErrorStyle(std::string_view s);  // "flat" | "88"

struct FaultSettings {
  double error_rate = 0;    // fraction answered HTTP 502 with an HTML gateway page
  double busy_rate = 0;     // fraction answered errcode -1 系统繁忙 (new API: HTTP 500 systemError)
  int64_t latency_ms = 0;   // added to every DingTalk API call
  double ip_ban_rate = 0;   // fraction answered with the IP-ban punish page
  std::string ip_ban_style = "html";  // "html" (text/html page) or "json" ({"status":1111,...})
  int ip_ban_http_status = 200;
  double drop_rate = 0;     // fraction whose connection is closed without any reply
};
nlohmann::json FaultsToJson(const FaultSettings& f);
// Partial update: only keys present in j change. Validates ranges.
absl::Status ApplyFaultsJson(const nlohmann::json& j, FaultSettings* f);

struct SimOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  GeneratorOptions generator;
  std::string app_key = "dingsimappkey00001";
  std::string app_secret = "sim-app-secret-0123456789";
  std::string corp_id = "dingsimcorp00000000000000000000001";
  int64_t token_lifetime_s = 7200;
  int64_t code_lifetime_s = 300;  // OAuth auth codes and free-login codes
  int64_t qps = 20;               // per app per API; 0 = unlimited
  ThrottleStyle throttle_style = ThrottleStyle::kSubCode;
  TokenErrorStyle token_error_style = TokenErrorStyle::kTopLevel;
  FaultSettings faults;
  RobotOptions robot;  // the custom group robot behind /robot/send
  int threads = 16;
  // Optional event delivery. Called once at start with the callback that files failed events.
  std::function<std::unique_ptr<EventPusher>(EventPusher::FailedCallback)> pusher_factory;
};

class SimServer {
 public:
  static absl::StatusOr<std::unique_ptr<SimServer>> Start(SimOptions options);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  using Clock = std::chrono::steady_clock;
  using Request = httplib::Request;
  using Response = httplib::Response;
  using OldHandler = std::function<nlohmann::json(const Request&, const nlohmann::json& body)>;

  explicit SimServer(SimOptions options);
  void RegisterApiRoutes();
  void RegisterAdminRoutes();
  void RegisterLoginRoutes();
  void RegisterRobotRoutes();

  // Registers an old-API (oapi) POST route that needs an app access token.
  void OldRoute(const std::string& method, const std::string& path, OldHandler handler);
  // Counts the call and applies faults; true when the request has been answered (or dropped).
  bool CountAndInjectFault(const std::string& api, const Request& req, Response& res, bool new_api);
  // Old-API token check; fills *app_key. Returns an error body, or null when the token is fine.
  nlohmann::json CheckOldToken(const Request& req, std::string* app_key);
  bool Throttled(const std::string& app_key, const std::string& api);
  nlohmann::json ThrottleBody();
  void ReplyOld(Response& res, nlohmann::json body);
  void ReplyNew(Response& res, int status, nlohmann::json body);
  static nlohmann::json NewError(std::string_view code, std::string_view message);
  static nlohmann::json OldError(int64_t errcode, std::string_view errmsg);

  std::string IssueAppToken(const std::string& app_key, int64_t* expires_in);
  std::string IssueCode(const std::string& userid, bool free_login);
  // Whom the login scripts issue codes for: the admin-set login user, else the first active user of
  // the org (nullopt when there is none).
  std::optional<std::string> LoginUserid();
  void EmitEvents(const std::vector<MutationEvent>& events);
  void FileFailed(const SimEvent& event);

  SimOptions opt_;
  httplib::Server http_;
  std::thread thread_;
  int port_ = 0;
  bool stopped_ = false;

  mutable std::shared_mutex org_mu_;
  std::unique_ptr<Org> org_;

  struct Token {
    std::string subject;  // app key (app tokens) or userid (user tokens)
    Clock::time_point expires;
    bool revoked = false;
  };
  struct Code {
    std::string userid;
    Clock::time_point expires;
  };
  struct Window {
    int64_t second = -1;
    int64_t count = 0;
  };

  std::mutex mu_;  // everything below
  absl::flat_hash_map<std::string, Token> app_tokens_;
  absl::flat_hash_map<std::string, std::string> current_app_token_;  // app key -> token
  absl::flat_hash_map<std::string, Token> user_tokens_;
  absl::flat_hash_map<std::string, std::string> refresh_tokens_;  // refresh token -> userid
  absl::flat_hash_map<std::string, Code> auth_codes_;
  absl::flat_hash_map<std::string, Code> free_login_codes_;
  absl::flat_hash_map<std::string, Window> windows_;  // app|api -> current second
  int64_t qps_;
  ThrottleStyle throttle_style_;
  TokenErrorStyle token_error_style_;
  FaultSettings faults_;
  std::map<std::string, int64_t> calls_;
  std::map<std::string, int64_t> throttled_;
  std::map<std::string, int64_t> faults_injected_;
  std::string login_user_;  // empty = default (first active user)
  nlohmann::json last_authorize_;  // {"params":{...},"target"} of the last GET /oauth2/auth; null before
  std::vector<SimEvent> event_log_;
  std::deque<SimEvent> failed_events_;
  std::unique_ptr<EventPusher> pusher_;
  std::unique_ptr<RobotSim> robot_;  // locks itself
};

}  // namespace sase::dingtalk_sim

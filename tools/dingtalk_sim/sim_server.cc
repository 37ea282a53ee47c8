#include "dingtalk_sim/sim_server.h"

#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dingtalk_sim/sim_util.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

int PortOf(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return -1;
}

// cpp-httplib 0.11 gives handlers no socket; find the accepted socket by its port pair and shut
// it down so the client sees the connection closed without any reply.
void DropConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* e = readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2) continue;
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (PortOf(local) == req.local_port && PortOf(peer) == req.remote_port) {
      linger lg{1, 0};  // reset, no FIN handshake leftovers
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      shutdown(fd, SHUT_RDWR);
      break;
    }
  }
  closedir(dir);
}

constexpr std::string_view kGatewayPage =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    "<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n";
constexpr std::string_view kIpBanPage =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>访问被拒绝</title></head><body>"
    "<h1>访问被拒绝</h1><p>您的访问过于频繁，已被暂时禁止访问，请5分钟后再试。</p>"
    "<p>Access denied: too many requests from your IP.</p></body></html>";

}  // namespace

absl::StatusOr<ThrottleStyle> ParseThrottleStyle(std::string_view s) {
  if (s == "90018" || s == "top" || s == "flat") return ThrottleStyle::kTopLevel;
  if (s == "88" || s == "sub_code") return ThrottleStyle::kSubCode;
  return absl::InvalidArgumentError(absl::StrCat("throttle style must be 90018 or 88, got ", std::string(s)));
}

absl::StatusOr<TokenErrorStyle> ParseTokenErrorStyle(std::string_view s) {
  if (s == "flat" || s == "top") return TokenErrorStyle::kTopLevel;
  if (s == "88" || s == "sub_code") return TokenErrorStyle::kSubCode;
  return absl::InvalidArgumentError(absl::StrCat("token error style must be flat or 88, got ", std::string(s)));
}

json FaultsToJson(const FaultSettings& f) {
  return {{"error_rate", f.error_rate},   {"busy_rate", f.busy_rate},         {"latency_ms", f.latency_ms},
          {"ip_ban_rate", f.ip_ban_rate}, {"ip_ban_style", f.ip_ban_style}, {"ip_ban_http_status", f.ip_ban_http_status},
          {"drop_rate", f.drop_rate}};
}

absl::Status ApplyFaultsJson(const json& j, FaultSettings* out) {
  if (!j.is_object()) return absl::InvalidArgumentError("faults must be a JSON object");
  FaultSettings f = *out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "error_rate" || k == "busy_rate" || k == "ip_ban_rate" || k == "drop_rate") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
        return absl::InvalidArgumentError(absl::StrCat(k, " must be a number in [0,1]"));
      }
      double& dst = k == "error_rate" ? f.error_rate : k == "busy_rate" ? f.busy_rate : k == "ip_ban_rate" ? f.ip_ban_rate : f.drop_rate;
      dst = v.get<double>();
    } else if (k == "latency_ms") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 60000) {
        return absl::InvalidArgumentError("latency_ms must be an integer in [0,60000]");
      }
      f.latency_ms = v.get<int64_t>();
    } else if (k == "ip_ban_style") {
      if (!v.is_string() || (v != "html" && v != "json")) return absl::InvalidArgumentError("ip_ban_style is html or json");
      f.ip_ban_style = v.get<std::string>();
    } else if (k == "ip_ban_http_status") {
      if (!v.is_number_integer() || v.get<int>() < 100 || v.get<int>() > 599) {
        return absl::InvalidArgumentError("ip_ban_http_status must be an HTTP status");
      }
      f.ip_ban_http_status = v.get<int>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown fault setting ", k));
    }
  }
  *out = f;
  return absl::OkStatus();
}

SimServer::SimServer(SimOptions options)
    : opt_(std::move(options)),
      qps_(opt_.qps),
      throttle_style_(opt_.throttle_style),
      token_error_style_(opt_.token_error_style),
      faults_(opt_.faults) {}

absl::StatusOr<std::unique_ptr<SimServer>> SimServer::Start(SimOptions options) {
  if (options.app_key.empty() || options.app_secret.empty()) {
    return absl::InvalidArgumentError("app_key and app_secret must be set");
  }
  if (options.threads < 2) return absl::InvalidArgumentError("threads must be >= 2");
  // cpp-httplib 0.11 writes with send flags 0: a peer that went away would raise SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<SimServer> s(new SimServer(std::move(options)));
  s->org_ = Org::Generate(s->opt_.generator, s->opt_.corp_id);
  if (s->opt_.pusher_factory) {
    SimServer* self = s.get();
    s->pusher_ = s->opt_.pusher_factory([self](const SimEvent& e) { self->FileFailed(e); });
  }
  const size_t threads = static_cast<size_t>(s->opt_.threads);
  s->http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s->http_.set_payload_max_length(8 << 20);
  s->http_.set_keep_alive_max_count(1000);
  // httplib 0.11 leaves Nagle on: a keep-alive reply written in two pieces then waits ~40 ms for the
  // client's delayed ACK (TOOLCHAIN.md section 6).
  s->http_.set_tcp_nodelay(true);
  s->RegisterApiRoutes();
  s->RegisterAdminRoutes();
  s->RegisterLoginRoutes();
  s->RegisterRobotRoutes();
  if (s->opt_.port == 0) {
    s->port_ = s->http_.bind_to_any_port(s->opt_.host);
    if (s->port_ <= 0) return absl::UnavailableError(absl::StrCat("cannot bind ", s->opt_.host));
  } else {
    if (!s->http_.bind_to_port(s->opt_.host, s->opt_.port)) {
      return absl::UnavailableError(absl::StrCat("cannot bind ", s->opt_.host, ":", s->opt_.port));
    }
    s->port_ = s->opt_.port;
  }
  SimServer* self = s.get();
  s->thread_ = std::thread([self] { self->http_.listen_after_bind(); });
  for (int i = 0; i < 5000 && !s->http_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s->http_.is_running()) return absl::UnavailableError("HTTP server did not start");
  return s;
}

SimServer::~SimServer() { Stop(); }

void SimServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  http_.stop();
  if (thread_.joinable()) thread_.join();
  pusher_.reset();
}

json SimServer::OldError(int64_t errcode, std::string_view errmsg) {
  return {{"errcode", errcode}, {"errmsg", std::string(errmsg)}};
}

json SimServer::NewError(std::string_view code, std::string_view message) {
  return {{"requestid", NewRequestIdUpper()}, {"code", std::string(code)}, {"message", std::string(message)}};
}

void SimServer::ReplyOld(Response& res, json body) {
  if (!body.contains("request_id")) body["request_id"] = NewRequestIdLower();
  res.status = 200;
  res.set_content(body.dump(), "application/json;charset=utf-8");
}

void SimServer::ReplyNew(Response& res, int status, json body) {
  res.status = status;
  res.set_content(body.dump(), "application/json;charset=utf-8");
}

bool SimServer::CountAndInjectFault(const std::string& api, const Request& req, Response& res, bool new_api) {
  FaultSettings f;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_[api];
    f = faults_;
  }
  auto note = [this](const char* kind) {
    std::lock_guard<std::mutex> lock(mu_);
    ++faults_injected_[kind];
  };
  if (f.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.latency_ms));
  if (f.drop_rate > 0 && RandomUnit() < f.drop_rate) {
    note("drop");
    DropConnection(req);
    res.status = 500;
    return true;
  }
  if (f.ip_ban_rate > 0 && RandomUnit() < f.ip_ban_rate) {
    note("ip_ban");
    res.status = f.ip_ban_http_status;
    if (f.ip_ban_style == "json") {
      json body = {{"status", 1111}, {"wait", 5}, {"source", "x5"}, {"punish", "deny"}, {"uuid", NewRequestIdLower()}};
      res.set_content(body.dump(), "application/json");
    } else {
      res.set_content(std::string(kIpBanPage), "text/html;charset=utf-8");
    }
    return true;
  }
  if (f.error_rate > 0 && RandomUnit() < f.error_rate) {
    note("error");
    res.status = 502;
    res.set_content(std::string(kGatewayPage), "text/html");
    return true;
  }
  if (f.busy_rate > 0 && RandomUnit() < f.busy_rate) {
    note("busy");
    if (new_api) {
      ReplyNew(res, 500, NewError("systemError", "系统繁忙"));
    } else {
      ReplyOld(res, OldError(-1, "系统繁忙"));
    }
    return true;
  }
  return false;
}

json SimServer::CheckOldToken(const Request& req, std::string* app_key) {
  const std::string token = req.get_param_value("access_token");
  const bool sub = token_error_style_ == TokenErrorStyle::kSubCode;
  auto wrapped = [](std::string_view sub_code, std::string_view sub_msg) {
    return json{{"errcode", 88},
                {"sub_code", std::string(sub_code)},
                {"sub_msg", std::string(sub_msg)},
                {"errmsg", absl::StrCat("ding talk error[subcode=", std::string(sub_code), ",submsg=", std::string(sub_msg), "]")}};
  };
  if (token.empty()) return sub ? wrapped("40000", "access_token is blank") : OldError(41001, "缺少access_token参数");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = app_tokens_.find(token);
  if (it == app_tokens_.end()) {
    return sub ? wrapped("40014", "不合法的access_token") : OldError(40014, "不合法的access_token");
  }
  if (it->second.revoked || Clock::now() >= it->second.expires) {
    return sub ? wrapped("42001", "access_token超时") : OldError(42001, "access_token超时");
  }
  *app_key = it->second.subject;
  return json();
}

bool SimServer::Throttled(const std::string& app_key, const std::string& api) {
  std::lock_guard<std::mutex> lock(mu_);
  if (qps_ <= 0) return false;
  const int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  Window& w = windows_[absl::StrCat(app_key, "|", api)];
  if (w.second != second) {
    w.second = second;
    w.count = 0;
  }
  if (++w.count <= qps_) return false;
  ++throttled_[api];
  return true;
}

json SimServer::ThrottleBody() {
  constexpr std::string_view kMsg = "接口调用过于频繁，请稍后再试";
  std::lock_guard<std::mutex> lock(mu_);
  if (throttle_style_ == ThrottleStyle::kTopLevel) return OldError(90018, kMsg);
  return {{"errcode", 88},
          {"sub_code", "90018"},
          {"sub_msg", std::string(kMsg)},
          {"errmsg", absl::StrCat("ding talk error[subcode=90018,submsg=", std::string(kMsg), "]")}};
}

void SimServer::OldRoute(const std::string& method, const std::string& path, OldHandler handler) {
  auto wrapped = [this, path, handler](const Request& req, Response& res) {
    if (CountAndInjectFault(path, req, res, false)) return;
    std::string app_key;
    if (json err = CheckOldToken(req, &app_key); !err.is_null()) return ReplyOld(res, std::move(err));
    if (Throttled(app_key, path)) return ReplyOld(res, ThrottleBody());
    absl::StatusOr<json> body = ParseOldBody(req);
    if (!body.ok()) return ReplyOld(res, OldError(40035, "不合法的参数"));
    ReplyOld(res, handler(req, *body));
  };
  if (method == "GET") {
    http_.Get(path, wrapped);
  } else {
    http_.Post(path, wrapped);
  }
}

std::string SimServer::IssueAppToken(const std::string& app_key, int64_t* expires_in) {
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::time_point now = Clock::now();
  const Clock::time_point expires = now + std::chrono::seconds(opt_.token_lifetime_s);
  *expires_in = opt_.token_lifetime_s;
  auto cur = current_app_token_.find(app_key);
  if (cur != current_app_token_.end()) {
    Token& t = app_tokens_[cur->second];
    if (!t.revoked && now < t.expires) {  // same token while valid, validity extended
      t.expires = expires;
      return cur->second;
    }
  }
  std::string token = RandomHex(32);
  app_tokens_[token] = Token{app_key, expires, false};
  current_app_token_[app_key] = token;
  return token;
}

std::string SimServer::IssueCode(const std::string& userid, bool free_login) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string code = RandomHex(32);
  Code c{userid, Clock::now() + std::chrono::seconds(opt_.code_lifetime_s)};
  (free_login ? free_login_codes_ : auth_codes_)[code] = c;
  return code;
}

void SimServer::EmitEvents(const std::vector<MutationEvent>& events) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const MutationEvent& m : events) {
    SimEvent e{m.type, m.user_ids, m.dept_ids, now_ms, RandomHex(32), opt_.corp_id};
    {
      std::lock_guard<std::mutex> lock(mu_);
      event_log_.push_back(e);
    }
    if (pusher_) pusher_->Push(e);
  }
}

void SimServer::FileFailed(const SimEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  failed_events_.push_back(event);
}

}  // namespace sase::dingtalk_sim

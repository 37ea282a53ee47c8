#include "sasectl/login_flow.h"

#include <curl/curl.h>
#include <openssl/rand.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/c_ptr.h"
#include "common/status_macros.h"
#include "common/web.h"

namespace sase::sasectl {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr char kJson[] = "application/json";
constexpr char kHtml[] = "text/html";

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::string accept = kJson;
  std::string json_body;  // POSTed with Content-Type: application/json
};

HttpCall GetCall(std::string url, std::string accept = kJson) { return HttpCall{"GET", std::move(url), std::move(accept), ""}; }
HttpCall PostJsonCall(std::string url, const nlohmann::json& body) {
  return HttpCall{"POST", std::move(url), kJson, body.dump()};
}

struct HttpReply {
  long status = 0;
  std::string body;
  std::string location;
};

using SlistPtr = common::CPtr<curl_slist, curl_slist_free_all>;

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * n > kMaxBodyBytes) return 0;  // aborts the transfer
  body->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  const absl::string_view line(data, size * n);
  if (absl::StartsWithIgnoreCase(line, "location:")) {
    *static_cast<std::string*>(out) = std::string(absl::StripAsciiWhitespace(line.substr(9)));
  }
  return size * n;
}

// Errors name URLs without their query or fragment: those may carry a code or a state.
std::string WithoutQuery(const std::string& url) { return url.substr(0, url.find_first_of("?#")); }

SlistPtr Headers(const HttpCall& call) {
  std::vector<std::string> lines = {absl::StrCat("Accept: ", call.accept)};
  if (call.method == "POST") lines.push_back(absl::StrCat("Content-Type: ", kJson));
  curl_slist* list = nullptr;
  for (const std::string& line : lines) {
    if (curl_slist* next = curl_slist_append(list, line.c_str()); next != nullptr) list = next;
  }
  return SlistPtr(list);
}

// One request; redirects are not followed.
absl::StatusOr<HttpReply> Fetch(const HttpCall& call, double timeout_seconds) {
  common::CPtr<CURL, curl_easy_cleanup> c(curl_easy_init());
  if (!c) return absl::InternalError("curl_easy_init failed");
  SlistPtr headers = Headers(call);
  HttpReply reply;
  curl_easy_setopt(c.get(), CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_seconds * 1000));
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &reply.location);
  if (call.method == "POST") {
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, call.json_body.c_str());
    curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(call.json_body.size()));
  }
  const CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(call.method, " ", WithoutQuery(call.url), ": ",
                                               curl_easy_strerror(rc), " (is it running there?)"));
  }
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

absl::Status Unexpected(const std::string& step, long status) {
  return absl::FailedPreconditionError(absl::StrCat(step, ": unexpected HTTP ", status));
}

// The client redirect: a 302's Location, or {"redirect"} of a JSON answer.
absl::StatusOr<std::string> ClientRedirectOf(const HttpReply& r, const std::string& step) {
  if (r.status >= 400) return RefusalFromReply(r.status, r.body, step);
  if ((r.status == 302 || r.status == 303) && !r.location.empty()) return r.location;
  if (std::string redirect = JsonStringField(r.body, "redirect"); r.status == 200 && !redirect.empty()) {
    return redirect;
  }
  return Unexpected(step, r.status);
}

std::string NewClientState() {
  unsigned char bytes[9] = {};
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return absl::StrCat("sasectl-", absl::ToUnixNanos(absl::Now()));
  std::string encoded;
  absl::WebSafeBase64Escape(std::string(reinterpret_cast<const char*>(bytes), sizeof(bytes)), &encoded);
  return absl::StrCat("sasectl-", encoded);
}

class LoginDriver {
 public:
  explicit LoginDriver(const LoginTestOptions& options) : o_(options), state_(NewClientState()) {}
  absl::StatusOr<LoginTestResult> Run();

 private:
  absl::StatusOr<HttpReply> Send(const HttpCall& call) const { return Fetch(call, o_.timeout_seconds); }
  absl::StatusOr<std::string> OAuth() const;
  absl::StatusOr<std::string> Authorize(const std::string& authorize_url) const;
  absl::StatusOr<std::string> InApp() const;
  absl::StatusOr<std::string> HomepageState() const;
  absl::StatusOr<std::string> FreeLoginCode() const;
  absl::StatusOr<std::string> Jwks() const;

  const LoginTestOptions& o_;
  const std::string state_;
};

absl::StatusOr<LoginTestResult> LoginDriver::Run() {
  ASSIGN_OR_RETURN(std::string location, o_.flow == LoginFlow::kInApp ? InApp() : OAuth());
  ASSIGN_OR_RETURN(RedirectTokens tokens, CheckClientRedirect(location, o_.redirect_uri, state_));
  ASSIGN_OR_RETURN(std::string jwks, Jwks());
  ASSIGN_OR_RETURN(VerifiedAssertion verified, VerifyAssertion(tokens.assertion, jwks, absl::Now()));
  return MakeLoginTestResult(o_.flow, tokens, std::move(verified));
}

absl::StatusOr<std::string> LoginDriver::OAuth() const {
  const std::string start = common::AppendQuery(absl::StrCat(o_.ingress, "/dingtalk/login/", common::UrlEncode(o_.idp_id)),
                                                {{"redirect_uri", o_.redirect_uri}, {"state", state_}});
  ASSIGN_OR_RETURN(HttpReply r, Send(GetCall(start)));
  if (r.status >= 400) return RefusalFromReply(r.status, r.body, "start");
  if (r.status != 302 || r.location.empty()) return Unexpected("start", r.status);
  ASSIGN_OR_RETURN(std::string callback, Authorize(r.location));
  ASSIGN_OR_RETURN(HttpReply done, Send(GetCall(callback)));
  return ClientRedirectOf(done, "callback");
}

// DingTalk's authorize page (the simulator's) logs on as --userid and redirects to our callback.
absl::StatusOr<std::string> LoginDriver::Authorize(const std::string& authorize_url) const {
  ASSIGN_OR_RETURN(HttpReply r, Send(GetCall(common::AppendQuery(authorize_url, {{"sim_userid", o_.userid}}), kHtml)));
  const std::string problem = AuthorizePageError(r.body);
  if (r.status == 400 && absl::StrContains(problem, "sim_userid")) {
    return absl::NotFoundError(absl::StrCat("DingTalk simulator: ", o_.userid, " is not a user of the organisation"));
  }
  if (r.status != 302 || r.location.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "DingTalk's authorize page ", WithoutQuery(authorize_url), " answered HTTP ", r.status,
        problem.empty() ? " instead of redirecting (is ingress's dingtalk_authorize_url the simulator?)" : ": ",
        problem));
  }
  if (!absl::EndsWith(WithoutQuery(r.location), "/open-dev/dingtalk")) {
    return absl::FailedPreconditionError(
        absl::StrCat("DingTalk redirected to ", WithoutQuery(r.location), ", not to ingress's /open-dev/dingtalk"));
  }
  return r.location;
}

absl::StatusOr<std::string> LoginDriver::InApp() const {
  ASSIGN_OR_RETURN(std::string page_state, HomepageState());
  ASSIGN_OR_RETURN(std::string code, FreeLoginCode());
  ASSIGN_OR_RETURN(HttpReply r, Send(PostJsonCall(o_.ingress + "/ui/dingAuth/login",
                                                   {{"code", code}, {"state", page_state}})));
  return ClientRedirectOf(r, "homepage login");
}

// The application homepage inside DingTalk; its script carries the signed state.
absl::StatusOr<std::string> LoginDriver::HomepageState() const {
  const std::string url = common::AppendQuery(
      o_.ingress + "/ui/dingAuth/", {{"idp_id", o_.idp_id}, {"redirect_uri", o_.redirect_uri}, {"state", state_}});
  ASSIGN_OR_RETURN(HttpReply r, Send(GetCall(url, kHtml)));
  if (r.status >= 400) return RefusalFromReply(r.status, r.body, "homepage");
  if (r.status != 200) return Unexpected("homepage", r.status);
  return ExtractPageState(r.body);
}

// What dd.requestAuthCode would hand the page: a free-login code from the simulator.
absl::StatusOr<std::string> LoginDriver::FreeLoginCode() const {
  ASSIGN_OR_RETURN(HttpReply r, Send(PostJsonCall(o_.sim + "/admin/free_login_codes", {{"userid", o_.userid}})));
  if (r.status == 404) {
    return absl::NotFoundError(absl::StrCat("DingTalk simulator: ", o_.userid, " is not a user of the organisation"));
  }
  const std::string code = JsonStringField(r.body, "code");
  if (r.status != 200 || code.empty()) return Unexpected("DingTalk simulator /admin/free_login_codes", r.status);
  return code;
}

absl::StatusOr<std::string> LoginDriver::Jwks() const {
  ASSIGN_OR_RETURN(HttpReply r, Send(GetCall(o_.ingress + "/.well-known/jwks.json")));
  if (r.status >= 400) return RefusalFromReply(r.status, r.body, "jwks");
  if (r.status != 200) return Unexpected("jwks", r.status);
  return r.body;
}

}  // namespace

absl::StatusOr<LoginTestResult> RunLoginTest(const LoginTestOptions& options) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) return absl::InternalError("curl_global_init failed");
  return LoginDriver(options).Run();
}

}  // namespace sase::sasectl

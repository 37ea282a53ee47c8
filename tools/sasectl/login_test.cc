#include "sasectl/login_test.h"

#include <cjose/cjose.h>
#include <curl/curl.h>

#include <map>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace sase::sasectl {
namespace {

struct Response {
  long status = 0;
  std::string body;
  std::string location;
};

size_t OnBody(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}
size_t OnHeader(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  if (line.size() > 9 && (line.compare(0, 9, "Location:") == 0 || line.compare(0, 9, "location:") == 0)) {
    std::string v = line.substr(9);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
    *static_cast<std::string*>(out) = v;
  }
  return size * n;
}

absl::StatusOr<Response> Get(const std::string& url, double timeout_s) {
  Response r;
  std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), curl_easy_cleanup);
  if (!c) return absl::InternalError("curl_easy_init failed");
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &r.location);
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s * 1000));
  CURLcode rc = curl_easy_perform(c.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // The URL without its query: it may carry a code or a state.
    return absl::UnavailableError(absl::StrCat(url.substr(0, url.find('?')), ": ", curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

// A 4xx/5xx from ingress names its reason code in JSON.
absl::Status Refused(const Response& r, const std::string& step) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    return absl::FailedPreconditionError(
        absl::StrCat("login refused: ", j.value("error", ""), " (", j.value("message", ""), ")"));
  }
  return absl::FailedPreconditionError(absl::StrCat(step, ": unexpected HTTP ", r.status));
}

std::string Unescape(const std::string& s) {
  std::string plus = s;
  for (char& ch : plus) ch = ch == '+' ? ' ' : ch;
  int n = 0;
  char* out = curl_easy_unescape(nullptr, plus.c_str(), static_cast<int>(plus.size()), &n);
  std::string r(out, static_cast<size_t>(n));
  curl_free(out);
  return r;
}

std::string Escape(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string r(e);
  curl_free(e);
  return r;
}

absl::StatusOr<nlohmann::json> DecodePart(const std::string& part, const char* what) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(part, &raw)) return absl::InvalidArgumentError(absl::StrCat("assertion ", what, ": not base64url"));
  nlohmann::json j = nlohmann::json::parse(raw, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat("assertion ", what, ": not a JSON object"));
  return j;
}

}  // namespace

nlohmann::json ParseFragment(const std::string& url) {
  nlohmann::json out = nlohmann::json::object();
  const size_t hash = url.find('#');
  if (hash == std::string::npos) return out;
  for (absl::string_view kv : absl::StrSplit(url.substr(hash + 1), '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    out[Unescape(p.first)] = Unescape(p.second);
  }
  return out;
}

absl::StatusOr<LoginTestResult> VerifyAssertion(const std::string& assertion, const std::string& jwks_json) {
  std::vector<std::string> parts = absl::StrSplit(assertion, '.');
  if (parts.size() != 3) return absl::InvalidArgumentError("assertion: not a compact JWS");
  LoginTestResult out;
  absl::StatusOr<nlohmann::json> header = DecodePart(parts[0], "header");
  if (!header.ok()) return header.status();
  absl::StatusOr<nlohmann::json> claims = DecodePart(parts[1], "claims");
  if (!claims.ok()) return claims.status();
  out.header = *header;
  out.claims = *claims;
  if (out.header.value("alg", "") != "ES256") return absl::InvalidArgumentError("assertion: alg is not ES256");
  out.kid = out.header.value("kid", "");
  nlohmann::json jwks = nlohmann::json::parse(jwks_json, nullptr, false);
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return absl::InvalidArgumentError("JWKS: no \"keys\" array");
  }
  const nlohmann::json* key = nullptr;
  for (const nlohmann::json& k : jwks["keys"]) {
    if (k.is_object() && k.value("kid", "") == out.kid) key = &k;
  }
  if (key == nullptr) return absl::NotFoundError(absl::StrCat("JWKS: no key ", out.kid));
  const std::string key_json = key->dump();
  cjose_err err;
  std::unique_ptr<cjose_jwk_t, void (*)(cjose_jwk_t*)> jwk(cjose_jwk_import(key_json.c_str(), key_json.size(), &err),
                                                           [](cjose_jwk_t* k) { cjose_jwk_release(k); });
  if (!jwk) return absl::InvalidArgumentError(absl::StrCat("JWKS key: ", err.message));
  std::unique_ptr<cjose_jws_t, void (*)(cjose_jws_t*)> jws(cjose_jws_import(assertion.c_str(), assertion.size(), &err),
                                                           cjose_jws_release);
  if (!jws) return absl::InvalidArgumentError(absl::StrCat("assertion: ", err.message));
  if (!cjose_jws_verify(jws.get(), jwk.get(), &err)) {
    return absl::PermissionDeniedError("assertion: the signature does not verify");
  }
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  if (out.claims.value("exp", int64_t{0}) <= now) return absl::PermissionDeniedError("assertion: expired");
  if (out.claims.value("iat", now) > now + 60) return absl::PermissionDeniedError("assertion: issued in the future");
  out.assertion_length = assertion.size();
  out.assertion_prefix = assertion.substr(0, 12);
  return out;
}

absl::StatusOr<LoginTestResult> RunLoginTest(const LoginTestOptions& o) {
  const std::string client_state = absl::StrCat("sasectl-", absl::ToUnixMicros(absl::Now()));
  const std::string start = absl::StrCat(o.ingress, "/dingtalk/login/", o.idp_id,
                                         "?redirect_uri=", Escape(o.redirect_uri), "&state=", client_state);
  absl::StatusOr<Response> r = Get(start, o.timeout_seconds);
  if (!r.ok()) return r.status();
  if (r->status != 302 || r->location.empty()) return Refused(*r, "start");
  // DingTalk's authorize page (the simulator's): log on as the chosen user.
  r = Get(absl::StrCat(r->location, "&sim_userid=", Escape(o.userid)), o.timeout_seconds);
  if (!r.ok()) return r.status();
  if (r->status != 302 || r->location.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("DingTalk's authorize page answered HTTP ", r->status,
                                                      " (is --userid a user of the organisation?)"));
  }
  r = Get(r->location, o.timeout_seconds);  // our callback; asked for JSON it answers {"redirect"}
  if (!r.ok()) return r.status();
  if (r->status == 200) {
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_object()) r->location = j.value("redirect", "");
  }
  if (r->location.rfind(o.redirect_uri + "#", 0) != 0) return Refused(*r, "callback");
  nlohmann::json fragment = ParseFragment(r->location);
  if (fragment.value("state", "") != client_state) {
    return absl::FailedPreconditionError("callback: the client's state did not come back");
  }
  absl::StatusOr<Response> jwks = Get(o.ingress + "/.well-known/jwks.json", o.timeout_seconds);
  if (!jwks.ok()) return jwks.status();
  if (jwks->status != 200) return Refused(*jwks, "jwks");
  return VerifyAssertion(fragment.value("assertion", ""), jwks->body);
}

}  // namespace sase::sasectl

#pragma once
// The logon pages ingress serves, as pure functions (no I/O): enterprise discovery, the embedded
// QR code, the in-DingTalk homepage, and the page every refusal ends on. Each page carries its own
// Content-Security-Policy: scripts only by nonce and from the one DingTalk script origin the page
// needs, no framing of the page, nothing else loaded.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sase::ingress {

// A logon reason code ("user_departed") to the HTTP status and the sentence shown for it.
int StatusForLoginReason(const std::string& reason);
std::string MessageForLoginReason(const std::string& reason);

// scheme://host[:port] of an absolute URL (libcurl's URL parser), "" when it has none.
std::string OriginOf(const std::string& url);

struct Page {
  std::string html;
  std::string csp;  // the Content-Security-Policy header value
};

struct DiscoveryEntry {
  std::string title;
  std::string login_url;
  std::string qr_login_url;
};
Page DiscoveryPage(const std::string& enterprise, const std::vector<DiscoveryEntry>& entries);

struct QrPageInput {
  std::string title;
  std::string script_url;     // DingTalk's ddlogin.js (configuration)
  std::string frame_origin;   // origin of DingTalk's login frame (the authorize URL's)
  std::string callback_url;   // our /open-dev/dingtalk: same origin as the page
  std::string client_id;
  std::string scope;
  std::string state;
  std::string nonce;          // CSP nonce of this response
};
Page QrPage(const QrPageInput& in);

struct HomepageInput {
  std::string title;
  std::string script_url;  // DingTalk's dingtalk.open.js (configuration)
  std::string corp_id;
  std::string client_id;
  std::string state;
  std::string post_path;   // same-origin endpoint the code is posted to
  std::string nonce;
};
Page HomePage(const HomepageInput& in);

Page RefusalPage(const std::string& reason);

// Headers every logon response carries: never cached, never framed, no referrer (the callback URL
// holds a code), no MIME sniffing.
std::vector<std::pair<std::string, std::string>> LoginResponseHeaders(const std::string& csp);

}  // namespace sase::ingress

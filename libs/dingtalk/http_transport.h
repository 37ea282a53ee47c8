#pragma once
// HTTP(S) transport for the DingTalk client. CurlTransport keeps a pool of libcurl easy handles
// and one share handle (connection cache, DNS, TLS sessions), so connections are reused across
// calls and threads (keep-alive). Tests can substitute another HttpTransport.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sase::dingtalk {

struct HttpRequest {
  std::string method = "GET";        // GET or POST
  std::string url;                   // may carry secrets in the query: never log it
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};

struct HttpResponse {
  long status = 0;
  std::string content_type;
  std::string body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // A transport failure (connect, TLS, timeout, reset) is Unavailable with reason kUnreachable;
  // its message never contains the URL's query string.
  virtual absl::StatusOr<HttpResponse> Do(const HttpRequest& request) = 0;
};

struct TransportOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(15);
  std::string ca_file;           // extra CA bundle (tests with TLS); empty = system default
  size_t max_idle_handles = 16;  // easy handles kept for reuse
  size_t max_response_bytes = 64 << 20;
};

class CurlTransport final : public HttpTransport {
 public:
  static absl::StatusOr<std::unique_ptr<CurlTransport>> Create(TransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request) override;

 private:
  struct Impl;
  explicit CurlTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view value);

}  // namespace sase::dingtalk

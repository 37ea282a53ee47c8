#include "dingtalk/http_transport.h"

#include <curl/curl.h>

#include <array>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "dingtalk/error.h"

namespace sase::dingtalk {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct WriteState {
  std::string* out;
  size_t limit;
  bool overflow = false;
};

size_t WriteCallback(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* state = static_cast<WriteState*>(userdata);
  size_t n = size * nmemb;
  if (state->out->size() + n > state->limit) {
    state->overflow = true;
    return 0;  // aborts the transfer
  }
  state->out->append(ptr, n);
  return n;
}

// Drops any "?query" from curl's error text so a URL with a token or secret never leaks.
std::string Sanitize(std::string text) {
  size_t q;
  while ((q = text.find('?')) != std::string::npos) {
    size_t end = text.find_first_of(" \t\n'\"", q);
    text.erase(q, end == std::string::npos ? std::string::npos : end - q);
  }
  return text;
}

}  // namespace

struct CurlTransport::Impl {
  TransportOptions options;
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;
  std::mutex pool_mu;
  std::vector<CURL*> idle;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* userptr) {
    static_cast<Impl*>(userptr)->share_locks[static_cast<size_t>(data)].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* userptr) {
    static_cast<Impl*>(userptr)->share_locks[static_cast<size_t>(data)].unlock();
  }

  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) {
    curl_easy_reset(h);  // keeps live connections and caches
    std::lock_guard<std::mutex> lock(pool_mu);
    if (idle.size() < options.max_idle_handles) {
      idle.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

  ~Impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
    if (share != nullptr) curl_share_cleanup(share);
  }
};

CurlTransport::CurlTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlTransport::~CurlTransport() = default;

absl::StatusOr<std::unique_ptr<CurlTransport>> CurlTransport::Create(TransportOptions options) {
  GlobalInit();
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->share = curl_share_init();
  if (impl->share == nullptr) return absl::InternalError("curl_share_init failed");
  curl_share_setopt(impl->share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
  curl_share_setopt(impl->share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
  curl_share_setopt(impl->share, CURLSHOPT_USERDATA, impl.get());
  curl_share_setopt(impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(impl->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(impl)));
}

absl::StatusOr<HttpResponse> CurlTransport::Do(const HttpRequest& request) {
  CURL* h = impl_->Take();
  if (h == nullptr) return absl::InternalError("curl_easy_init failed");
  HttpResponse response;
  WriteState state{&response.body, impl_->options.max_response_bytes};
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  curl_slist* headers = nullptr;
  for (const std::string& hdr : request.headers) headers = curl_slist_append(headers, hdr.c_str());

  curl_easy_setopt(h, CURLOPT_SHARE, impl_->share);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);  // curl >= 7.50 defaults to it; say so explicitly
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(impl_->options.connect_timeout)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(impl_->options.total_timeout)));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteCallback);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (!impl_->options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, impl_->options.ca_file.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }

  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    char* ct = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) response.content_type = ct;
  }
  curl_slist_free_all(headers);
  impl_->Give(h);
  if (rc != CURLE_OK) {
    if (state.overflow) return MakeError(ApiError::kBadResponse, "DingTalk response too large");
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf.data()) : std::string(curl_easy_strerror(rc));
    return MakeError(ApiError::kUnreachable, absl::StrCat("transport error: ", Sanitize(detail)),
                     absl::StrCat("curl_", static_cast<int>(rc)));
  }
  return response;
}

std::string UrlEncode(std::string_view value) {
  GlobalInit();
  char* escaped = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
  if (escaped == nullptr) return "";
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

}  // namespace sase::dingtalk

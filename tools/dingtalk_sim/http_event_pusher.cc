#include "dingtalk_sim/http_event_pusher.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dingtalk_sim/sim_util.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Nonce8() {
  static constexpr std::string_view kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string hex = RandomHex(16);
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    out.push_back(kChars[static_cast<size_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16)) % kChars.size()]);
  }
  return out;
}

std::string Escape(CURL* curl, const std::string& s) {
  char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::chrono::milliseconds>> ParseRetryDelays(std::string_view text) {
  std::vector<std::chrono::milliseconds> out;
  const absl::string_view t(text.data(), text.size());
  for (absl::string_view part : absl::StrSplit(t, ',', absl::SkipWhitespace())) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &ms) || ms < 0) {
      return absl::InvalidArgumentError("retry delays must be comma-separated milliseconds");
    }
    out.emplace_back(ms);
  }
  return out;
}

absl::StatusOr<EventLayout> ParseEventLayout(std::string_view text) {
  if (text == "legacy") return EventLayout::kLegacy;
  if (text == "current") return EventLayout::kCurrent;
  return absl::InvalidArgumentError("event layout must be legacy or current");
}

absl::StatusOr<std::unique_ptr<HttpEventPusher>> HttpEventPusher::Create(PusherOptions options,
                                                                        FailedCallback on_failed) {
  if (options.url.empty()) return absl::InvalidArgumentError("callback url is empty");
  if (options.token.empty()) return absl::InvalidArgumentError("callback token is empty");
  if (options.receiver_id.empty()) return absl::InvalidArgumentError("callback receiver id is empty");
  absl::StatusOr<callback::CallbackCipher> cipher = callback::CallbackCipher::Create(options.aes_key);
  if (!cipher.ok()) return absl::InvalidArgumentError("callback aes_key must be 43 characters of [A-Za-z0-9]");
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<HttpEventPusher> p(new HttpEventPusher(std::move(options), *cipher, std::move(on_failed)));
  HttpEventPusher* self = p.get();
  p->worker_ = std::thread([self] { self->Run(); });
  return p;
}

HttpEventPusher::HttpEventPusher(PusherOptions options, callback::CallbackCipher cipher, FailedCallback on_failed)
    : opt_(std::move(options)), cipher_(std::move(cipher)), on_failed_(std::move(on_failed)) {}

HttpEventPusher::~HttpEventPusher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void HttpEventPusher::Push(const SimEvent& event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace(Clock::now(), Pending{event, 0});
  }
  cv_.notify_all();
}

json HttpEventPusher::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"attempts", attempts_}, {"delivered", delivered_}, {"retried", retried_},
          {"failed", failed_},     {"queued", queue_.size()}, {"last_error", last_error_}};
}

void HttpEventPusher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) return;
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const Clock::time_point due = queue_.begin()->first;
    if (Clock::now() < due) {
      cv_.wait_until(lock, due);
      continue;
    }
    Pending p = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    ++attempts_;
    lock.unlock();
    std::string why;
    const bool ok = DeliverOnce(p.event, &why);
    lock.lock();
    if (ok) {
      ++delivered_;
      continue;
    }
    last_error_ = why;
    if (p.attempt < opt_.retry_delays.size()) {
      const auto delay = opt_.retry_delays[p.attempt];
      ++p.attempt;
      ++retried_;
      queue_.emplace(Clock::now() + delay, std::move(p));
    } else {
      ++failed_;
      lock.unlock();
      if (on_failed_) on_failed_(p.event);
      lock.lock();
    }
  }
}

bool HttpEventPusher::DeliverOnce(const SimEvent& event, std::string* why) {
  absl::StatusOr<std::string> encrypt = cipher_.Encrypt(EventPayload(event, opt_.layout).dump(), opt_.receiver_id);
  if (!encrypt.ok()) {
    *why = "encrypt failed";
    return false;
  }
  const std::string timestamp = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  const std::string nonce = Nonce8();
  const std::string signature = callback::ComputeSignature(opt_.token, timestamp, nonce, *encrypt);
  const std::string body = json{{"encrypt", *encrypt}}.dump();

  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    *why = "curl init failed";
    return false;
  }
  const std::string url = absl::StrCat(opt_.url, opt_.url.find('?') == std::string::npos ? "?" : "&",
                                       "signature=", signature, "&msg_signature=", signature,
                                       "&timestamp=", timestamp, "&nonce=", Escape(curl, nonce));
  std::string reply;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    *why = absl::StrCat("transport: ", curl_easy_strerror(rc));
    return false;
  }
  if (status != 200) {
    *why = absl::StrCat("HTTP ", status);
    return false;
  }
  json r = json::parse(reply, nullptr, false);
  if (!r.is_object() || !r.contains("msg_signature") || !r.contains("timeStamp") || !r.contains("nonce") ||
      !r.contains("encrypt") || !r["msg_signature"].is_string() || !r["timeStamp"].is_string() ||
      !r["nonce"].is_string() || !r["encrypt"].is_string()) {
    *why = "reply is not a {msg_signature,timeStamp,nonce,encrypt} object";
    return false;
  }
  if (!callback::VerifySignature(opt_.token, r["timeStamp"].get<std::string>(), r["nonce"].get<std::string>(),
                                 r["encrypt"].get<std::string>(), r["msg_signature"].get<std::string>())) {
    *why = "reply signature mismatch";
    return false;
  }
  absl::StatusOr<callback::DecryptedMessage> m = cipher_.Decrypt(r["encrypt"].get<std::string>());
  if (!m.ok() || m->message != "success" || m->receiver_id != opt_.receiver_id) {
    *why = "reply does not decrypt to success";
    return false;
  }
  return true;
}

}  // namespace sase::dingtalk_sim

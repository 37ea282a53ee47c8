#include "dingtalk_sim/sim_util.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace sase::dingtalk_sim {
namespace {

std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

}  // namespace

double RandomUnit() { return std::uniform_real_distribution<double>(0.0, 1.0)(ThreadRng()); }

std::string RandomHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  for (char& c : out) c = kHex[ThreadRng()() & 15];
  return out;
}

std::string NewRequestIdLower() {
  static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(13, 'a');
  for (char& c : out) c = kChars[ThreadRng()() % kChars.size()];
  return out;
}

std::string NewRequestIdUpper() {
  std::string h = absl::AsciiStrToUpper(RandomHex(32));
  return absl::StrFormat("%s-%s-%s-%s-%s", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4), h.substr(16, 4),
                         h.substr(20, 12));
}

absl::StatusOr<nlohmann::json> ParseOldBody(const httplib::Request& req) {
  const std::string ct = req.get_header_value("Content-Type");
  const absl::string_view trimmed = absl::StripAsciiWhitespace(req.body);
  const bool looks_json = !trimmed.empty() && trimmed.front() == '{';
  if (absl::StrContains(ct, "application/x-www-form-urlencoded") && !looks_json) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : req.params) j[k] = v;  // query and form fields
    return j;
  }
  if (trimmed.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("body is not a JSON object");
  return j;
}

std::optional<int64_t> GetInt(const nlohmann::json& body, std::string_view key) {
  auto it = body.find(key);
  if (it == body.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    int64_t v = 0;
    if (absl::SimpleAtoi(it->get<std::string>(), &v)) return v;
  }
  return std::nullopt;
}

std::optional<std::string> GetString(const nlohmann::json& body, std::string_view key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<bool> GetBool(const nlohmann::json& body, std::string_view key) {
  auto it = body.find(key);
  if (it == body.end()) return std::nullopt;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    if (*it == "true") return true;
    if (*it == "false") return false;
  }
  return std::nullopt;
}

}  // namespace sase::dingtalk_sim

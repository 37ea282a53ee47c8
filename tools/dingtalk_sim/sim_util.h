#pragma once
// Small helpers shared by the simulator's handlers: randomness, request ids and lenient parameter
// reading (JSON body values may be numbers or numeric strings, form fields are strings).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace sase::dingtalk_sim {

double RandomUnit();                 // [0,1)
std::string RandomHex(size_t n);     // lowercase hex
std::string NewRequestIdLower();     // oapi style, 13 lowercase alphanumerics
std::string NewRequestIdUpper();     // api style, 8-4-4-4-12 uppercase hex

// JSON body of an oapi call: {} when empty; form fields when the body is form-encoded.
absl::StatusOr<nlohmann::json> ParseOldBody(const httplib::Request& req);

// Value of key in body; nullopt when absent, null, or of the wrong type.
std::optional<int64_t> GetInt(const nlohmann::json& body, std::string_view key);
std::optional<std::string> GetString(const nlohmann::json& body, std::string_view key);
std::optional<bool> GetBool(const nlohmann::json& body, std::string_view key);

}  // namespace sase::dingtalk_sim

#pragma once
// Test-only access to the shared DingTalk fixtures: $SASE_SOURCE_DIR/../shared/dingtalk/.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"

namespace sase::callback::testing {

inline std::string SharedDingtalkDir() {
  const char* src = std::getenv("SASE_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/../shared/dingtalk";
}

// Reads a file under SharedDingtalkDir(); an empty string when it cannot be read.
inline std::string ReadSharedFile(const std::string& relative) {
  std::ifstream in(SharedDingtalkDir() + "/" + relative, std::ios::binary);
  if (!in) return std::string();
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parsed JSON of a shared file, or a discarded value when missing/invalid.
inline nlohmann::json LoadSharedJson(const std::string& relative) {
  return nlohmann::json::parse(ReadSharedFile(relative), nullptr, /*allow_exceptions=*/false);
}

inline std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0f]);
  }
  return out;
}

}  // namespace sase::callback::testing

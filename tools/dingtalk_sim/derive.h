#pragma once
// Deterministic attribute derivation for simulated users: every value is a pure function of
// (seed, serial), so the organisation needs no per-user storage for them.

#include <cstdint>
#include <string>
#include <string_view>

namespace sase::dingtalk_sim {

uint64_t SplitMix64(uint64_t x);
uint64_t DeriveBits(uint64_t seed, uint32_t serial, uint64_t tag);

std::string DerivedUnionId(uint64_t seed, uint32_t serial);    // 28 alphanumerics + "iE" suffix
std::string DerivedMobile(uint64_t seed, uint32_t serial);     // 11 digits starting with 1
std::string DerivedJobNumber(uint64_t seed, uint32_t serial);  // not unique, like real job numbers
std::string DerivedEmail(std::string_view userid);
std::string_view DerivedWorkPlace(uint64_t seed, uint32_t serial);  // may be empty
std::string DerivedExtension(uint64_t seed, uint32_t serial);       // JSON text with Chinese keys
int64_t DerivedHiredDate(uint64_t seed, uint32_t serial);           // ms epoch

uint8_t TitleCount();
std::string_view TitleName(uint8_t index);  // index 1..TitleCount()

// Names: mostly Chinese, the rest other scripts (accented Latin, Cyrillic, Japanese, Korean, emoji).
std::string GeneratedUserName(uint64_t bits);
std::string GeneratedDeptName(uint64_t bits, int64_t index);

}  // namespace sase::dingtalk_sim

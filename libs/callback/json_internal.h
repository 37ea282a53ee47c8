#pragma once
// Internal to libs/callback (not installed for other targets): the JSON reading shared by the push
// envelope (inbound.cc) and the event payload (event.cc).
//
// RapidJSON instead of nlohmann on this path for speed only (nlohmann's lexer copies a long
// string character by character: the 200+ character "encrypt" alone cost more CPU than the
// signature check). The acceptance rules are kept those of nlohmann::json::parse, which this
// replaced:
//  - strict RFC 8259 (no comments, no trailing commas, no NaN/Infinity), one value and then only
//    whitespace; a NUL byte ends the text (nlohmann does the same: its lexer reads NUL as the end
//    of input);
//  - one leading UTF-8 byte order mark is skipped;
//  - strings must be valid UTF-8 (raw bytes and \u escapes): invalid sequences and unpaired
//    surrogates are rejected;
//  - duplicate keys: the last occurrence wins (FindLastMember here, FindKey in event.cc);
//  - iterative parsing: deep nesting cannot exhaust the stack.
// One deliberate difference: a zero with a decimal exponent past the range of a double (0e400,
// -0e309) is rejected, where nlohmann accepted it as 0 (both reject 1e400). No DingTalk payload
// carries such a number; RFC 8259 §9 lets a parser limit number ranges.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// RapidJSON's SSE2 scanning of whitespace and unescaped string runs (x86-64 baseline, so no CPU
// requirement beyond what the build already has). Only this header includes RapidJSON in the
// project, so every instantiation sees the same setting.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include "rapidjson/document.h"
#include "rapidjson/encodings.h"
#include "rapidjson/reader.h"

namespace sase::callback::json_internal {

using Value = rapidjson::Value;

// Validation of raw UTF-8 is requested only for texts with non-ASCII bytes: the flag turns off
// RapidJSON's SIMD string scan, and pure ASCII cannot be invalid UTF-8.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag;
constexpr unsigned kParseFlagsNonAscii = kParseFlags | rapidjson::kParseValidateEncodingFlag;
// Zero bytes after the text in the parse buffer: the SIMD scan reads whole aligned 16-byte blocks,
// and they must stay inside the buffer.
constexpr std::size_t kPadding = 32;

inline int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline bool IsAscii(std::string_view text) {
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + i, 8);
    acc |= word;
  }
  for (; i < text.size(); ++i) acc |= static_cast<unsigned char>(text[i]);
  return (acc & 0x8080808080808080ULL) == 0;
}

// RapidJSON 1.1.0 rejects a \uD800-\uDBFF escape without a following low surrogate but accepts a
// lone \uDC00-\uDFFF (it writes it out as a CESU-8 sequence); nlohmann rejects both. Called only
// on text RapidJSON has accepted, so every backslash is inside a string and starts an escape.
inline bool HasLoneLowSurrogateEscape(std::string_view text) {
  std::size_t i = 0;
  while (true) {
    const void* hit = std::memchr(text.data() + i, '\\', text.size() - i);
    if (hit == nullptr) return false;
    i = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
    if (i + 1 >= text.size()) return false;
    if (text[i + 1] != 'u' || i + 6 > text.size()) {
      i += 2;  // a two-character escape such as \" or \\ .
      continue;
    }
    int code = 0;
    for (std::size_t k = i + 2; k < i + 6; ++k) code = code * 16 + HexDigit(text[k]);
    if (code >= 0xDC00 && code <= 0xDFFF) return true;
    // A high surrogate is always followed by its low half (checked by RapidJSON): skip both.
    i += (code >= 0xD800 && code <= 0xDBFF) ? 12 : 6;
  }
}

// A parsed document: its strings point into `text` (in-situ parsing, no string copies), and its
// first 4 KiB of values live on the stack (RapidJSON's default pool mallocs a 64 KiB chunk on
// first use); larger documents spill into heap chunks.
struct ParsedJson {
  ParsedJson() = default;
  ParsedJson(const ParsedJson&) = delete;
  ParsedJson& operator=(const ParsedJson&) = delete;

  alignas(16) char buffer[4096];
  rapidjson::MemoryPoolAllocator<> pool{buffer, sizeof(buffer)};
  rapidjson::Document doc{&pool};
  std::string text;
};

// Parses `input` into `out.doc` under the rules above; false when it is not JSON.
inline bool Parse(std::string_view input, ParsedJson& out) {
  // A NUL byte ends the text (as in nlohmann); nothing after it is looked at.
  if (const void* nul = std::memchr(input.data(), '\0', input.size()); nul != nullptr) {
    input = input.substr(0, static_cast<std::size_t>(static_cast<const char*>(nul) - input.data()));
  }
  if (input.size() >= 3 && input.substr(0, 3) == "\xEF\xBB\xBF") input.remove_prefix(3);
  out.text.reserve(input.size() + kPadding);
  out.text.assign(input);
  out.text.append(kPadding, '\0');
  if (IsAscii(input)) {
    out.doc.ParseInsitu<kParseFlags>(out.text.data());
  } else {
    out.doc.ParseInsitu<kParseFlagsNonAscii>(out.text.data());
  }
  if (out.doc.HasParseError()) return false;
  if (std::memchr(input.data(), '\\', input.size()) != nullptr &&
      HasLoneLowSurrogateEscape(input)) {
    return false;
  }
  return true;
}

inline std::string_view View(const Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// The value of the last member named exactly `name` (what nlohmann kept), or nullptr.
inline const Value* FindLastMember(const Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  const Value* found = nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (View(it->name) == name) found = &it->value;
  }
  return found;
}

}  // namespace sase::callback::json_internal

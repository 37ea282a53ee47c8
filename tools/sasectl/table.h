#pragma once
// Aligned text tables that line up with CJK (double-width) text in a terminal.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sase::sasectl {

// Terminal columns taken by UTF-8 text: East Asian wide and fullwidth characters count 2,
// combining marks and zero-width characters 0, everything else 1. Invalid bytes count 1 each.
int DisplayWidth(std::string_view utf8);

// Makes directory data safe to print: control characters (C0, DEL, C1; they could move the
// cursor or recolour the terminal) become '?', invalid UTF-8 bytes become U+FFFD.
std::string SanitizeForTerminal(std::string_view utf8);

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // Missing cells are empty; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  // Columns separated by two spaces and padded by display width; no trailing spaces.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key:  value" lines with the values aligned (for single objects).
std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace sase::sasectl

#include "sasectl/table.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::sasectl {
namespace {

TEST(SasectlDisplayWidthTest, CountsColumns) {
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("张三"), 4);
  EXPECT_EQ(DisplayWidth("研发部-A"), 8);
  EXPECT_EQ(DisplayWidth("ｆｕｌｌ"), 8);                   // fullwidth Latin
  EXPECT_EQ(DisplayWidth("한국"), 4);                        // Hangul
  EXPECT_EQ(DisplayWidth("カタカナ"), 8);                    // Katakana
  EXPECT_EQ(DisplayWidth("e\xCC\x81"), 1);                   // e + combining acute
  EXPECT_EQ(DisplayWidth("\xF0\xA0\x80\x80"), 2);            // U+20000, CJK extension B
  EXPECT_EQ(DisplayWidth("caf\xC3\xA9"), 4);                 // é is narrow
  EXPECT_EQ(DisplayWidth("\xFF\xFE"), 2);                    // invalid bytes: 1 each
  EXPECT_EQ(DisplayWidth("\xE4\xB8"), 2);                    // truncated sequence
}

TEST(SasectlSanitizeTest, NeutralisesControlsAndInvalidBytes) {
  EXPECT_EQ(SanitizeForTerminal("a\x1b[31mb\nc\td"), "a?[31mb?c?d");
  EXPECT_EQ(SanitizeForTerminal("\xC2\x9B"), "?");  // C1 CSI
  EXPECT_EQ(SanitizeForTerminal("x\xFFy"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(SanitizeForTerminal("王五"), "王五");
}

// Start column (in display columns) of `needle` within `line`.
int ColumnOf(const std::string& line, const std::string& needle) {
  size_t pos = line.find(needle);
  EXPECT_NE(pos, std::string::npos) << needle << " not in " << line;
  return DisplayWidth(line.substr(0, pos));
}

TEST(SasectlTableTest, AlignsCjkByDisplayWidth) {
  Table t({"NAME", "DEPT", "EMAIL"});
  t.AddRow({"张三", "研发部", "zs@example.com"});
  t.AddRow({"Alice", "Sales", "alice@example.com"});
  t.AddRow({"欧阳娜娜", "市场", "ny@example.com"});
  std::vector<std::string> lines = absl::StrSplit(t.Render(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  // Every row's second and third columns start at the same display column.
  const int dept_col = ColumnOf(lines[0], "DEPT");
  const int email_col = ColumnOf(lines[0], "EMAIL");
  EXPECT_EQ(dept_col, 10);  // widest NAME is 欧阳娜娜 = 8 columns, then 2 spaces
  EXPECT_EQ(ColumnOf(lines[1], "研发部"), dept_col);
  EXPECT_EQ(ColumnOf(lines[2], "Sales"), dept_col);
  EXPECT_EQ(ColumnOf(lines[3], "市场"), dept_col);
  EXPECT_EQ(email_col, dept_col + 6 + 2);  // widest DEPT is 研发部 = 6 columns
  EXPECT_EQ(ColumnOf(lines[1], "zs@"), email_col);
  EXPECT_EQ(ColumnOf(lines[2], "alice@"), email_col);
  EXPECT_EQ(ColumnOf(lines[3], "ny@"), email_col);
  EXPECT_EQ(lines[1], "张三      研发部  zs@example.com");
  for (const std::string& l : lines) EXPECT_NE(l.back(), ' ');
}

TEST(SasectlTableTest, SanitisesCellsAndFillsMissingCells) {
  Table t({"A", "B"});
  t.AddRow({"x\x1b"});
  t.AddRow({"1", "2", "3"});
  EXPECT_EQ(t.Render(), "A   B\nx?\n1   2\n");
}

TEST(SasectlTableTest, KeyValues) {
  EXPECT_EQ(RenderKeyValues({{"name", "张三"}, {"department_id", "7"}, {"empty", ""}}),
            "name:           张三\n"
            "department_id:  7\n"
            "empty:\n");
}

}  // namespace
}  // namespace sase::sasectl

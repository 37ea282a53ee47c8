#include "dingtalk_sim/derive.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace sase::dingtalk_sim {
namespace {

constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

constexpr std::array<std::string_view, 24> kSurnames = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
    "马", "朱", "胡", "郭", "何", "高", "林", "罗", "欧阳", "司马", "诸葛", "上官"};
constexpr std::array<std::string_view, 32> kGiven = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "子涵", "浩然", "梓萱", "一诺", "思远", "雨桐", "俊杰", "欣怡", "晓", "鑫"};
constexpr std::array<std::string_view, 20> kOtherNames = {
    "José García",    "Zoë Müller",   "Ólafur Þórsson", "Иван Петров",  "Ольга Смирнова",
    "山田 太郎",      "佐藤 花子",    "김민준",         "이서연",       "François Dupont",
    "Alice Smith",    "Bob O'Neil",   "Nguyễn Văn An",  "محمد علي",     "Søren Kierkegård",
    "Łukasz Żółw",    "Ana 🌸 Lima",  "Dr. Wei Zhang",  "Ελένη Παππά",  "Mary-Jane Watson"};
constexpr std::array<std::string_view, 24> kDeptWords = {
    "研发部", "市场部", "财务部", "人力资源部", "销售部", "产品部", "设计中心", "运维组",
    "法务部", "行政部", "客服中心", "数据平台", "安全组", "测试组", "采购部", "华东大区",
    "华南大区", "北京分公司", "Engineering", "Sales EMEA", "R&D Lab", "東京オフィス", "Платформа", "질서팀"};
constexpr std::array<std::string_view, 14> kTitles = {
    "",         "工程师",   "高级工程师", "技术总监",      "产品经理",     "设计师",  "销售代表",
    "HR 专员",  "财务专员", "总经理",     "Software Engineer", "Team Lead", "運用担当", "Аналитик"};
constexpr std::array<std::string_view, 8> kPlaces = {"", "", "杭州", "北京", "上海", "深圳", "未来park", "Singapore"};
constexpr std::array<std::string_view, 6> kHobbies = {"旅游", "阅读", "跑步", "摄影", "围棋", "hiking"};

}  // namespace

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t DeriveBits(uint64_t seed, uint32_t serial, uint64_t tag) {
  return SplitMix64(seed ^ SplitMix64((static_cast<uint64_t>(serial) << 16) ^ tag));
}

std::string DerivedUnionId(uint64_t seed, uint32_t serial) {
  std::string out;
  out.reserve(30);
  for (uint64_t block = 0; out.size() < 28; ++block) {
    uint64_t bits = DeriveBits(seed, serial, 1000 + block);
    for (int i = 0; i < 10 && out.size() < 28; ++i) {
      out.push_back(kAlnum[bits % kAlnum.size()]);
      bits /= kAlnum.size();
    }
  }
  out += "iE";
  return out;
}

std::string DerivedMobile(uint64_t seed, uint32_t serial) {
  const uint64_t bits = DeriveBits(seed, serial, 2);
  return absl::StrFormat("1%d%09d", 3 + static_cast<int>(bits % 7), static_cast<int>((bits >> 8) % 1000000000));
}

std::string DerivedJobNumber(uint64_t seed, uint32_t serial) {
  // About 2% share a job number with another user: job numbers are not unique in DingTalk.
  const uint64_t bits = DeriveBits(seed, serial, 3);
  const uint32_t base = (bits % 50 == 0 && serial > 1) ? serial - 1 : serial;
  return absl::StrFormat("%06d", static_cast<int>(base % 1000000));
}

std::string DerivedEmail(std::string_view userid) { return std::string(userid) + "@corp.example.com"; }

std::string_view DerivedWorkPlace(uint64_t seed, uint32_t serial) {
  return kPlaces[DeriveBits(seed, serial, 4) % kPlaces.size()];
}

std::string DerivedExtension(uint64_t seed, uint32_t serial) {
  const uint64_t bits = DeriveBits(seed, serial, 5);
  nlohmann::json ext = {{"爱好", kHobbies[bits % kHobbies.size()]},
                        {"年龄", std::to_string(22 + (bits >> 8) % 40)},
                        {"cost_center", absl::StrFormat("CC-%03d", static_cast<int>((bits >> 20) % 1000))}};
  return ext.dump();
}

int64_t DerivedHiredDate(uint64_t seed, uint32_t serial) {
  constexpr int64_t kStart = 1262304000000;  // 2010-01-01T00:00:00Z
  constexpr int64_t kSpanDays = 14 * 365;
  const uint64_t bits = DeriveBits(seed, serial, 6);
  return kStart + static_cast<int64_t>(bits % kSpanDays) * 86400000;
}

uint8_t TitleCount() { return static_cast<uint8_t>(kTitles.size() - 1); }

std::string_view TitleName(uint8_t index) { return index < kTitles.size() ? kTitles[index] : ""; }

std::string GeneratedUserName(uint64_t bits) {
  if (bits % 10 < 8) {
    std::string name(kSurnames[(bits >> 8) % kSurnames.size()]);
    name += kGiven[(bits >> 16) % kGiven.size()];
    if ((bits >> 24) % 3 == 0) name += kGiven[(bits >> 32) % kGiven.size()];
    return name;
  }
  return std::string(kOtherNames[(bits >> 8) % kOtherNames.size()]);
}

std::string GeneratedDeptName(uint64_t bits, int64_t index) {
  std::string name(kDeptWords[bits % kDeptWords.size()]);
  if (index >= static_cast<int64_t>(kDeptWords.size())) absl::StrAppend(&name, "-", index);
  return name;
}

}  // namespace sase::dingtalk_sim

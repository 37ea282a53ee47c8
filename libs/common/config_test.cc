#include "common/config.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sase::common {
namespace {

using ::testing::HasSubstr;

struct Env {
  std::map<std::string, std::string> vars;
  ConfigParser::GetEnv fn() const {
    return [this](const char* k) -> const char* {
      auto it = vars.find(k);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

TEST(ConfigParserTest, EnvThenFlagsWin) {
  std::string dsn, listen;
  int64_t n = 0;
  ConfigParser p("t");
  p.String("pg_dsn", &dsn, "", "dsn", {.required = true, .secret = true});
  p.String("listen_addr", &listen, "127.0.0.1:1", "addr");
  p.Int("workers", &n, 4, "n", {.min = 1, .max = 64});
  Env env{{{"SASE_PG_DSN", "postgresql://x"}, {"SASE_WORKERS", "8"}}};
  const char* argv[] = {"t", "--workers=16", "--listen-addr", "0.0.0.0:9"};
  ASSERT_TRUE(p.Parse(4, const_cast<char**>(argv), env.fn()).ok());
  EXPECT_EQ(dsn, "postgresql://x");
  EXPECT_EQ(n, 16);
  EXPECT_EQ(listen, "0.0.0.0:9");
  EXPECT_THAT(p.Describe(), HasSubstr("pg_dsn=<redacted>"));
  EXPECT_THAT(p.Describe(), ::testing::Not(HasSubstr("postgresql://x")));
}

TEST(ConfigParserTest, ErrorsNameTheKey) {
  std::string dsn;
  int64_t n = 0;
  Env env{{{"SASE_WORKERS", "abc"}}};
  {
    ConfigParser p("t");
    p.Int("workers", &n, 4, "n");
    absl::Status s = p.Parse(1, nullptr, env.fn());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("workers"));
  }
  {
    ConfigParser p("t");
    p.Int("workers", &n, 4, "n", {.min = 1, .max = 8});
    const char* argv[] = {"t", "--workers=9"};
    absl::Status s = p.Parse(2, const_cast<char**>(argv), Env{}.fn());
    EXPECT_THAT(s.message(), HasSubstr("workers"));
  }
  {
    ConfigParser p("t");
    p.String("pg_dsn", &dsn, "", "dsn", {.required = true});
    absl::Status s = p.Parse(1, nullptr, Env{}.fn());
    EXPECT_THAT(s.message(), HasSubstr("pg_dsn"));
  }
  {
    ConfigParser p("t");
    const char* argv[] = {"t", "--bogus=1"};
    absl::Status s = p.Parse(2, const_cast<char**>(argv), Env{}.fn());
    EXPECT_THAT(s.message(), HasSubstr("bogus"));
  }
}

}  // namespace
}  // namespace sase::common

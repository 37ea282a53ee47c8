#pragma once
// Typed configuration from environment then flags, validated once at start-up.
//
//   ConfigParser p("directory");
//   p.String("pg_dsn", &cfg.pg_dsn, "", "PostgreSQL connection string", {.required = true, .secret = true});
//   p.Int("page_max", &cfg.page_max, 1000, "...", {.min = 1, .max = 10000});
//   absl::Status s = p.Parse(argc, argv, std::getenv);
//
// Key "pg_dsn" is read from env SASE_PG_DSN, then from flag --pg_dsn=VALUE (flags win).
// Unknown flags, malformed numbers and out-of-range values fail with a message naming the key.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sase::common {

// A "--name" or "--name=value" command-line token, split (the leading "--" dropped). The one
// reading of a flag token for the services' parser and sasectl.
struct FlagToken {
  std::string name;
  std::string value;
  bool has_value = false;  // "=" present (the value may be empty)
};
// nullopt unless `token` starts with "--".
std::optional<FlagToken> SplitFlagToken(const std::string& token);

struct KeyOptions {
  bool required = false;
  bool secret = false;  // never echoed by Describe()
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
};

class ConfigParser {
 public:
  using GetEnv = std::function<const char*(const char*)>;

  explicit ConfigParser(std::string program) : program_(std::move(program)) {}

  void String(std::string key, std::string* out, std::string def, std::string help, KeyOptions opts = {});
  void Int(std::string key, int64_t* out, int64_t def, std::string help, KeyOptions opts = {});
  void Bool(std::string key, bool* out, bool def, std::string help, KeyOptions opts = {});

  // Returns InvalidArgument naming the offending key. "--help" returns Cancelled with Usage().
  absl::Status Parse(int argc, char** argv, const GetEnv& getenv);
  std::string Usage() const;
  // "key=value" pairs with secrets redacted, for the start-up log line.
  std::string Describe() const;

  static std::string EnvName(const std::string& key);

 private:
  enum class Kind { kString, kInt, kBool };
  struct Key {
    std::string name;
    Kind kind;
    void* out;
    std::string help;
    std::string def_text;
    KeyOptions opts;
    bool seen = false;
  };
  absl::Status Assign(Key& key, const std::string& value, const std::string& source);

  std::string program_;
  std::vector<Key> keys_;
};

}  // namespace sase::common

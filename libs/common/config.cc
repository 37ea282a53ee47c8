#include "common/config.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sase::common {

std::string ConfigParser::EnvName(const std::string& key) {
  std::string env = "SASE_";
  for (char c : key) env.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return env;
}

void ConfigParser::String(std::string key, std::string* out, std::string def, std::string help, KeyOptions opts) {
  *out = def;
  keys_.push_back({std::move(key), Kind::kString, out, std::move(help), opts.secret ? "" : def, opts});
}

void ConfigParser::Int(std::string key, int64_t* out, int64_t def, std::string help, KeyOptions opts) {
  *out = def;
  keys_.push_back({std::move(key), Kind::kInt, out, std::move(help), absl::StrCat(def), opts});
}

void ConfigParser::Bool(std::string key, bool* out, bool def, std::string help, KeyOptions opts) {
  *out = def;
  keys_.push_back({std::move(key), Kind::kBool, out, std::move(help), def ? "true" : "false", opts});
}

absl::Status ConfigParser::Assign(Key& key, const std::string& value, const std::string& source) {
  switch (key.kind) {
    case Kind::kString:
      *static_cast<std::string*>(key.out) = value;
      break;
    case Kind::kInt: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(value, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("config key ", key.name, " (", source, "): not an integer"));
      }
      if (v < key.opts.min || v > key.opts.max) {
        return absl::InvalidArgumentError(absl::StrCat("config key ", key.name, " (", source, "): ", v,
                                                       " outside [", key.opts.min, ", ", key.opts.max, "]"));
      }
      *static_cast<int64_t*>(key.out) = v;
      break;
    }
    case Kind::kBool: {
      bool v = false;
      if (!absl::SimpleAtob(value, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("config key ", key.name, " (", source, "): not a boolean"));
      }
      *static_cast<bool*>(key.out) = v;
      break;
    }
  }
  key.seen = true;
  return absl::OkStatus();
}

std::optional<FlagToken> SplitFlagToken(const std::string& token) {
  if (token.rfind("--", 0) != 0) return std::nullopt;
  FlagToken out;
  out.name = token.substr(2);
  if (size_t eq = out.name.find('='); eq != std::string::npos) {
    out.value = out.name.substr(eq + 1);
    out.name.resize(eq);
    out.has_value = true;
  }
  return out;
}

absl::Status ConfigParser::Parse(int argc, char** argv, const GetEnv& getenv) {
  for (Key& key : keys_) {
    std::string env = EnvName(key.name);
    if (const char* v = getenv(env.c_str()); v != nullptr) {
      if (absl::Status s = Assign(key, v, env); !s.ok()) return s;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return absl::CancelledError(Usage());
    std::optional<FlagToken> flag = SplitFlagToken(arg);
    if (!flag) return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    std::string name = std::move(flag->name);
    std::string value = std::move(flag->value);
    const bool has_value = flag->has_value;
    for (char& c : name) if (c == '-') c = '_';
    Key* found = nullptr;
    for (Key& key : keys_) {
      if (key.name == name) found = &key;
    }
    if (found == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!has_value) {
      if (found->kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("config key ", name, ": flag needs a value"));
      }
    }
    if (absl::Status s = Assign(*found, value, "--" + name); !s.ok()) return s;
  }
  for (const Key& key : keys_) {
    if (key.opts.required && key.kind == Kind::kString && static_cast<std::string*>(key.out)->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config key ", key.name, " is required (env ", EnvName(key.name), " or --", key.name, ")"));
    }
  }
  return absl::OkStatus();
}

std::string ConfigParser::Usage() const {
  std::string out = absl::StrCat("usage: ", program_, " [--key=value ...]\n");
  for (const Key& key : keys_) {
    absl::StrAppend(&out, "  --", key.name, " (env ", EnvName(key.name), ")", key.opts.required ? " required" : "",
                    key.def_text.empty() ? "" : absl::StrCat(" default ", key.def_text), "\n      ", key.help, "\n");
  }
  return out;
}

std::string ConfigParser::Describe() const {
  std::string out;
  for (const Key& key : keys_) {
    if (!out.empty()) out += " ";
    std::string v;
    switch (key.kind) {
      case Kind::kString: v = *static_cast<std::string*>(key.out); break;
      case Kind::kInt: v = absl::StrCat(*static_cast<int64_t*>(key.out)); break;
      case Kind::kBool: v = *static_cast<bool*>(key.out) ? "true" : "false"; break;
    }
    if (key.opts.secret && !v.empty()) v = "<redacted>";
    absl::StrAppend(&out, key.name, "=", v);
  }
  return out;
}

}  // namespace sase::common

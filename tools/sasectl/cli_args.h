#pragma once
// Command-line grammar of sasectl: global flags, command table, parsing and usage text.
// No gRPC here; everything is unit-tested in cli_args_test.cc.
//
//   sasectl [global flags] <group> <verb> [args] [flags]      e.g. sasectl user list --idp X --all
//   sasectl [global flags] watch [flags]
//
// Flags take "--name value" or "--name=value"; boolean flags also accept "--name=false" and
// "--no-name". Global flags may appear anywhere. "--" ends flag parsing.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sase::sasectl {

using GetEnv = std::function<const char*(const char*)>;

inline constexpr char kDefaultSyncWorkerAddr[] = "127.0.0.1:50061";
inline constexpr char kDefaultDirectoryAddr[] = "127.0.0.1:50062";
inline constexpr char kDefaultTenant[] = "demo";
inline constexpr double kDefaultTimeoutSeconds = 10;
// login-test: scripts/run.sh's ingress (SASE_RUN_HTTP_PORT) and simulator (SASE_RUN_SIM_PORT).
inline constexpr char kDefaultIngressUrl[] = "http://127.0.0.1:8080";
inline constexpr char kDefaultSimUrl[] = "http://127.0.0.1:18090";

struct FlagSpec {
  std::string name;  // without "--"
  bool takes_value = true;
  std::string value_name;  // shown in usage, e.g. "ID"
  std::string help;
  bool repeatable = false;
  bool required = false;
  // The value is never echoed (usage errors, logs). main() also scrubs it from argv.
  bool secret = false;
};

struct CommandSpec {
  std::string group;  // "idp"
  std::string verb;   // "create"; empty for verb-less commands ("watch")
  std::string args;   // positional usage, e.g. "ID DEPT"
  size_t min_args = 0;
  size_t max_args = 0;
  std::string summary;
  std::vector<FlagSpec> flags;

  std::string Path() const { return verb.empty() ? group : group + " " + verb; }
  const FlagSpec* FindFlag(const std::string& name) const;
};

// Every command sasectl knows, in usage order.
const std::vector<CommandSpec>& Commands();
const std::vector<FlagSpec>& GlobalFlags();

struct GlobalOptions {
  std::string sync_worker_addr = kDefaultSyncWorkerAddr;
  std::string directory_addr = kDefaultDirectoryAddr;
  std::string tenant = kDefaultTenant;
  bool json = false;
  double timeout_seconds = kDefaultTimeoutSeconds;
  // Mutual TLS towards both services when --tls-cert/--tls-key/--tls-ca (or SASE_TLS_CERT_FILE,
  // SASE_TLS_KEY_FILE, SASE_TLS_CA_FILE) are given; plaintext otherwise (a local run).
  std::string tls_cert, tls_key, tls_ca, tls_server_name;
};

struct Invocation {
  GlobalOptions global;
  const CommandSpec* command = nullptr;
  std::vector<std::string> args;
  // Flag name → values in order. Boolean flags hold "true" or "false".
  std::map<std::string, std::vector<std::string>> flags;
  // Non-empty when help was asked for: print it and exit 0 (command is then unset).
  std::string help;

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  // Last value, or "" when absent.
  std::string Get(const std::string& flag) const;
  // True when a boolean flag was given as true.
  bool IsSet(const std::string& flag) const { return Get(flag) == "true"; }
  const std::vector<std::string>& GetAll(const std::string& flag) const;
};

// Parses argv without the program name. Environment supplies defaults of global flags
// (SASE_SYNC_WORKER_ADDR, SASE_DIRECTORY_ADDR, SASE_TENANT). Every error is a usage error
// (InvalidArgument) whose message never contains the value of a secret flag.
absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& argv, const GetEnv& getenv);

std::string TopLevelUsage();
// Usage of a group ("idp"): its verbs with summaries. Empty for an unknown group.
std::string GroupUsage(const std::string& group);
std::string CommandUsage(const CommandSpec& command);

// The names of the secret flags (for scrubbing argv).
std::vector<std::string> SecretFlagNames();

}  // namespace sase::sasectl

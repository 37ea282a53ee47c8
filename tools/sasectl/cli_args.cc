#include "sasectl/cli_args.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/config.h"

namespace sase::sasectl {
namespace {

FlagSpec Value(std::string name, std::string value_name, std::string help) {
  return FlagSpec{.name = std::move(name), .takes_value = true, .value_name = std::move(value_name),
                  .help = std::move(help)};
}
FlagSpec Required(FlagSpec f) {
  f.required = true;
  return f;
}
FlagSpec Repeatable(FlagSpec f) {
  f.repeatable = true;
  return f;
}
FlagSpec Secret(FlagSpec f) {
  f.secret = true;
  return f;
}
FlagSpec Bool(std::string name, std::string help) {
  return FlagSpec{.name = std::move(name), .takes_value = false, .value_name = "", .help = std::move(help)};
}

std::vector<FlagSpec> IdentitySourceEditFlags(bool update) {
  std::vector<FlagSpec> f = {
      Value("name", "NAME", "2-100 characters: Chinese characters, letters, digits, '-' and '_'"),
      Value("description", "TEXT", "logon title shown on the client"),
      Value("status", "enabled|closed", update ? "logon allowed or refused" : "default enabled"),
      Value("corp-id", "ID", "DingTalk CorpId"),
      Value("app-key", "KEY", "DingTalk AppKey (Client ID)"),
      Secret(Value("app-secret", "SECRET",
                   "DingTalk AppSecret (prefer --app-secret-file or env SASE_APP_SECRET)")),
      Value("app-secret-file", "PATH", "read the AppSecret from a file (trailing newline dropped)"),
      Secret(Value("aes-key", "KEY", "event aes_key: 43 characters of [A-Za-z0-9]")),
      Value("aes-key-file", "PATH", "read the event aes_key from a file"),
      Secret(Value("token", "TOKEN", "event token")),
      Value("token-file", "PATH", "read the event token from a file"),
      Value("type", "standard|dedicated", update ? "DingTalk edition" : "DingTalk edition (default standard)"),
      Bool("auto-sync", "scheduled full syncs (--no-auto-sync to turn off)"),
      Bool("sync-user-info", update ? "scheduled runs also sync users (--no-sync-user-info: departments only)"
                                    : "scheduled runs also sync users (default on)"),
      Bool("accept-corp-id-receiver", "accept the CorpId as callback receiver id"),
      Value("cycle-hours", "N", update ? "sync cycle, 1-24" : "sync cycle, 1-24 (default 24)"),
      Value("scope", "IDS|all", "comma-separated root department ids, or 'all' for the whole organisation"),
      Repeatable(Value("map", "SOURCE=TARGET", "field mapping, repeatable (e.g. job_number=ext.badge)")),
      Repeatable(Value("login-redirect-uri", "URI",
                       "a client redirect a logon may end on (exact match; https, loopback http or a custom scheme)")),
  };
  if (update) {
    f.push_back(Bool("clear-maps", "remove every field mapping"));
    f.push_back(Bool("clear-login-redirect-uris", "remove every logon redirect (the source can no longer log on)"));
    f.push_back(Bool("app-secret-env", "send the AppSecret from env SASE_APP_SECRET"));
    f.push_back(Value("expected-version", "N", "fail with ABORTED unless the stored version matches"));
  }
  return f;
}

std::vector<FlagSpec> PageFlags() {
  return {Bool("all", "follow page tokens and print every page"),
          Value("page-size", "N", "page size (server default when absent)"),
          Value("page-token", "TOKEN", "continue from a previous page")};
}

template <typename... V>
std::vector<FlagSpec> Concat(std::vector<FlagSpec> a, const V&... rest) {
  (a.insert(a.end(), rest.begin(), rest.end()), ...);
  return a;
}

std::vector<FlagSpec> LoginTestFlags(const FlagSpec& idp) {
  return {idp,
          Required(Value("userid", "U", "DingTalk userid to log on as (a user of the simulated organisation)")),
          Required(Value("redirect-uri", "URI", "a client redirect on the source's --login-redirect-uri list")),
          Value("ingress", "URL", absl::StrCat("ingress base URL (default ", kDefaultIngressUrl, ")")),
          Value("sim", "URL", absl::StrCat("DingTalk simulator base URL, in_app flow (default ", kDefaultSimUrl, ")")),
          Value("flow", "oauth|in_app", "browser OAuth (default) or free login inside DingTalk")};
}

std::vector<CommandSpec> BuildCommands() {
  const FlagSpec idp_required = Required(Value("idp", "ID", "identity source id"));
  const FlagSpec idp_optional = Value("idp", "ID", "only this identity source");
  return {
      {"idp", "create", "", 0, 0, "create an identity source", IdentitySourceEditFlags(false)},
      {"idp", "list", "", 0, 0, "list identity sources", {}},
      {"idp", "get", "ID", 1, 1, "show one identity source (secrets shown only as set/unset)", {}},
      {"idp", "update", "ID", 1, 1, "change the given fields only (update_mask)", IdentitySourceEditFlags(true)},
      {"idp", "delete", "ID", 1, 1, "delete an identity source and everything synced from it", {}},
      {"idp", "links", "ID", 1, 1, "URLs to paste into the DingTalk developer console", {}},
      {"idp", "test", "ID", 1, 1, "test connectivity to DingTalk", {}},
      {"idp", "fields", "[ID]", 0, 1, "fields a mapping may use (source and target)", {}},
      {"tenant", "show", "", 0, 0, "show the tenant's settings (enterprise identifier)", {}},
      {"tenant", "set", "", 0, 0, "change the tenant's settings",
       {Required(Value("enterprise-id", "ID",
                       "identifier employees type into the SASE client: 3-64 of [a-z0-9-], \"\" clears it")),
        Value("expected-version", "N", "fail with ABORTED unless the stored version matches")}},
      {"field", "create", "NAME", 1, 1, "create an extended field",
       {Required(Value("display-name", "TEXT", "1-100 characters")),
        Value("type", "string|number|bool|timestamp", "default string")}},
      {"field", "list", "", 0, 0, "list extended fields", {}},
      {"field", "update", "NAME", 1, 1, "change display name and/or type",
       {Value("display-name", "TEXT", "1-100 characters"), Value("type", "string|number|bool|timestamp", "")}},
      {"field", "delete", "NAME", 1, 1, "delete an extended field (refused while a mapping uses it)", {}},
      {"user", "get", "ID", 1, 1, "show one user by directory id", {}},
      {"user", "lookup", "", 0, 0, "find users by one DingTalk key",
       {Value("userid", "X", "DingTalk userid"), Value("unionid", "X", "DingTalk unionid"),
        Value("email", "X", "email"), Value("mobile", "X", "mobile"), Value("job-number", "X", "job number"),
        Value("idp", "ID", "identity source (optional for --userid/--unionid)")}},
      {"user", "list", "", 0, 0, "list users of an identity source",
       Concat({idp_required, Value("dept", "N", "only members of this department"),
               Bool("subtree", "with --dept: include every descendant department"),
               Value("status", "active|disabled|departed", "only users in this status")},
              PageFlags())},
      {"user", "search", "QUERY", 1, 1, "users whose name or email starts with QUERY",
       Concat({idp_optional}, PageFlags())},
      {"user", "depts", "ID", 1, 1, "departments of a user (direct and ancestors)", {}},
      {"user", "check", "ID DEPT", 2, 2, "is the user in DEPT or any department below it", {}},
      {"dept", "get", "N", 1, 1, "show one department", {idp_required}},
      {"dept", "list", "", 0, 0, "child departments (or the whole subtree)",
       Concat({idp_required, Value("parent", "N", "parent department (default: the root)"),
               Bool("subtree", "every descendant instead of the children only")},
              PageFlags())},
      {"login-test", "", "", 0, 0, "log on through the DingTalk simulator as a user and verify the assertion",
       LoginTestFlags(idp_required)},
      {"watch", "", "", 0, 0, "print directory changes as they happen until Ctrl-C",
       {idp_optional, Value("after", "SEQ", "resume after this change seq"),
        Bool("from-now", "only changes committed from now on")}},
      {"sync", "start", "", 0, 0, "start a full sync",
       {idp_required, Bool("departments-only", "refresh departments only"),
        Bool("wait", "show progress until the run ends")}},
      {"sync", "runs", "", 0, 0, "list sync runs", Concat({idp_optional}, PageFlags())},
      {"sync", "show", "RUN", 1, 1, "show one sync run", {}},
      {"sync", "approve", "RUN", 1, 1, "apply departures held back by the deletion guard", {}},
  };
}

std::vector<FlagSpec> BuildGlobalFlags() {
  return {
      Value("sync-worker", "ADDR",
            absl::StrCat("sync_worker gRPC address (env SASE_SYNC_WORKER_ADDR, default ", kDefaultSyncWorkerAddr, ")")),
      Value("directory", "ADDR",
            absl::StrCat("directory gRPC address (env SASE_DIRECTORY_ADDR, default ", kDefaultDirectoryAddr, ")")),
      Value("tenant", "ID", absl::StrCat("tenant id (env SASE_TENANT, default ", kDefaultTenant, ")")),
      Bool("json", "machine output: one JSON document (watch: one JSON object per line)"),
      Value("timeout", "SECONDS", "deadline of each call (default 10)"),
      Value("tls-cert", "FILE",
            "client certificate (PEM, URI SAN spiffe://sase.internal/admin[/name]) for mutual TLS "
            "(env SASE_TLS_CERT_FILE; without the three TLS flags sasectl speaks plaintext)"),
      Value("tls-key", "FILE", "its private key (env SASE_TLS_KEY_FILE)"),
      Value("tls-ca", "FILE", "CA certificates the services' certificates must chain to (env SASE_TLS_CA_FILE)"),
      Value("tls-server-name", "NAME",
            "DNS name the services' certificates must carry when the address is not that name "
            "(env SASE_TLS_SERVER_NAME)"),
  };
}

std::string FlagUsageLine(const FlagSpec& f) {
  std::string left = absl::StrCat("  --", f.name);
  if (f.takes_value) absl::StrAppend(&left, " ", f.value_name);
  if (left.size() < 34) left.resize(34, ' ');
  else left += "  ";
  std::string help = f.help;
  if (f.required) help = absl::StrCat("(required) ", help);
  if (f.repeatable) help = absl::StrCat(help, help.empty() ? "" : "; ", "repeatable");
  return absl::StrCat(left, help, "\n");
}

absl::Status UsageError(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<bool> ParseBool(const std::string& flag, const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  return UsageError(absl::StrCat("--", flag, " takes true or false, not \"", value, "\""));
}

const FlagSpec* FindIn(const std::vector<FlagSpec>& flags, const std::string& name) {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool HasGroup(const std::string& group) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == group) return true;
  }
  return false;
}

const CommandSpec* FindCommand(const std::string& group, const std::string& verb) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == group && c.verb == verb) return &c;
  }
  return nullptr;
}

bool GroupHasVerbs(const std::string& group) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == group) return !c.verb.empty();
  }
  return false;
}

absl::Status ApplyGlobal(const std::string& name, const std::string& value, GlobalOptions& g) {
  if (name == "sync-worker") {
    g.sync_worker_addr = value;
  } else if (name == "directory") {
    g.directory_addr = value;
  } else if (name == "tenant") {
    g.tenant = value;
  } else if (name == "json") {
    absl::StatusOr<bool> b = ParseBool(name, value);
    if (!b.ok()) return b.status();
    g.json = *b;
  } else if (name == "timeout") {
    double t = 0;
    if (!absl::SimpleAtod(value, &t) || !(t > 0) || t > 86400) {
      return UsageError(absl::StrCat("--timeout takes a number of seconds in (0, 86400], not \"", value, "\""));
    }
    g.timeout_seconds = t;
  } else if (name == "tls-cert") {
    g.tls_cert = value;
  } else if (name == "tls-key") {
    g.tls_key = value;
  } else if (name == "tls-ca") {
    g.tls_ca = value;
  } else if (name == "tls-server-name") {
    g.tls_server_name = value;
  }
  if ((name == "sync-worker" || name == "directory" || name == "tenant") && value.empty()) {
    return UsageError(absl::StrCat("--", name, " must not be empty"));
  }
  return absl::OkStatus();
}

}  // namespace

const FlagSpec* CommandSpec::FindFlag(const std::string& name) const { return FindIn(flags, name); }

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec>* commands = new std::vector<CommandSpec>(BuildCommands());
  return *commands;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec>* flags = new std::vector<FlagSpec>(BuildGlobalFlags());
  return *flags;
}

std::string Invocation::Get(const std::string& flag) const {
  auto it = flags.find(flag);
  if (it == flags.end() || it->second.empty()) return "";
  return it->second.back();
}

const std::vector<std::string>& Invocation::GetAll(const std::string& flag) const {
  static const std::vector<std::string>* empty = new std::vector<std::string>();
  auto it = flags.find(flag);
  return it == flags.end() ? *empty : it->second;
}

std::vector<std::string> SecretFlagNames() {
  std::set<std::string> names;
  for (const CommandSpec& c : Commands()) {
    for (const FlagSpec& f : c.flags) {
      if (f.secret) names.insert(f.name);
    }
  }
  return {names.begin(), names.end()};
}

std::string TopLevelUsage() {
  std::string out =
      "sasectl: admin CLI of the DingTalk identity connector\n\n"
      "usage: sasectl [global flags] <command> [args] [flags]\n\ncommands:\n";
  for (const CommandSpec& c : Commands()) {
    std::string left = absl::StrCat("  ", c.Path(), c.args.empty() ? "" : " ", c.args);
    if (left.size() < 28) left.resize(28, ' ');
    else left += "  ";
    absl::StrAppend(&out, left, c.summary, "\n");
  }
  absl::StrAppend(&out, "\nglobal flags (anywhere on the line):\n");
  for (const FlagSpec& f : GlobalFlags()) absl::StrAppend(&out, FlagUsageLine(f));
  absl::StrAppend(&out,
                  "\n'sasectl <command> --help' shows the flags of a command.\n"
                  "exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 invalid argument\n");
  return out;
}

std::string GroupUsage(const std::string& group) {
  if (!HasGroup(group)) return "";
  if (!GroupHasVerbs(group)) return CommandUsage(*FindCommand(group, ""));
  std::string out = absl::StrCat("usage: sasectl ", group, " <verb> [args] [flags]\n\nverbs:\n");
  for (const CommandSpec& c : Commands()) {
    if (c.group != group) continue;
    std::string left = absl::StrCat("  ", c.verb, c.args.empty() ? "" : " ", c.args);
    if (left.size() < 22) left.resize(22, ' ');
    else left += "  ";
    absl::StrAppend(&out, left, c.summary, "\n");
  }
  absl::StrAppend(&out, "\n'sasectl ", group, " <verb> --help' shows the flags of a verb.\n");
  return out;
}

std::string CommandUsage(const CommandSpec& c) {
  std::string out = absl::StrCat("usage: sasectl ", c.Path(), c.args.empty() ? "" : " ", c.args,
                                 c.flags.empty() ? "" : " [flags]", "\n\n", c.summary, "\n");
  if (!c.flags.empty()) {
    absl::StrAppend(&out, "\nflags:\n");
    for (const FlagSpec& f : c.flags) absl::StrAppend(&out, FlagUsageLine(f));
  }
  absl::StrAppend(&out,
                  "\nglobal flags: --sync-worker ADDR --directory ADDR --tenant ID --json --timeout SECONDS\n"
                  "  --tls-cert FILE --tls-key FILE --tls-ca FILE [--tls-server-name NAME]\n");
  return out;
}

absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& argv, const GetEnv& getenv) {
  Invocation inv;
  auto env = [&](const char* name) -> std::string {
    const char* v = getenv ? getenv(name) : nullptr;
    return v == nullptr ? "" : v;
  };
  if (std::string v = env("SASE_SYNC_WORKER_ADDR"); !v.empty()) inv.global.sync_worker_addr = v;
  if (std::string v = env("SASE_DIRECTORY_ADDR"); !v.empty()) inv.global.directory_addr = v;
  if (std::string v = env("SASE_TENANT"); !v.empty()) inv.global.tenant = v;
  inv.global.tls_cert = env("SASE_TLS_CERT_FILE");
  inv.global.tls_key = env("SASE_TLS_KEY_FILE");
  inv.global.tls_ca = env("SASE_TLS_CA_FILE");
  inv.global.tls_server_name = env("SASE_TLS_SERVER_NAME");

  bool help = false;
  bool only_positional = false;
  std::vector<std::string> words;  // group, verb, then positional args
  const CommandSpec* command = nullptr;
  std::string group;
  bool help_command = false;

  auto resolve_command = [&]() -> absl::Status {
    // Called whenever a word is appended, to pin the command as soon as it is known.
    if (command != nullptr || help_command) return absl::OkStatus();
    if (words.size() == 1) {
      group = words[0];
      if (group == "help") {
        help_command = true;
        return absl::OkStatus();
      }
      if (!HasGroup(group)) {
        return UsageError(absl::StrCat("unknown command \"", group, "\" (see sasectl --help)"));
      }
      if (!GroupHasVerbs(group)) command = FindCommand(group, "");
      return absl::OkStatus();
    }
    if (words.size() == 2) {
      command = FindCommand(group, words[1]);
      if (command == nullptr) {
        return UsageError(absl::StrCat("unknown command \"", group, " ", words[1], "\" (see sasectl ", group,
                                       " --help)"));
      }
    }
    return absl::OkStatus();
  };

  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& tok = argv[i];
    if (only_positional || tok.size() < 2 || tok[0] != '-') {
      words.push_back(tok);
      if (absl::Status s = resolve_command(); !s.ok()) return s;
      continue;
    }
    if (tok == "--") {
      only_positional = true;
      continue;
    }
    if (tok == "-h" || tok == "--help") {
      help = true;
      continue;
    }
    std::optional<common::FlagToken> flag = common::SplitFlagToken(tok);
    if (!flag) return UsageError(absl::StrCat("unknown flag \"", tok, "\" (flags are spelled --name)"));
    std::string name = std::move(flag->name);
    std::string value = std::move(flag->value);
    const bool has_value = flag->has_value;
    bool negated = false;
    const FlagSpec* spec = FindIn(GlobalFlags(), name);
    bool global = spec != nullptr;
    if (spec == nullptr && command != nullptr) spec = command->FindFlag(name);
    if (spec == nullptr && absl::StartsWith(name, "no-")) {
      std::string positive = name.substr(3);
      const FlagSpec* p = FindIn(GlobalFlags(), positive);
      global = p != nullptr;
      if (p == nullptr && command != nullptr) p = command->FindFlag(positive);
      if (p != nullptr && !p->takes_value) {
        if (has_value) return UsageError(absl::StrCat("--", name, " takes no value"));
        spec = p;
        name = positive;
        negated = true;
      }
    }
    if (spec == nullptr) {
      if (command == nullptr) {
        return UsageError(absl::StrCat("unknown flag --", name,
                                       words.empty() ? " (see sasectl --help)" : " (command incomplete; see --help)"));
      }
      return UsageError(absl::StrCat("unknown flag --", name, " for \"", command->Path(), "\" (see sasectl ",
                                     command->Path(), " --help)"));
    }
    if (spec->takes_value) {
      if (!has_value) {
        if (i + 1 >= argv.size()) return UsageError(absl::StrCat("--", name, " needs a value (", spec->value_name, ")"));
        value = argv[++i];
      }
    } else if (negated) {
      value = "false";
    } else if (has_value) {
      absl::StatusOr<bool> b = ParseBool(name, value);
      if (!b.ok()) {
        return spec->secret ? UsageError(absl::StrCat("--", name, " takes true or false")) : b.status();
      }
      value = *b ? "true" : "false";
    } else {
      value = "true";
    }
    if (global) {
      if (absl::Status s = ApplyGlobal(name, value, inv.global); !s.ok()) return s;
      continue;
    }
    std::vector<std::string>& values = inv.flags[name];
    if (!values.empty() && !spec->repeatable) return UsageError(absl::StrCat("--", name, " given more than once"));
    values.push_back(std::move(value));
  }

  if (help_command) {
    // "sasectl help [group [verb]]"
    if (words.size() == 1) {
      inv.help = TopLevelUsage();
    } else if (words.size() == 2) {
      inv.help = GroupUsage(words[1]);
    } else if (const CommandSpec* c = FindCommand(words[1], words[2]); c != nullptr) {
      inv.help = CommandUsage(*c);
    }
    if (inv.help.empty()) return UsageError("help: unknown command (see sasectl --help)");
    return inv;
  }
  if (help || words.empty()) {
    if (command != nullptr) {
      inv.help = CommandUsage(*command);
    } else if (!words.empty()) {
      inv.help = GroupUsage(group);
    } else {
      inv.help = TopLevelUsage();
    }
    if (!help && words.empty()) return UsageError("no command given (see sasectl --help)");
    return inv;
  }
  if (command == nullptr) {
    return UsageError(absl::StrCat("\"", group, "\" needs a verb (see sasectl ", group, " --help)"));
  }
  inv.command = command;
  size_t skip = command->verb.empty() ? 1 : 2;
  inv.args.assign(words.begin() + static_cast<std::ptrdiff_t>(skip), words.end());
  if (inv.args.size() < command->min_args || inv.args.size() > command->max_args) {
    return UsageError(absl::StrCat("\"", command->Path(), "\" takes ",
                                   command->args.empty() ? "no arguments" : command->args, ", got ",
                                   inv.args.size(), " argument(s) (see sasectl ", command->Path(), " --help)"));
  }
  for (const FlagSpec& f : command->flags) {
    if (f.required && !inv.Has(f.name)) {
      return UsageError(absl::StrCat("\"", command->Path(), "\" needs --", f.name, " ", f.value_name));
    }
  }
  const GlobalOptions& g = inv.global;
  if (!g.tls_cert.empty() || !g.tls_key.empty() || !g.tls_ca.empty()) {
    for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"tls-cert", &g.tls_cert},
                                      {"tls-key", &g.tls_key},
                                      {"tls-ca", &g.tls_ca}}) {
      if (value->empty()) {
        return UsageError(absl::StrCat("--", flag, " is needed too: mutual TLS takes --tls-cert, --tls-key and --tls-ca"));
      }
    }
  }
  return inv;
}

}  // namespace sase::sasectl

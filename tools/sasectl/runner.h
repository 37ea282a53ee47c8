#pragma once
// Executes a parsed sasectl command against the services over gRPC.

#include <ostream>
#include <string>
#include <vector>

#include "sasectl/cli_args.h"

namespace sase::sasectl {

// Parses argv (without the program name), runs the command and returns the exit code.
// Results go to `out`; errors, hints and progress go to `err`.
int RunSasectl(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err, const GetEnv& getenv);

}  // namespace sase::sasectl

#pragma once

#include <string>
#include <vector>

namespace verge::cmd {

// `verge ctl` with its arguments (everything after the subcommand's name); returns the exit code.
int run_ctl(const std::vector<std::string>& args);

}  // namespace verge::cmd

#pragma once

#include <string>
#include <vector>

namespace verge::cmd {

// `verge sim edges` with its arguments (everything after the subcommand's name); returns the exit
// code.
int run_sim_edges(const std::vector<std::string>& args);

}  // namespace verge::cmd

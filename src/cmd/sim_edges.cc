#include "cmd/sim_edges.h"

#include <cstdio>

namespace verge::cmd {

int run_sim_edges(const std::vector<std::string>& /*args*/) {
  std::fputs("not built yet\n", stderr);
  return 2;
}

}  // namespace verge::cmd

#include "cmd/ctl.h"

#include <cstdio>

namespace verge::cmd {

int run_ctl(const std::vector<std::string>& /*args*/) {
  std::fputs("not built yet\n", stderr);
  return 2;
}

}  // namespace verge::cmd

// `verge edge`: runs an edge node until SIGINT/SIGTERM. Returns the process exit code.
#pragma once

#include "core/config.h"

namespace verge::cmd {
int run_edge(const EdgeConfig& cfg);
}  // namespace verge::cmd

// `verge cloud`: runs the hub until SIGINT/SIGTERM. Returns the process exit code.
#pragma once

#include "core/config.h"

namespace verge::cmd {
// The hub's defaults differ from an edge's: the edge listener (mqtts-listen) is on :8883 with
// the hub's own CA, and the data directory is ./verge-hub.
EdgeConfig cloud_defaults();
int run_cloud(const EdgeConfig& cfg);
}  // namespace verge::cmd

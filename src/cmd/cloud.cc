#include "cmd/cloud.h"

#include <cstdio>

namespace verge::cmd {

EdgeConfig cloud_defaults() {
  EdgeConfig cfg;
  cfg.data_dir = "./verge-hub";
  cfg.mqtts_listen = ListenAddress{"0.0.0.0", 8883};
  return cfg;
}

int run_cloud(const EdgeConfig& /*cfg*/) {
  std::fputs("not built yet\n", stderr);
  return 2;
}

}  // namespace verge::cmd

// What a node's heartbeat says about the process and its disk: cpu % since the previous sample
// (/proc/self/stat), resident memory (/proc/self/statm) and the data directory's file system
// (statvfs). Values that cannot be read are reported as 0.
#pragma once

#include <cstdint>
#include <string>

#include "core/value.h"

namespace verge::sync {

class ProcessSampler {
 public:
  explicit ProcessSampler(std::string data_dir);
  // {"cpu_percent","rss_bytes","disk":{"total_bytes","free_bytes"}}; cpu over the time since the
  // previous call (the first call: since the process started).
  Value sample();

 private:
  std::string data_dir_;
  uint64_t last_cpu_ticks_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace verge::sync

// Wall-clock time as the project stores and shows it: Unix time in milliseconds (timestamps of
// readings, commands, alarms, journal records). Intervals use steady clocks instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace verge {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace verge

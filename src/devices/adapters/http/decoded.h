// What the ingest decoders (JSON samples, line protocol) produce: the readings they could decode
// and why the others were refused. Shared by HTTP ingest and CoAP.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "devices/ingest.h"

namespace verge::devices {

struct IngestLimits {
  size_t max_body_bytes = size_t{1} << 20;  // the HTTP server's own body limit
  size_t max_items = 10'000;                // JSON items or line-protocol lines
  size_t max_readings = 100'000;            // readings of one body
  int64_t now_ms = 0;  // wall clock for the timestamp bounds; 0 = the system clock (tests set it)
};

// Bounds of a pushed timestamp. A unit mistake (microseconds sent as ms, seconds with
// precision=ms) lands far in the future; the store would take it as its newest point and refuse
// every later normal reading as too old, so such timestamps are refused instead.
inline constexpr int64_t kMinPushedTsMs = 946'684'800'000;  // 2000-01-01T00:00:00Z
inline constexpr int64_t kMaxPushedTsAheadMs = 86'400'000;  // 1 day: clock skew, not unit errors

inline int64_t pushed_ts_now_ms(int64_t now_ms) {
  if (now_ms != 0) return now_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Why `ts_ms` (already in ms) is out of bounds, or nullopt when it is fine. `shown` is the
// timestamp as the client wrote it and `hint` names the unit it should be in ("; is it in ms?").
inline std::optional<std::string> pushed_ts_error(int64_t ts_ms, int64_t now_ms,
                                                  const std::string& shown,
                                                  const std::string& hint) {
  if (ts_ms > pushed_ts_now_ms(now_ms) + kMaxPushedTsAheadMs) {
    return "ts " + shown + " is more than 1 day in the future" + hint;
  }
  if (ts_ms < kMinPushedTsMs) return "ts " + shown + " is before 2000-01-01" + hint;
  return std::nullopt;
}

struct DecodedReadings {
  static constexpr size_t kMaxErrors = 20;  // error texts kept; `rejected` counts them all

  std::vector<NamedReading> readings;
  size_t rejected = 0;  // readings (JSON) or lines (line protocol) refused
  std::vector<std::string> errors;

  void reject(std::string error) {
    ++rejected;
    if (errors.size() < kMaxErrors) errors.push_back(std::move(error));
  }
};

}  // namespace verge::devices

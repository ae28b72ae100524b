// What the ingest decoders (JSON samples, line protocol) produce: the readings they could decode
// and why the others were refused. Shared by HTTP ingest and CoAP.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "devices/ingest.h"

namespace verge::devices {

struct IngestLimits {
  size_t max_body_bytes = size_t{1} << 20;  // the HTTP server's own body limit
  size_t max_items = 10'000;                // JSON items or line-protocol lines
  size_t max_readings = 100'000;            // readings of one body
};

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

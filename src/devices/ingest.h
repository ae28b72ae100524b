// Readings that devices push by name (HTTP ingest, CoAP) rather than through an adapter that
// knows point indexes. The device manager implements IngestSink; the transports only decode.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "devices/types.h"

namespace verge::devices {

struct NamedReading {
  std::string device;
  std::string point;
  Value value;        // as sent: converted by the manager to the point's type
  int64_t ts_ms = 0;  // 0 = when received
  Quality quality = Quality::Good;
  std::string reason;
};

struct IngestResult {
  size_t accepted = 0;
  size_t rejected = 0;
  // One line per rejected reading (at most the first 20): "device 'x': unknown device".
  std::vector<std::string> errors;
};

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  // Thread-safe. `protocol` is the transport ("http", "coap"): a reading is accepted only for a
  // known device whose profile uses that protocol, and a known point of it.
  virtual IngestResult ingest(std::string_view protocol,
                              std::span<const NamedReading> readings) = 0;
};

}  // namespace verge::devices

// How a rule commands a device (closed loops: open the vent when the greenhouse is hot). The
// device-access layer implements it; the rule engine only calls it. Writes are asynchronous:
// the result arrives later, on any thread (the device action posts it to the engine loop).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/value.h"

namespace verge::rules {

struct DeviceWrite {
  std::string device;  // device id
  std::string point;   // point name in the device's profile
  Value value;         // converted by the adapter to the point's type
  int64_t ttl_ms = 0;  // how long the command may wait for an unreachable device (0 = default)
};

class DeviceWriter {
 public:
  // Ok once the device acknowledged the write; the error says why not (unknown device or point,
  // read-only point, out of range, timeout, device offline and TTL expired).
  using Done = std::function<void(Result<void>)>;
  virtual ~DeviceWriter() = default;
  virtual void write(DeviceWrite cmd, Done done) = 0;
};

}  // namespace verge::rules

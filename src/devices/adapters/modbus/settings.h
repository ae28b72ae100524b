// A Modbus device's `connection` object, checked strictly (unknown keys are errors) and turned
// into settings: the TCP keys and the serial line keys of docs/devices/modbus.md.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "core/value.h"
#include "devices/adapters/modbus/registers.h"

namespace verge::devices::modbus {

// What both transports share: the unit, timing and batching.
struct CommonSettings {
  uint8_t unit = 1;
  int64_t timeout_ms = 1000;
  int retries = 2;
  PlanLimits limits;
  int64_t backoff_max_ms = 30'000;
  bool force_multiple_write = false;  // fc 15/16 also for a single coil or register
};

struct TcpSettings {
  std::string host;
  uint16_t port = 502;
  CommonSettings common;
};

enum class Parity : uint8_t { None, Even, Odd };

struct SerialSettings {
  std::string path;  // "port" in YAML: /dev/ttyUSB0
  int baud = 9600;
  Parity parity = Parity::None;
  int data_bits = 8;
  int stop_bits = 1;
  bool operator==(const SerialSettings&) const = default;
};
std::string describe(const SerialSettings& s);  // "/dev/ttyUSB0 9600 8N1"

struct RtuSettings {
  SerialSettings serial;
  CommonSettings common;
};

Result<TcpSettings> parse_tcp_settings(const Value& connection);
Result<RtuSettings> parse_rtu_settings(const Value& connection);

}  // namespace verge::devices::modbus

// Opening a serial line for Modbus RTU: raw mode (no echo, no line editing, no flow control),
// the line's speed and character format, non-blocking.
#pragma once

#include "core/result.h"
#include "devices/adapters/modbus/settings.h"

namespace verge::devices::modbus {

// A non-blocking, close-on-exec fd configured as `s` says; the error names the path and cause.
Result<int> open_serial_port(const SerialSettings& s);

// Microseconds the line needs for one character (start, data, parity and stop bits).
int64_t character_time_us(const SerialSettings& s);

}  // namespace verge::devices::modbus

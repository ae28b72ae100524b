// What a simulated point reads at a given time: slow sines with a little noise for measurements,
// counters that grow with the wall clock, on/off states that switch every few minutes. Pure
// functions of (device, point, time), so a read costs no per-tick state and every device differs.
#pragma once

#include <cstdint>

#include "core/value.h"
#include "sim/modbus_layout.h"

namespace verge::sim {

// The raw value (of the point's type, before scale) of point `index` of device `device` at
// `unix_seconds`. Setpoints give their initial value; the device keeps written ones itself.
Value signal_value(const SimPoint& point, uint32_t index, uint32_t device, double unix_seconds);

}  // namespace verge::sim

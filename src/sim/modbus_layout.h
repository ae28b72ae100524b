// The register map of a simulated Modbus device (`verge sim modbus`): which points it has, where
// each lives and of what type. Deterministic from the point count alone, so the profile written
// by --config-out matches every simulated device exactly.
//
// Point i (0-based) is of kind i % 10 and is named <letter><i+1 as 4 digits>, e.g. t0001:
//   0 t  temperature   float32  holding   degC  r
//   1 p  pressure      float32  input     bar   r
//   2 f  flow counter  uint32   input     l     r   (only increases)
//   3 s  on/off state  bool     coil            rw
//   4 c  setpoint      int16    holding   degC  rw  (scale 0.1)
//   5 t  temperature   int16    input     degC  r   (scale 0.1)
//   6 h  humidity      uint16   holding   %RH   r   (scale 0.1)
//   7 e  energy        float64  input     kWh   r   (only increases)
//   8 w  power         int32    holding   W     r
//   9 v  voltage       uint16   input     V     r   (scale 0.1)
// Each table is filled from address 0 in point order without gaps, so any read inside a table's
// size succeeds; all words are big-endian (ABCD). Discrete inputs: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "devices/adapters/modbus/registers.h"
#include "devices/types.h"

namespace verge::sim {

enum class SignalKind : uint8_t {
  Temperature,
  Pressure,
  FlowCounter,
  State,
  Setpoint,
  TemperatureX10,
  Humidity,
  Energy,
  Power,
  Voltage
};

struct SimPoint {
  devices::PointSpec spec;  // name, address text, type, scale, unit, access
  devices::modbus::PointAddress addr;
  SignalKind kind = SignalKind::Temperature;
  uint16_t span = 1;  // registers (or bits) it covers
};

// Which point covers a register (or coil) of a table, and which of its words it is.
struct RegisterOwner {
  uint32_t point = 0;
  uint16_t word = 0;
};

class ModbusLayout {
 public:
  explicit ModbusLayout(uint32_t points);

  const std::vector<SimPoint>& points() const { return points_; }
  // Registers (or coils) the table holds; reads beyond it get exception 2.
  uint32_t table_size(devices::modbus::Table t) const {
    return static_cast<uint32_t>(owners_[static_cast<size_t>(t)].size());
  }
  const RegisterOwner& owner(devices::modbus::Table t, uint32_t offset) const {
    return owners_[static_cast<size_t>(t)][offset];
  }

 private:
  std::vector<SimPoint> points_;
  std::vector<RegisterOwner> owners_[4];  // indexed by Table
};

}  // namespace verge::sim

#include "sim/modbus_signals.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace verge::sim {
namespace {

constexpr double kCounterEpoch = 1704067200.0;  // 2024-01-01: counters start from here

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1), new every half second: what a sensor's last digit does.
double noise(uint32_t device, uint32_t index, double t) {
  const auto slot = static_cast<uint64_t>(t * 2);
  const uint64_t h = mix((uint64_t{device} << 40) ^ (uint64_t{index} << 20) ^ mix(slot));
  return static_cast<double>(h >> 11) / static_cast<double>(uint64_t{1} << 52) - 1.0;
}

// A sine of period 5..15 minutes, its phase set by the device and the point.
double wave(uint32_t device, uint32_t index, double t) {
  const double period = 300.0 + static_cast<double>((index * 37 + device * 11) % 600);
  const double phase = static_cast<double>(mix(uint64_t{device} * 1000003 + index) % 1000) / 1000;
  return std::sin(2 * std::numbers::pi * (std::fmod(t, period) / period + phase));
}

}  // namespace

Value signal_value(const SimPoint& point, uint32_t index, uint32_t device, double t) {
  const double w = wave(device, index, t);
  const double n = noise(device, index, t);
  const double since = std::max(0.0, t - kCounterEpoch);
  switch (point.kind) {
    case SignalKind::Temperature:
      return Value(20.0 + 5.0 * w + 0.1 * n);
    case SignalKind::TemperatureX10:
      return Value(static_cast<int64_t>(std::lround((20.0 + 5.0 * w + 0.1 * n) * 10)));
    case SignalKind::Pressure:
      return Value(2.0 + 0.5 * w + 0.01 * n);
    case SignalKind::FlowCounter: {
      const double litres_per_s = 0.5 + 0.3 * (index % 7) + 0.01 * (device % 10);
      return Value(static_cast<int64_t>(static_cast<uint64_t>(since * litres_per_s) & 0xffffffff));
    }
    case SignalKind::State:
      return Value(w > 0);
    case SignalKind::Setpoint:
      return Value(static_cast<int64_t>(200 + (index * 7 + device) % 60));  // 20.0..25.9 degC
    case SignalKind::Humidity:
      return Value(static_cast<int64_t>(std::lround((45.0 + 15.0 * w + 0.5 * n) * 10)));
    case SignalKind::Energy:
      return Value(since / 3600.0 * (1.0 + 0.25 * ((index / 10 + device) % 9)));  // 1..3 kW
    case SignalKind::Power:
      return Value(static_cast<int64_t>(std::lround(1500.0 + 2000.0 * w + 20.0 * n)));
    case SignalKind::Voltage:
      return Value(static_cast<int64_t>(std::lround((230.0 + 3.0 * w + 0.2 * n) * 10)));
  }
  return Value();
}

}  // namespace verge::sim

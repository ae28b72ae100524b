#include "sim/modbus_layout.h"

#include <fmt/format.h>

namespace verge::sim {
namespace {

using devices::Access;
using devices::DataType;
using devices::modbus::Table;

struct KindInfo {
  SignalKind kind;
  char letter;
  DataType type;
  Table table;
  const char* unit;
  double scale;
  Access access;
};

// The ten kinds in the order of the table in modbus_layout.h.
constexpr KindInfo kKinds[10] = {
    {SignalKind::Temperature, 't', DataType::Float32, Table::HoldingRegister, "degC", 1.0,
     Access::Read},
    {SignalKind::Pressure, 'p', DataType::Float32, Table::InputRegister, "bar", 1.0, Access::Read},
    {SignalKind::FlowCounter, 'f', DataType::Uint32, Table::InputRegister, "l", 1.0, Access::Read},
    {SignalKind::State, 's', DataType::Bool, Table::Coil, "", 1.0, Access::ReadWrite},
    {SignalKind::Setpoint, 'c', DataType::Int16, Table::HoldingRegister, "degC", 0.1,
     Access::ReadWrite},
    {SignalKind::TemperatureX10, 't', DataType::Int16, Table::InputRegister, "degC", 0.1,
     Access::Read},
    {SignalKind::Humidity, 'h', DataType::Uint16, Table::HoldingRegister, "%RH", 0.1, Access::Read},
    {SignalKind::Energy, 'e', DataType::Float64, Table::InputRegister, "kWh", 1.0, Access::Read},
    {SignalKind::Power, 'w', DataType::Int32, Table::HoldingRegister, "W", 1.0, Access::Read},
    {SignalKind::Voltage, 'v', DataType::Uint16, Table::InputRegister, "V", 0.1, Access::Read},
};

}  // namespace

ModbusLayout::ModbusLayout(uint32_t points) {
  points_.reserve(points);
  for (uint32_t i = 0; i < points; ++i) {
    const KindInfo& k = kKinds[i % 10];
    auto& owners = owners_[static_cast<size_t>(k.table)];
    SimPoint p;
    p.kind = k.kind;
    p.spec.name = fmt::format("{}{:04d}", k.letter, i + 1);
    p.spec.type = k.type;
    p.spec.scale = k.scale;
    p.spec.unit = k.unit;
    p.spec.access = k.access;
    p.addr.table = k.table;
    p.addr.offset = static_cast<uint16_t>(owners.size());
    p.spec.address = fmt::format("{}:{}", devices::modbus::table_name(k.table), owners.size());
    p.span = devices::modbus::span_of(p.spec, p.addr);
    for (uint16_t w = 0; w < p.span; ++w) owners.push_back(RegisterOwner{i, w});
    points_.push_back(std::move(p));
  }
}

}  // namespace verge::sim

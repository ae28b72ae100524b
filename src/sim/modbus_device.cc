#include "sim/modbus_device.h"

#include "devices/adapters/modbus/registers.h"
#include "sim/modbus_signals.h"

namespace verge::sim {
namespace {

namespace mb = devices::modbus;

constexpr uint8_t kIllegalFunction = 1;
constexpr uint8_t kIllegalAddress = 2;
constexpr uint8_t kIllegalValue = 3;

void put_u16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

mb::Table table_of(uint8_t function) {
  switch (function) {
    case mb::kReadCoils:
      return mb::Table::Coil;
    case mb::kReadDiscreteInputs:
      return mb::Table::DiscreteInput;
    case mb::kReadInputRegisters:
      return mb::Table::InputRegister;
    default:
      return mb::Table::HoldingRegister;
  }
}

bool is_read(uint8_t function) { return function <= mb::kReadInputRegisters; }

}  // namespace

SimDevice::SimDevice(const ModbusLayout& layout, uint32_t index)
    : layout_(layout),
      index_(index),
      setpoints_(layout.table_size(mb::Table::HoldingRegister), 0),
      coils_(layout.table_size(mb::Table::Coil), -1) {
  const auto& points = layout.points();
  for (uint32_t i = 0; i < points.size(); ++i) {
    if (points[i].kind != SignalKind::Setpoint) continue;
    const Value v = signal_value(points[i], i, index, 0);
    setpoints_[points[i].addr.offset] = static_cast<uint16_t>(v.as_int());
  }
}

void SimDevice::handle(std::string_view pdu, double t, std::string& out) {
  auto req = mb::decode_request(pdu);
  if (!req) {
    const uint8_t function = pdu.empty() ? 0 : static_cast<uint8_t>(pdu[0]);
    mb::encode_exception(
        function, mb::is_supported_function(function) ? kIllegalValue : kIllegalFunction, out);
    return;
  }
  const size_t start = out.size();
  uint8_t exception = 0;
  {
    std::lock_guard lock(mutex_);
    switch (req->function) {
      case mb::kReadCoils:
      case mb::kReadDiscreteInputs:
        exception = read_coils(*req, t, out);
        break;
      case mb::kReadHoldingRegisters:
      case mb::kReadInputRegisters:
        exception = read_registers(*req, t, out);
        break;
      case mb::kWriteSingleRegister:
      case mb::kWriteMultipleRegisters:
        exception = write_registers(*req);
        break;
      default:
        exception = write_coils(*req);
        break;
    }
  }
  if (exception != 0) {
    out.resize(start);
    mb::encode_exception(req->function, exception, out);
    return;
  }
  if (!is_read(req->function)) {
    mb::encode_response(*req, mb::Response{}, out);  // the echo
  }
}

uint8_t SimDevice::read_registers(const Request& req, double t, std::string& out) {
  const mb::Table table = table_of(req.function);
  if (uint32_t{req.address} + req.count > layout_.table_size(table)) return kIllegalAddress;
  out += static_cast<char>(req.function);
  out += static_cast<char>(2 * req.count);
  // Each point is computed once, however many of its words the request covers.
  uint32_t current = UINT32_MAX;
  std::vector<uint16_t> words;
  for (uint32_t r = req.address; r < uint32_t{req.address} + req.count; ++r) {
    const RegisterOwner& o = layout_.owner(table, r);
    if (o.point != current) {
      current = o.point;
      const SimPoint& p = layout_.points()[o.point];
      if (p.kind == SignalKind::Setpoint) {
        words.assign(1, setpoints_[p.addr.offset]);
      } else {
        auto encoded = mb::encode_registers(p.spec, signal_value(p, o.point, index_, t));
        words = encoded ? std::move(*encoded) : std::vector<uint16_t>(p.span, 0);
      }
    }
    put_u16(out, o.word < words.size() ? words[o.word] : 0);
  }
  return 0;
}

bool SimDevice::coil_on(uint32_t offset, double t) const {
  if (coils_[offset] >= 0) return coils_[offset] != 0;
  const uint32_t point = layout_.owner(mb::Table::Coil, offset).point;
  return signal_value(layout_.points()[point], point, index_, t).is_true();
}

uint8_t SimDevice::read_coils(const Request& req, double t, std::string& out) {
  const mb::Table table = table_of(req.function);
  if (uint32_t{req.address} + req.count > layout_.table_size(table)) return kIllegalAddress;
  out += static_cast<char>(req.function);
  out += static_cast<char>((req.count + 7) / 8);
  uint8_t byte = 0;
  for (uint32_t i = 0; i < req.count; ++i) {
    if (coil_on(req.address + i, t)) byte = static_cast<uint8_t>(byte | (1u << (i % 8)));
    if (i % 8 == 7 || i + 1 == req.count) {
      out += static_cast<char>(byte);
      byte = 0;
    }
  }
  return 0;
}

// Only setpoints are writable; a request touching any other register writes nothing.
uint8_t SimDevice::write_registers(const Request& req) {
  const mb::Table table = mb::Table::HoldingRegister;
  if (uint32_t{req.address} + req.count > layout_.table_size(table)) return kIllegalAddress;
  for (uint32_t r = req.address; r < uint32_t{req.address} + req.count; ++r) {
    const SimPoint& p = layout_.points()[layout_.owner(table, r).point];
    if (p.kind != SignalKind::Setpoint) return kIllegalAddress;
  }
  for (uint16_t i = 0; i < req.count; ++i) setpoints_[req.address + i] = req.registers[i];
  return 0;
}

uint8_t SimDevice::write_coils(const Request& req) {
  if (uint32_t{req.address} + req.count > layout_.table_size(mb::Table::Coil)) {
    return kIllegalAddress;
  }
  for (uint16_t i = 0; i < req.count; ++i) {
    coils_[req.address + i] = static_cast<int8_t>(req.bits[i] != 0 ? 1 : 0);
  }
  return 0;
}

}  // namespace verge::sim

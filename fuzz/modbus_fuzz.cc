// Fuzzes the Modbus codec (src/devices/adapters/modbus/): the same bytes as an MBAP frame, a
// response PDU to a few request shapes, an RTU response and request, a request PDU, a point
// address, and registers for every type and word order. Nothing may crash or read past the
// input; frames stay inside the input; what decodes re-encodes to the same thing; read plans
// cover every due point once.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "devices/adapters/modbus/frame.h"
#include "devices/adapters/modbus/pdu.h"
#include "devices/adapters/modbus/registers.h"

namespace mb = verge::devices::modbus;
using verge::Value;
using verge::devices::DataType;
using verge::devices::PointSpec;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void responses(std::string_view in) {
  const std::vector<uint16_t> one{0x1234};
  const std::vector<uint16_t> three{1, 2, 3};
  const std::vector<uint8_t> coil{1};
  const mb::Request requests[] = {
      mb::read_request(mb::Table::HoldingRegister, 0, 10),
      mb::read_request(mb::Table::Coil, 3, 13),
      mb::write_registers_request(7, one),
      mb::write_registers_request(7, three),
      mb::write_coils_request(2, coil),
  };
  for (const mb::Request& req : requests) {
    auto resp = mb::decode_response(in, req);
    if (resp && resp->exception == 0) {
      check(resp->function == req.function);
      if (req.function == mb::kReadHoldingRegisters) check(resp->registers.size() == req.count);
      if (req.function == mb::kReadCoils) check(resp->bits.size() == req.count);
    }
    auto rtu = mb::parse_rtu_response(in, req);
    if (rtu && rtu->has_value()) {
      check((*rtu)->size <= in.size() && (*rtu)->size == (*rtu)->pdu.size() + 3);
      std::string again;
      mb::frame_rtu((*rtu)->unit, (*rtu)->pdu, again);
      check(again == in.substr(0, (*rtu)->size));  // the CRC matched
    }
  }
}

void frames(std::string_view in) {
  auto tcp = mb::parse_tcp_frame(in);
  if (tcp && tcp->has_value()) {
    const mb::TcpFrame& f = **tcp;
    check(f.size <= in.size() && f.size == f.pdu.size() + 7 && !f.pdu.empty());
    std::string again;
    mb::frame_tcp(f.transaction, f.unit, f.pdu, again);
    check(again == in.substr(0, f.size));
  }
  auto rtu = mb::parse_rtu_request(in);
  if (rtu && rtu->has_value()) check((*rtu)->size <= in.size());
}

void requests(std::string_view in) {
  auto req = mb::decode_request(in);
  if (!req) return;
  std::string pdu;
  mb::encode_request(*req, pdu);
  auto back = mb::decode_request(pdu);
  check(back.has_value() && back->function == req->function && back->address == req->address &&
        back->count == req->count && back->registers == req->registers && back->bits == req->bits);
  // The server's reply decodes as the client expects.
  mb::Response resp;
  if (req->function == mb::kReadHoldingRegisters || req->function == mb::kReadInputRegisters) {
    resp.registers.assign(req->count, 0xBEEF);
  } else if (req->function == mb::kReadCoils || req->function == mb::kReadDiscreteInputs) {
    resp.bits.assign(req->count, 1);
  }
  std::string out;
  mb::encode_response(*req, resp, out);
  auto decoded = mb::decode_response(out, *req);
  check(decoded.has_value() && decoded->registers == resp.registers && decoded->bits == resp.bits);
}

void registers(std::string_view in) {
  std::vector<uint16_t> regs;
  for (size_t i = 0; i + 1 < in.size() && regs.size() < 8; i += 2) {
    regs.push_back(static_cast<uint16_t>((static_cast<uint8_t>(in[i]) << 8) |
                                         static_cast<uint8_t>(in[i + 1])));
  }
  const DataType types[] = {DataType::Bool,    DataType::Int16,   DataType::Uint16,
                            DataType::Int32,   DataType::Uint32,  DataType::Int64,
                            DataType::Float32, DataType::Float64, DataType::String};
  const mb::PointAddress addr{mb::Table::HoldingRegister, 0, -1};
  for (DataType type : types) {
    for (int order = 0; order < 4; ++order) {
      PointSpec p;
      p.type = type;
      p.byte_swap = (order & 1) != 0;
      p.word_swap = (order & 2) != 0;
      p.length = 7;
      const Value v = mb::decode_registers(p, addr, regs);
      if (regs.size() < mb::span_of(p, addr)) {
        check(v.is_null());
        continue;
      }
      auto enc = mb::encode_registers(p, v);
      check(enc.has_value());
      if (type == DataType::String || type == DataType::Bool) continue;
      if (v.is_float() && std::isnan(v.as_float())) continue;  // NaN payloads may change
      check(mb::decode_registers(p, addr, *enc) == v);
    }
  }
}

void address_and_plan(std::string_view in) {
  auto a = mb::parse_address(in.substr(0, 24));
  if (!a) return;
  check(a->bit < 16);
  check(a->bit < 0 || !mb::is_bit_table(a->table));
  // A few points around the parsed address, planned with small limits.
  std::vector<PointSpec> points(4);
  std::vector<mb::PointAddress> addrs(4, *a);
  points[1].type = DataType::Float64;
  points[2].type = DataType::String;
  points[2].length = 9;
  for (size_t i = 0; i < 4; ++i) {
    if (mb::is_bit_table(a->table) || a->bit >= 0) points[i].type = DataType::Bool;
    addrs[i].offset = static_cast<uint16_t>(a->offset + 3 * i < 65530 ? a->offset + 3 * i : 0);
  }
  mb::PlanLimits limits;
  limits.max_registers = 5;
  limits.max_gap = 1;
  const std::vector<uint32_t> due{3, 0, 2, 1, 2};
  const auto plan = mb::plan_reads(points, addrs, due, limits);
  size_t slots = 0;
  for (const auto& r : plan) {
    for (const auto& s : r.slots) {
      ++slots;
      check(addrs[s.point].offset == r.address + s.offset);
      check(s.offset + mb::span_of(points[s.point], addrs[s.point]) <= r.count);
    }
  }
  check(slots == 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  responses(in);
  frames(in);
  requests(in);
  registers(in);
  address_and_plan(in);
  return 0;
}

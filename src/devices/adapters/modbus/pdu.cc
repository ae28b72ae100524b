#include "devices/adapters/modbus/pdu.h"

#include <fmt/format.h>

namespace verge::devices::modbus {
namespace {

uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
uint16_t u16_at(std::string_view s, size_t i) {
  return static_cast<uint16_t>((byte_at(s, i) << 8) | byte_at(s, i + 1));
}
void put_u8(std::string& out, uint32_t v) { out += static_cast<char>(v & 0xff); }
void put_u16(std::string& out, uint32_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

size_t bit_bytes(size_t bits) { return (bits + 7) / 8; }

// Bits packed LSB first: bit 0 of the first byte is the lowest-addressed coil.
void put_bits(std::string& out, std::span<const uint8_t> bits) {
  const size_t start = out.size();
  out.append(bit_bytes(bits.size()), '\0');
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] != 0) out[start + i / 8] = static_cast<char>(out[start + i / 8] | (1 << (i % 8)));
  }
}
std::vector<uint8_t> get_bits(std::string_view data, size_t count) {
  std::vector<uint8_t> bits(count);
  for (size_t i = 0; i < count; ++i) bits[i] = (byte_at(data, i / 8) >> (i % 8)) & 1;
  return bits;
}
std::vector<uint16_t> get_registers(std::string_view data, size_t count) {
  std::vector<uint16_t> regs(count);
  for (size_t i = 0; i < count; ++i) regs[i] = u16_at(data, 2 * i);
  return regs;
}

bool is_read(uint8_t function) { return function >= kReadCoils && function <= kReadInputRegisters; }
bool reads_bits(uint8_t function) {
  return function == kReadCoils || function == kReadDiscreteInputs;
}
// Bytes of data a read response carries for `req`.
size_t read_data_bytes(const Request& req) {
  return reads_bits(req.function) ? bit_bytes(req.count) : 2u * req.count;
}

}  // namespace

const char* table_name(Table t) {
  switch (t) {
    case Table::Coil:
      return "coil";
    case Table::DiscreteInput:
      return "discrete";
    case Table::InputRegister:
      return "input";
    case Table::HoldingRegister:
      return "holding";
  }
  return "?";
}

bool is_supported_function(uint8_t function) {
  return is_read(function) || function == kWriteSingleCoil || function == kWriteSingleRegister ||
         function == kWriteMultipleCoils || function == kWriteMultipleRegisters;
}

Request read_request(Table table, uint16_t address, uint16_t count) {
  Request r;
  switch (table) {
    case Table::Coil:
      r.function = kReadCoils;
      break;
    case Table::DiscreteInput:
      r.function = kReadDiscreteInputs;
      break;
    case Table::InputRegister:
      r.function = kReadInputRegisters;
      break;
    case Table::HoldingRegister:
      r.function = kReadHoldingRegisters;
      break;
  }
  r.address = address;
  r.count = count;
  return r;
}

Request write_registers_request(uint16_t address, std::span<const uint16_t> regs,
                                bool force_multiple) {
  Request r;
  r.function = regs.size() == 1 && !force_multiple ? kWriteSingleRegister : kWriteMultipleRegisters;
  r.address = address;
  r.count = static_cast<uint16_t>(regs.size());
  r.registers.assign(regs.begin(), regs.end());
  return r;
}

Request write_coils_request(uint16_t address, std::span<const uint8_t> bits, bool force_multiple) {
  Request r;
  r.function = bits.size() == 1 && !force_multiple ? kWriteSingleCoil : kWriteMultipleCoils;
  r.address = address;
  r.count = static_cast<uint16_t>(bits.size());
  r.bits.assign(bits.begin(), bits.end());
  return r;
}

void encode_request(const Request& req, std::string& out) {
  put_u8(out, req.function);
  put_u16(out, req.address);
  switch (req.function) {
    case kWriteSingleCoil:
      put_u16(out, !req.bits.empty() && req.bits[0] != 0 ? 0xFF00 : 0x0000);
      break;
    case kWriteSingleRegister:
      put_u16(out, req.registers.empty() ? 0 : req.registers[0]);
      break;
    case kWriteMultipleCoils:
      put_u16(out, req.bits.size());
      put_u8(out, bit_bytes(req.bits.size()));
      put_bits(out, req.bits);
      break;
    case kWriteMultipleRegisters:
      put_u16(out, req.registers.size());
      put_u8(out, 2 * req.registers.size());
      for (uint16_t v : req.registers) put_u16(out, v);
      break;
    default:  // reads
      put_u16(out, req.count);
      break;
  }
}

Result<Response> decode_response(std::string_view pdu, const Request& req) {
  if (pdu.empty()) return unexpected(Error{"empty response"});
  Response resp;
  resp.function = byte_at(pdu, 0);
  if (resp.function == (req.function | 0x80)) {
    if (pdu.size() != 2) {
      return unexpected(
          Error{fmt::format("exception response of {} bytes, expected 2", pdu.size())});
    }
    resp.exception = byte_at(pdu, 1);
    if (resp.exception == 0) return unexpected(Error{"exception response with code 0"});
    return resp;
  }
  if (resp.function != req.function) {
    return unexpected(
        Error{fmt::format("response function {}, expected {}", resp.function, req.function)});
  }
  if (is_read(req.function)) {
    const size_t want = read_data_bytes(req);
    if (pdu.size() < 2) return unexpected(Error{"read response without a byte count"});
    const size_t count = byte_at(pdu, 1);
    if (count != want) {
      return unexpected(Error{fmt::format("byte count {}, expected {}", count, want)});
    }
    if (pdu.size() != 2 + count) {
      return unexpected(
          Error{fmt::format("read response of {} bytes, expected {}", pdu.size(), 2 + count)});
    }
    const std::string_view data = pdu.substr(2);
    if (reads_bits(req.function)) {
      resp.bits = get_bits(data, req.count);
    } else {
      resp.registers = get_registers(data, req.count);
    }
    return resp;
  }
  // Writes echo the address and the value (single) or the quantity (multiple).
  if (pdu.size() != 5) {
    return unexpected(Error{fmt::format("write response of {} bytes, expected 5", pdu.size())});
  }
  const uint16_t address = u16_at(pdu, 1);
  const uint16_t echoed = u16_at(pdu, 3);
  uint16_t expected = req.count;
  if (req.function == kWriteSingleCoil) {
    expected = !req.bits.empty() && req.bits[0] != 0 ? 0xFF00 : 0x0000;
  } else if (req.function == kWriteSingleRegister) {
    expected = req.registers.empty() ? 0 : req.registers[0];
  }
  if (address != req.address || echoed != expected) {
    return unexpected(Error{fmt::format("write echo {}/{} does not match request {}/{}", address,
                                        echoed, req.address, expected)});
  }
  return resp;
}

std::string exception_text(uint8_t code) {
  const char* what = nullptr;
  switch (code) {
    case 1:
      what = "illegal function";
      break;
    case 2:
      what = "illegal data address";
      break;
    case 3:
      what = "illegal data value";
      break;
    case 4:
      what = "server device failure";
      break;
    case 5:
      what = "acknowledge";
      break;
    case 6:
      what = "server device busy";
      break;
    case 8:
      what = "memory parity error";
      break;
    case 10:
      what = "gateway path unavailable";
      break;
    case 11:
      what = "gateway target device failed to respond";
      break;
    default:
      return fmt::format("exception {}", code);
  }
  return fmt::format("exception {}: {}", code, what);
}

Result<Request> decode_request(std::string_view pdu) {
  if (pdu.empty()) return unexpected(Error{"empty request"});
  Request req;
  req.function = byte_at(pdu, 0);
  if (!is_supported_function(req.function)) {
    return unexpected(Error{fmt::format("unsupported function {}", req.function)});
  }
  if (pdu.size() < 5) return unexpected(Error{"request too short"});
  req.address = u16_at(pdu, 1);
  const uint16_t field = u16_at(pdu, 3);
  if (is_read(req.function) || req.function == kWriteSingleCoil ||
      req.function == kWriteSingleRegister) {
    if (pdu.size() != 5) return unexpected(Error{"request has trailing bytes"});
  }
  switch (req.function) {
    case kWriteSingleCoil:
      if (field != 0xFF00 && field != 0x0000) {
        return unexpected(Error{fmt::format("coil value {:#06x}, expected 0xff00 or 0", field)});
      }
      req.count = 1;
      req.bits = {static_cast<uint8_t>(field == 0xFF00 ? 1 : 0)};
      return req;
    case kWriteSingleRegister:
      req.count = 1;
      req.registers = {field};
      return req;
    case kWriteMultipleCoils:
    case kWriteMultipleRegisters: {
      const bool coils = req.function == kWriteMultipleCoils;
      const uint16_t limit = coils ? kMaxWriteCoils : kMaxWriteRegisters;
      if (field == 0 || field > limit) {
        return unexpected(Error{fmt::format("quantity {} outside 1..{}", field, limit)});
      }
      const size_t bytes = coils ? bit_bytes(field) : 2u * field;
      if (pdu.size() < 6 || byte_at(pdu, 5) != bytes) {
        return unexpected(Error{fmt::format("byte count does not match quantity {}", field)});
      }
      if (pdu.size() != 6 + bytes) return unexpected(Error{"request length does not match"});
      req.count = field;
      if (coils) {
        req.bits = get_bits(pdu.substr(6), field);
      } else {
        req.registers = get_registers(pdu.substr(6), field);
      }
      return req;
    }
    default: {  // reads
      const uint16_t limit = reads_bits(req.function) ? kMaxReadBits : kMaxReadRegisters;
      if (field == 0 || field > limit) {
        return unexpected(Error{fmt::format("quantity {} outside 1..{}", field, limit)});
      }
      req.count = field;
      return req;
    }
  }
}

void encode_response(const Request& req, const Response& resp, std::string& out) {
  if (resp.exception != 0) {
    encode_exception(req.function, resp.exception, out);
    return;
  }
  if (is_read(req.function)) {
    put_u8(out, req.function);
    if (reads_bits(req.function)) {
      put_u8(out, bit_bytes(resp.bits.size()));
      put_bits(out, resp.bits);
    } else {
      put_u8(out, 2 * resp.registers.size());
      for (uint16_t v : resp.registers) put_u16(out, v);
    }
    return;
  }
  // Writes: the reply is the request's first five bytes.
  const size_t start = out.size();
  encode_request(req, out);
  out.resize(start + 5);
}

void encode_exception(uint8_t function, uint8_t code, std::string& out) {
  put_u8(out, function | 0x80);
  put_u8(out, code);
}

}  // namespace verge::devices::modbus

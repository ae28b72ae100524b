#include "devices/adapters/modbus/frame.h"

#include <fmt/format.h>

namespace verge::devices::modbus {
namespace {

uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
uint16_t u16_at(std::string_view s, size_t i) {
  return static_cast<uint16_t>((byte_at(s, i) << 8) | byte_at(s, i + 1));
}

constexpr size_t kMbapHeader = 7;   // transaction, protocol, length, unit
constexpr size_t kMaxPdu = 253;     // 256-byte RTU ADU minus address and CRC
constexpr size_t kRtuOverhead = 3;  // unit + CRC

// Checks the CRC of the `size`-byte RTU frame at the front of `in` and returns it.
Result<std::optional<RtuFrame>> finish_rtu(std::string_view in, size_t size) {
  if (in.size() < size) return std::optional<RtuFrame>{};
  const uint16_t crc = crc16(in.substr(0, size - 2));
  const uint16_t got = static_cast<uint16_t>(byte_at(in, size - 2) | (byte_at(in, size - 1) << 8));
  if (crc != got) {
    return unexpected(Error{fmt::format("bad CRC {:#06x}, expected {:#06x}", got, crc)});
  }
  RtuFrame f;
  f.unit = byte_at(in, 0);
  f.pdu = in.substr(1, size - kRtuOverhead);
  f.size = size;
  return std::optional<RtuFrame>{f};
}

}  // namespace

void frame_tcp(uint16_t transaction, uint8_t unit, std::string_view pdu, std::string& out) {
  const size_t length = pdu.size() + 1;
  out += static_cast<char>(transaction >> 8);
  out += static_cast<char>(transaction & 0xff);
  out += '\0';
  out += '\0';
  out += static_cast<char>((length >> 8) & 0xff);
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(unit);
  out.append(pdu);
}

Result<std::optional<TcpFrame>> parse_tcp_frame(std::string_view in) {
  // Check the header fields as soon as they arrive, so garbage fails before we wait for more.
  if (in.size() >= 4 && u16_at(in, 2) != 0) {
    return unexpected(Error{fmt::format("MBAP protocol id {}, expected 0", u16_at(in, 2))});
  }
  if (in.size() < 6) return std::optional<TcpFrame>{};
  const size_t length = u16_at(in, 4);  // unit id + PDU
  if (length < 2 || length > kMaxPdu + 1) {
    return unexpected(Error{fmt::format("MBAP length {} outside 2..{}", length, kMaxPdu + 1)});
  }
  const size_t size = 6 + length;
  if (in.size() < size) return std::optional<TcpFrame>{};
  TcpFrame f;
  f.transaction = u16_at(in, 0);
  f.unit = byte_at(in, 6);
  f.pdu = in.substr(kMbapHeader, size - kMbapHeader);
  f.size = size;
  return std::optional<TcpFrame>{f};
}

uint16_t crc16(std::string_view bytes) {
  uint16_t crc = 0xFFFF;
  for (char c : bytes) {
    crc ^= static_cast<uint8_t>(c);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 1) != 0 ? static_cast<uint16_t>((crc >> 1) ^ 0xA001)
                           : static_cast<uint16_t>(crc >> 1);
    }
  }
  return crc;
}

void frame_rtu(uint8_t unit, std::string_view pdu, std::string& out) {
  const size_t start = out.size();
  out += static_cast<char>(unit);
  out.append(pdu);
  const uint16_t crc = crc16(std::string_view(out).substr(start));
  out += static_cast<char>(crc & 0xff);  // low byte first
  out += static_cast<char>(crc >> 8);
}

Result<std::optional<RtuFrame>> parse_rtu_response(std::string_view in, const Request& req) {
  if (in.size() < 2) return std::optional<RtuFrame>{};
  const uint8_t function = byte_at(in, 1);
  if (function == (req.function | 0x80)) return finish_rtu(in, kRtuOverhead + 2);
  if (function != req.function) {
    return unexpected(
        Error{fmt::format("response function {}, expected {}", function, req.function)});
  }
  switch (req.function) {
    case kReadCoils:
    case kReadDiscreteInputs:
    case kReadHoldingRegisters:
    case kReadInputRegisters: {
      // Wait for the byte count, then trust the request over it: a wrong count is an error now
      // rather than a wait for bytes that never come.
      if (in.size() < 3) return std::optional<RtuFrame>{};
      const bool bits = req.function == kReadCoils || req.function == kReadDiscreteInputs;
      const size_t want = bits ? (req.count + 7u) / 8u : 2u * req.count;
      const size_t count = byte_at(in, 2);
      if (count != want || want > kMaxPdu - 2) {
        return unexpected(Error{fmt::format("byte count {}, expected {}", count, want)});
      }
      return finish_rtu(in, kRtuOverhead + 2 + count);
    }
    default:  // writes echo five bytes
      return finish_rtu(in, kRtuOverhead + 5);
  }
}

Result<std::optional<RtuFrame>> parse_rtu_request(std::string_view in) {
  if (in.size() < 2) return std::optional<RtuFrame>{};
  const uint8_t function = byte_at(in, 1);
  switch (function) {
    case kReadCoils:
    case kReadDiscreteInputs:
    case kReadHoldingRegisters:
    case kReadInputRegisters:
    case kWriteSingleCoil:
    case kWriteSingleRegister:
      return finish_rtu(in, kRtuOverhead + 5);
    case kWriteMultipleCoils:
    case kWriteMultipleRegisters: {
      if (in.size() < 7) return std::optional<RtuFrame>{};
      const size_t count = byte_at(in, 6);
      if (count > kMaxPdu - 6) {
        return unexpected(Error{fmt::format("byte count {} too large", count)});
      }
      return finish_rtu(in, kRtuOverhead + 6 + count);
    }
    default:
      // Without a length the frame's end is unknowable: the line has to resynchronise.
      return unexpected(Error{fmt::format("unsupported function {}", function)});
  }
}

}  // namespace verge::devices::modbus

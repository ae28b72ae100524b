// Modbus framing: MBAP for TCP (transaction id, unit id, length) and RTU for serial lines
// (address, PDU, CRC-16). Decoders are fuzzed with the PDU decoder (fuzz/modbus_fuzz.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "devices/adapters/modbus/pdu.h"

namespace verge::devices::modbus {

// ---- TCP (MBAP header: transaction, protocol 0, length, unit) ----
void frame_tcp(uint16_t transaction, uint8_t unit, std::string_view pdu, std::string& out);

struct TcpFrame {
  uint16_t transaction = 0;
  uint8_t unit = 0;
  std::string_view pdu;  // points into the input
  size_t size = 0;       // bytes of the whole frame (to consume)
};
// The frame at the front of `in`: nullopt when more bytes are needed; an error when the header
// cannot be Modbus (protocol id not 0, length below 2 or above 254: unit id plus a PDU).
Result<std::optional<TcpFrame>> parse_tcp_frame(std::string_view in);

// ---- RTU (unit, PDU, CRC-16/MODBUS little-endian) ----
uint16_t crc16(std::string_view bytes);
void frame_rtu(uint8_t unit, std::string_view pdu, std::string& out);

struct RtuFrame {
  uint8_t unit = 0;
  std::string_view pdu;
  size_t size = 0;
};
// The response to `req` at the front of `in`. RTU frames carry no length, so the expected size
// follows from the request (or from the exception form). nullopt: more bytes needed; error: bad
// CRC or impossible frame.
Result<std::optional<RtuFrame>> parse_rtu_response(std::string_view in, const Request& req);
// The simulator's side: a request frame at the front of `in`.
Result<std::optional<RtuFrame>> parse_rtu_request(std::string_view in);

}  // namespace verge::devices::modbus

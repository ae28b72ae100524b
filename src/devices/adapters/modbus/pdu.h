// Modbus application protocol (PDU) encoding and decoding, shared by the TCP and RTU adapters
// and the simulator. Pure functions over bytes; every decoder checks every length and is fuzzed
// (fuzz/modbus_fuzz.cc). Reference: Modbus Application Protocol Specification V1.1b3.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace verge::devices::modbus {

enum class Table : uint8_t { Coil, DiscreteInput, InputRegister, HoldingRegister };
const char* table_name(Table t);  // "coil", "discrete", "input", "holding"
inline bool is_bit_table(Table t) { return t == Table::Coil || t == Table::DiscreteInput; }

// Protocol limits per request.
constexpr uint16_t kMaxReadRegisters = 125;
constexpr uint16_t kMaxReadBits = 2000;
constexpr uint16_t kMaxWriteRegisters = 123;
constexpr uint16_t kMaxWriteCoils = 1968;

enum Function : uint8_t {
  kReadCoils = 1,
  kReadDiscreteInputs = 2,
  kReadHoldingRegisters = 3,
  kReadInputRegisters = 4,
  kWriteSingleCoil = 5,
  kWriteSingleRegister = 6,
  kWriteMultipleCoils = 15,
  kWriteMultipleRegisters = 16,
};

// One request. Reads use table/address/count; register writes `registers`, coil writes `bits`.
struct Request {
  uint8_t function = kReadHoldingRegisters;
  uint16_t address = 0;  // 0-based
  uint16_t count = 0;    // reads: registers or bits to read; writes: registers or coils written
  std::vector<uint16_t> registers;
  std::vector<uint8_t> bits;  // 0 or 1
};

Request read_request(Table table, uint16_t address, uint16_t count);
// Function 6 for one register, 16 for more (some devices support only one of them: `force_multiple`
// always uses 16).
Request write_registers_request(uint16_t address, std::span<const uint16_t> regs,
                                bool force_multiple = false);
Request write_coils_request(uint16_t address, std::span<const uint8_t> bits,
                            bool force_multiple = false);

// Appends the PDU (function code and data) of `req`.
void encode_request(const Request& req, std::string& out);

struct Response {
  uint8_t function = 0;
  uint8_t exception = 0;            // non-zero: the device answered with this exception code
  std::vector<uint16_t> registers;  // functions 3 and 4
  std::vector<uint8_t> bits;        // functions 1 and 2: one entry (0/1) per requested bit
};

// Decodes the response PDU to `req`: the function must match (or be it | 0x80 with an exception
// code), byte counts must fit the request, writes must echo address and count/value. An error
// means a malformed or mismatched response (the adapter counts it and, on TCP, reconnects).
Result<Response> decode_response(std::string_view pdu, const Request& req);

// "exception 2: illegal data address"
std::string exception_text(uint8_t code);

// The server side (the simulator): decodes a request PDU, and encodes a response or exception.
// An error answers with exception 1 (illegal function) when !is_supported_function(pdu[0]),
// else with exception 3 (illegal data value: bad quantity, byte count or coil value), as the
// specification's request-processing state diagram says. Address ranges are the server's check.
bool is_supported_function(uint8_t function);
Result<Request> decode_request(std::string_view pdu);
void encode_response(const Request& req, const Response& resp, std::string& out);
void encode_exception(uint8_t function, uint8_t code, std::string& out);

}  // namespace verge::devices::modbus

// Modbus point addresses and values: where a point lives, how many registers it spans, and
// the conversion between registers and typed values (byte and word order). Also the batching
// plan: due points merged into as few read requests as the protocol allows.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "devices/adapters/modbus/pdu.h"
#include "devices/types.h"

namespace verge::devices::modbus {

struct PointAddress {
  Table table = Table::HoldingRegister;
  uint16_t offset = 0;  // 0-based register or bit number
  int8_t bit = -1;      // 0..15: a bool taken from one bit of a register ("holding:10.3")
};

// "holding:100", "input:0", "coil:5", "discrete:7", "holding:10.3" (0-based), or the classic
// 1-based forms 00001-09999 (coil), 10001- (discrete), 30001- (input), 40001- (holding) and
// their six-digit variants (400001-465536). Errors say what is wrong with the text.
Result<PointAddress> parse_address(std::string_view text);

// Registers (or bits) the point spans: bool 1, 16-bit 1, 32-bit 2, 64-bit 4, string length/2.
uint16_t span_of(const PointSpec& point, const PointAddress& addr);
// Checks a point against its address: type fits the table (bit tables hold only bools, a bit of
// a register only a bool), string length given (1..250 bytes; an odd length leaves the last
// register's low byte unused), writable only in coils and holding, and not a bit of a register.
Result<void> check_point(const PointSpec& point, const PointAddress& addr);

// Raw typed value from the point's registers (bool, int64 for integer types, double for floats,
// string with trailing NULs dropped). `regs` has span_of() entries.
Value decode_registers(const PointSpec& point, const PointAddress& addr,
                       std::span<const uint16_t> regs);
// Registers for a raw value (already of the point's type). Error: out of range for the type.
Result<std::vector<uint16_t>> encode_registers(const PointSpec& point, const Value& raw);

// One read request of a plan and which points it carries.
struct PlannedRead {
  Table table = Table::HoldingRegister;
  uint16_t address = 0;
  uint16_t count = 0;
  struct Slot {
    uint32_t point;   // index into the profile's points
    uint16_t offset;  // first register (or bit) of the point within this request
  };
  std::vector<Slot> slots;
};

struct PlanLimits {
  uint16_t max_registers = kMaxReadRegisters;  // per request (some devices accept fewer)
  uint16_t max_bits = kMaxReadBits;
  uint16_t max_gap = 0;  // unused registers a request may span to join two runs
};

// Merges the given points into as few requests as the limits allow: points of one table sorted
// by address, runs joined while the request stays within the limits. `points[i]` is read from
// `addrs[i]`; `due` lists the indexes to read.
std::vector<PlannedRead> plan_reads(std::span<const PointSpec> points,
                                    std::span<const PointAddress> addrs,
                                    std::span<const uint32_t> due, const PlanLimits& limits);

}  // namespace verge::devices::modbus

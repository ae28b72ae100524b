#include "devices/adapters/modbus/registers.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace verge::devices::modbus {
namespace {

// Digits only (no sign, no spaces), as an unsigned number; nullopt when not all digits or huge.
std::optional<uint32_t> parse_digits(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Table> parse_table(std::string_view s) {
  if (s == "coil") return Table::Coil;
  if (s == "discrete") return Table::DiscreteInput;
  if (s == "input") return Table::InputRegister;
  if (s == "holding") return Table::HoldingRegister;
  return std::nullopt;
}

// The ".3" suffix of a register address.
Result<int8_t> parse_bit(std::string_view s, Table table) {
  if (is_bit_table(table)) {
    return unexpected(
        Error{fmt::format("a bit number needs a register table (input, holding), "
                          "not {}",
                          table_name(table))});
  }
  auto bit = parse_digits(s);
  if (!bit || *bit > 15) {
    return unexpected(Error{fmt::format("bit '{}' is not a number in 0..15", s)});
  }
  return static_cast<int8_t>(*bit);
}

// "00001".."09999", "400001".."465536" and the like: the first digit names the table, the rest
// is a 1-based number.
Result<PointAddress> parse_classic(std::string_view number) {
  if (number.size() != 5 && number.size() != 6) {
    return unexpected(
        Error{fmt::format("'{}' is neither table:number (holding:0) nor a classic "
                          "5- or 6-digit address (40001)",
                          number)});
  }
  PointAddress a;
  switch (number[0]) {
    case '0':
      a.table = Table::Coil;
      break;
    case '1':
      a.table = Table::DiscreteInput;
      break;
    case '3':
      a.table = Table::InputRegister;
      break;
    case '4':
      a.table = Table::HoldingRegister;
      break;
    default:
      return unexpected(Error{fmt::format(
          "classic address '{}' starts with {}, expected 0, 1, 3 or 4", number, number[0])});
  }
  auto n = parse_digits(number.substr(1));
  const uint32_t max = number.size() == 5 ? 9999 : 65536;
  if (!n || *n < 1 || *n > max) {
    return unexpected(
        Error{fmt::format("classic address '{}': number outside 1..{} (1-based)", number, max)});
  }
  a.offset = static_cast<uint16_t>(*n - 1);
  return a;
}

// Value words in big-endian (ABCD) order from the registers as the device lays them out; the
// mapping is its own inverse, so encoding uses it too.
uint16_t canonical_word(std::span<const uint16_t> regs, size_t i, const PointSpec& p) {
  const uint16_t w = regs[p.word_swap ? regs.size() - 1 - i : i];
  return p.byte_swap ? static_cast<uint16_t>((w >> 8) | (w << 8)) : w;
}
uint64_t assemble(std::span<const uint16_t> regs, const PointSpec& p) {
  uint64_t v = 0;
  for (size_t i = 0; i < regs.size(); ++i) v = (v << 16) | canonical_word(regs, i, p);
  return v;
}
std::vector<uint16_t> split(uint64_t v, size_t words, const PointSpec& p) {
  std::vector<uint16_t> canonical(words);
  for (size_t i = 0; i < words; ++i) {
    canonical[words - 1 - i] = static_cast<uint16_t>(v & 0xffff);
    v >>= 16;
  }
  std::vector<uint16_t> regs(words);
  for (size_t i = 0; i < words; ++i) regs[i] = canonical_word(canonical, i, p);
  return regs;
}

// Bytes of a string point: high byte first in each register (low first with byte_swap), cut at
// the first NUL. Bytes outside printable ASCII become '?' so the value is valid JSON text.
Value decode_string(const PointSpec& p, std::span<const uint16_t> regs) {
  std::string s;
  s.reserve(p.length);
  for (size_t i = 0; i < p.length && i / 2 < regs.size(); ++i) {
    const uint16_t w = regs[i / 2];
    const bool high = (i % 2 == 0) != p.byte_swap;
    const auto c = static_cast<uint8_t>(high ? w >> 8 : w & 0xff);
    if (c == 0) break;
    s += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  return Value(std::move(s));
}

Result<int64_t> integer_of(const PointSpec& p, const Value& raw) {
  if (raw.is_int()) return raw.as_int();
  if (raw.is_bool()) return int64_t{raw.as_bool() ? 1 : 0};
  if (raw.is_float()) {
    const double d = raw.as_float();
    // 2^63 is exact as a double; anything at or above it does not fit.
    if (!std::isfinite(d) || d != std::trunc(d) || d < -9223372036854775808.0 ||
        d >= 9223372036854775808.0) {
      return unexpected(
          Error{fmt::format("{} is not an integer for {}", d, data_type_name(p.type))});
    }
    return static_cast<int64_t>(d);
  }
  return unexpected(Error{fmt::format("expected a number for {}, got {}", data_type_name(p.type),
                                      Value::type_name(raw.type()))});
}

Result<void> check_range(const PointSpec& p, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return unexpected(
        Error{fmt::format("{} out of range for {} ({}..{})", v, data_type_name(p.type), lo, hi)});
  }
  return {};
}

Result<std::vector<uint16_t>> encode_string(const PointSpec& p, const Value& raw) {
  if (!raw.is_string()) {
    return unexpected(
        Error{fmt::format("expected a string, got {}", Value::type_name(raw.type()))});
  }
  const std::string& s = raw.as_string();
  if (s.size() > p.length) {
    return unexpected(
        Error{fmt::format("string of {} bytes exceeds the point's length {}", s.size(), p.length)});
  }
  std::vector<uint16_t> regs((p.length + 1u) / 2u, 0);  // NUL padded
  for (size_t i = 0; i < s.size(); ++i) {
    const bool high = (i % 2 == 0) != p.byte_swap;
    const auto c = static_cast<uint8_t>(s[i]);
    regs[i / 2] = static_cast<uint16_t>(regs[i / 2] | (high ? c << 8 : c));
  }
  return regs;
}

}  // namespace

Result<PointAddress> parse_address(std::string_view text) {
  if (text.empty()) return unexpected(Error{"empty address"});
  const size_t colon = text.find(':');
  std::string_view number = colon == std::string_view::npos ? text : text.substr(colon + 1);
  std::string_view bit;
  if (const size_t dot = number.find('.'); dot != std::string_view::npos) {
    bit = number.substr(dot + 1);
    number = number.substr(0, dot);
    if (bit.empty()) return unexpected(Error{fmt::format("'{}' ends in '.' without a bit", text)});
  }
  PointAddress a;
  if (colon == std::string_view::npos) {
    auto classic = parse_classic(number);
    if (!classic) return classic;
    a = *classic;
  } else {
    auto table = parse_table(text.substr(0, colon));
    if (!table) {
      return unexpected(Error{fmt::format("unknown table '{}' (coil, discrete, input, holding)",
                                          text.substr(0, colon))});
    }
    a.table = *table;
    auto n = parse_digits(number);
    if (!n || *n > 65535) {
      return unexpected(
          Error{fmt::format("'{}' is not a register number in 0..65535 (0-based)", number)});
    }
    a.offset = static_cast<uint16_t>(*n);
  }
  if (!bit.empty()) {
    auto b = parse_bit(bit, a.table);
    if (!b) return unexpected(b.error());
    a.bit = *b;
  }
  return a;
}

uint16_t span_of(const PointSpec& point, const PointAddress& addr) {
  if (is_bit_table(addr.table) || addr.bit >= 0) return 1;
  switch (point.type) {
    case DataType::Bool:
    case DataType::Int16:
    case DataType::Uint16:
      return 1;
    case DataType::Int32:
    case DataType::Uint32:
    case DataType::Float32:
      return 2;
    case DataType::Int64:
    case DataType::Float64:
      return 4;
    case DataType::String:
      return static_cast<uint16_t>((point.length + 1u) / 2u);
  }
  return 1;
}

Result<void> check_point(const PointSpec& point, const PointAddress& addr) {
  if (is_bit_table(addr.table) && point.type != DataType::Bool) {
    return unexpected(Error{fmt::format("type: a {} holds only bool, not {}",
                                        table_name(addr.table), data_type_name(point.type))});
  }
  if (addr.bit >= 0 && point.type != DataType::Bool) {
    return unexpected(Error{
        fmt::format("type: a register bit holds only bool, not {}", data_type_name(point.type))});
  }
  if (point.type == DataType::String) {
    if (point.length == 0) return unexpected(Error{"length: a string point needs its byte length"});
    if (point.length > 2u * kMaxReadRegisters) {
      return unexpected(Error{
          fmt::format("length: at most {} bytes (one read request)", 2u * kMaxReadRegisters)});
    }
  }
  if (point.access != Access::Read) {
    if (addr.table == Table::DiscreteInput || addr.table == Table::InputRegister) {
      return unexpected(
          Error{fmt::format("access: {} points are read-only (write needs coil or "
                            "holding)",
                            table_name(addr.table))});
    }
    if (addr.bit >= 0) {
      return unexpected(
          Error{"access: a bit of a register is read-only (writing it would need "
                "a read-modify-write of the whole register)"});
    }
  }
  if (addr.offset + span_of(point, addr) > 65536u) {
    return unexpected(Error{"address: the point runs past register 65535"});
  }
  return {};
}

Value decode_registers(const PointSpec& point, const PointAddress& addr,
                       std::span<const uint16_t> regs) {
  const uint16_t span = span_of(point, addr);
  if (regs.size() < span || span == 0) return Value();
  regs = regs.first(span);
  if (point.type == DataType::Bool) {
    if (addr.bit >= 0) return Value(((regs[0] >> addr.bit) & 1) != 0);
    return Value(regs[0] != 0);
  }
  if (point.type == DataType::String) return decode_string(point, regs);
  const uint64_t v = assemble(regs, point);
  switch (point.type) {
    case DataType::Int16:
      return Value(int64_t{static_cast<int16_t>(v)});
    case DataType::Uint16:
      return Value(static_cast<int64_t>(v & 0xffff));
    case DataType::Int32:
      return Value(int64_t{static_cast<int32_t>(v)});
    case DataType::Uint32:
      return Value(static_cast<int64_t>(v & 0xffffffff));
    case DataType::Int64:
      return Value(static_cast<int64_t>(v));
    case DataType::Float32:
      return Value(double{std::bit_cast<float>(static_cast<uint32_t>(v))});
    case DataType::Float64:
      return Value(std::bit_cast<double>(v));
    default:
      return Value();
  }
}

Result<std::vector<uint16_t>> encode_registers(const PointSpec& point, const Value& raw) {
  switch (point.type) {
    case DataType::Bool: {
      if (raw.is_bool()) return std::vector<uint16_t>{static_cast<uint16_t>(raw.as_bool())};
      auto n = raw.number();
      if (n && (*n == 0 || *n == 1)) return std::vector<uint16_t>{static_cast<uint16_t>(*n)};
      return unexpected(Error{fmt::format("expected a bool (or 0/1), got {}", raw.to_json())});
    }
    case DataType::String:
      return encode_string(point, raw);
    case DataType::Float32:
    case DataType::Float64: {
      if (!raw.is_number()) {
        return unexpected(
            Error{fmt::format("expected a number for {}, got {}", data_type_name(point.type),
                              Value::type_name(raw.type()))});
      }
      const double d = *raw.number();
      if (point.type == DataType::Float64) return split(std::bit_cast<uint64_t>(d), 4, point);
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
        return unexpected(Error{fmt::format("{} out of range for float32", d)});
      }
      return split(std::bit_cast<uint32_t>(static_cast<float>(d)), 2, point);
    }
    default:
      break;
  }
  auto v = integer_of(point, raw);
  if (!v) return unexpected(v.error());
  Result<void> ok;
  size_t words = 1;
  switch (point.type) {
    case DataType::Int16:
      ok = check_range(point, *v, INT16_MIN, INT16_MAX);
      break;
    case DataType::Uint16:
      ok = check_range(point, *v, 0, UINT16_MAX);
      break;
    case DataType::Int32:
      ok = check_range(point, *v, INT32_MIN, INT32_MAX);
      words = 2;
      break;
    case DataType::Uint32:
      ok = check_range(point, *v, 0, UINT32_MAX);
      words = 2;
      break;
    default:  // Int64: every int64 fits
      words = 4;
      break;
  }
  if (!ok) return unexpected(ok.error());
  return split(static_cast<uint64_t>(*v), words, point);
}

std::vector<PlannedRead> plan_reads(std::span<const PointSpec> points,
                                    std::span<const PointAddress> addrs,
                                    std::span<const uint32_t> due, const PlanLimits& limits) {
  struct Item {
    Table table;
    uint16_t offset;
    uint16_t span;
    uint32_t point;
  };
  std::vector<Item> items;
  items.reserve(due.size());
  for (uint32_t i : due) {
    if (i >= points.size() || i >= addrs.size()) continue;
    items.push_back({addrs[i].table, addrs[i].offset, span_of(points[i], addrs[i]), i});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.table != b.table) return a.table < b.table;
    if (a.offset != b.offset) return a.offset < b.offset;
    if (a.span != b.span) return a.span < b.span;
    return a.point < b.point;
  });
  // A point listed twice in `due` is read once.
  items.erase(std::unique(items.begin(), items.end(),
                          [](const Item& a, const Item& b) { return a.point == b.point; }),
              items.end());

  std::vector<PlannedRead> plan;
  uint32_t end = 0;  // one past the last register (or bit) of the open request
  for (const Item& it : items) {
    const bool bits = is_bit_table(it.table);
    const uint32_t max =
        std::max<uint32_t>(1, bits ? std::min(limits.max_bits, kMaxReadBits)
                                   : std::min(limits.max_registers, kMaxReadRegisters));
    const uint32_t it_end = uint32_t{it.offset} + it.span;
    if (!plan.empty()) {
      PlannedRead& open = plan.back();
      const uint32_t new_end = std::max(end, it_end);
      // Overlapping points join for free; a gap joins while it is short enough.
      const bool near = it.offset <= end || it.offset - end <= limits.max_gap;
      if (open.table == it.table && near && new_end - open.address <= max) {
        open.slots.push_back({it.point, static_cast<uint16_t>(it.offset - open.address)});
        end = new_end;
        open.count = static_cast<uint16_t>(end - open.address);
        continue;
      }
    }
    // A new request; a point longer than the device's limit still gets one of its own (it
    // cannot be split, and check_point keeps it within the protocol's).
    PlannedRead r;
    r.table = it.table;
    r.address = it.offset;
    r.count = it.span;
    r.slots.push_back({it.point, 0});
    plan.push_back(std::move(r));
    end = it_end;
  }
  return plan;
}

}  // namespace verge::devices::modbus

#include "devices/adapters/modbus/settings.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/duration.h"

namespace verge::devices::modbus {

namespace {

constexpr std::array kBauds = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400};

Result<int64_t> int_in(const Value& v, std::string_view key, int64_t lo, int64_t hi) {
  if (!v.is_int() || v.as_int() < lo || v.as_int() > hi) {
    return unexpected(
        Error{std::string(key) + ": expected " + std::to_string(lo) + ".." + std::to_string(hi)});
  }
  return v.as_int();
}

Result<int64_t> duration_in(const Value& v, std::string_view key, int64_t lo, int64_t hi) {
  auto ms = duration_ms_from_value(v);
  if (!ms) return unexpected(Error{std::string(key) + ": " + ms.error().message});
  if (*ms < lo || *ms > hi) {
    return unexpected(Error{std::string(key) + ": expected " + std::to_string(lo) + "ms.." +
                            std::to_string(hi / 1000) + "s"});
  }
  return *ms;
}

// One key shared by TCP and RTU; false when `key` is not one of them.
Result<bool> common_key(std::string_view key, const Value& v, CommonSettings& out, int64_t unit_lo,
                        int64_t unit_hi) {
  Result<int64_t> n = int64_t{0};
  if (key == "unit") {
    n = int_in(v, key, unit_lo, unit_hi);
    if (n) out.unit = static_cast<uint8_t>(*n);
  } else if (key == "timeout") {
    n = duration_in(v, key, 10, 60'000);
    if (n) out.timeout_ms = *n;
  } else if (key == "retries") {
    n = int_in(v, key, 0, 10);
    if (n) out.retries = static_cast<int>(*n);
  } else if (key == "max_registers") {
    n = int_in(v, key, 1, kMaxReadRegisters);
    if (n) out.limits.max_registers = static_cast<uint16_t>(*n);
  } else if (key == "max_bits") {
    n = int_in(v, key, 1, kMaxReadBits);
    if (n) out.limits.max_bits = static_cast<uint16_t>(*n);
  } else if (key == "max_gap") {
    n = int_in(v, key, 0, 100);
    if (n) out.limits.max_gap = static_cast<uint16_t>(*n);
  } else if (key == "backoff_max") {
    n = duration_in(v, key, 100, 3'600'000);
    if (n) out.backoff_max_ms = *n;
  } else if (key == "force_multiple_write") {
    if (!v.is_bool()) return unexpected(Error{"force_multiple_write: expected true or false"});
    out.force_multiple_write = v.as_bool();
  } else {
    return false;
  }
  if (!n) return unexpected(n.error());
  return true;
}

Result<const ValueObject*> object_of(const Value& connection) {
  if (!connection.is_object()) return unexpected(Error{"expected an object"});
  return &connection.as_object();
}

}  // namespace

std::string describe(const SerialSettings& s) {
  const char parity = s.parity == Parity::None ? 'N' : s.parity == Parity::Even ? 'E' : 'O';
  return s.path + " " + std::to_string(s.baud) + " " + std::to_string(s.data_bits) + parity +
         std::to_string(s.stop_bits);
}

Result<TcpSettings> parse_tcp_settings(const Value& connection) {
  auto members = object_of(connection);
  if (!members) return unexpected(members.error());
  TcpSettings out;
  bool has_host = false;
  for (const auto& [key, v] : **members) {
    if (key == "host") {
      if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 253) {
        return unexpected(Error{"host: expected a host name or IP address"});
      }
      out.host = v.as_string();
      has_host = true;
      continue;
    }
    if (key == "port") {
      auto n = int_in(v, key, 1, 65535);
      if (!n) return unexpected(n.error());
      out.port = static_cast<uint16_t>(*n);
      continue;
    }
    auto known = common_key(key, v, out.common, 0, 255);
    if (!known) return unexpected(known.error());
    if (!*known) {
      return unexpected(Error{key + ": unknown key (host, port, unit, timeout, retries, "
                                    "max_registers, max_bits, max_gap, backoff_max, "
                                    "force_multiple_write)"});
    }
  }
  if (!has_host) return unexpected(Error{"host: required"});
  return out;
}

Result<RtuSettings> parse_rtu_settings(const Value& connection) {
  auto members = object_of(connection);
  if (!members) return unexpected(members.error());
  RtuSettings out;
  bool has_port = false;
  for (const auto& [key, v] : **members) {
    if (key == "port") {
      if (!v.is_string() || v.as_string().empty() || v.as_string().front() != '/') {
        return unexpected(Error{"port: expected the serial device's path (/dev/ttyUSB0)"});
      }
      out.serial.path = v.as_string();
      has_port = true;
    } else if (key == "baud") {
      if (!v.is_int() || std::find(kBauds.begin(), kBauds.end(), v.as_int()) == kBauds.end()) {
        return unexpected(
            Error{"baud: expected 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 or 230400"});
      }
      out.serial.baud = static_cast<int>(v.as_int());
    } else if (key == "parity") {
      const std::string p = v.is_string() ? v.as_string() : "";
      if (p == "N" || p == "n" || p == "none") {
        out.serial.parity = Parity::None;
      } else if (p == "E" || p == "e" || p == "even") {
        out.serial.parity = Parity::Even;
      } else if (p == "O" || p == "o" || p == "odd") {
        out.serial.parity = Parity::Odd;
      } else {
        return unexpected(Error{"parity: expected N, E or O"});
      }
    } else if (key == "data_bits") {
      if (!v.is_int() || (v.as_int() != 7 && v.as_int() != 8)) {
        return unexpected(Error{"data_bits: expected 7 or 8"});
      }
      out.serial.data_bits = static_cast<int>(v.as_int());
    } else if (key == "stop_bits") {
      if (!v.is_int() || (v.as_int() != 1 && v.as_int() != 2)) {
        return unexpected(Error{"stop_bits: expected 1 or 2"});
      }
      out.serial.stop_bits = static_cast<int>(v.as_int());
    } else {
      auto known = common_key(key, v, out.common, 1, 247);
      if (!known) return unexpected(known.error());
      if (!*known) {
        return unexpected(Error{key + ": unknown key (port, baud, parity, data_bits, stop_bits, "
                                      "unit, timeout, retries, max_registers, max_bits, "
                                      "max_gap, backoff_max, force_multiple_write)"});
      }
    }
  }
  if (!has_port) return unexpected(Error{"port: required (the serial device's path)"});
  return out;
}

}  // namespace verge::devices::modbus

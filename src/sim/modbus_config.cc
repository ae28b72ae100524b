#include "sim/modbus_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace verge::sim {

std::string sim_config_yaml(const ModbusLayout& layout, std::string_view host,
                            std::span<const uint16_t> ports, std::string_view poll) {
  const std::string profile = fmt::format("sim-{}", layout.points().size());
  std::string out = fmt::format(
      "# Written by `verge sim modbus`: {} simulated devices of {} points "
      "(docs/devices/modbus-sim.md).\n"
      "profiles:\n"
      "  - name: {}\n"
      "    protocol: modbus-tcp\n"
      "    poll: {}\n"
      "    points:\n",
      ports.size(), layout.points().size(), profile, poll);
  for (const SimPoint& p : layout.points()) {
    const auto& s = p.spec;
    out += fmt::format("      - {{name: {}, address: \"{}\", type: {}", s.name, s.address,
                       devices::data_type_name(s.type));
    if (s.scale != 1.0) out += fmt::format(", scale: {}", s.scale);
    if (!s.unit.empty()) out += fmt::format(", unit: \"{}\"", s.unit);
    out += fmt::format(", access: {}}}\n", devices::access_name(s.access));
  }
  out += "devices:\n";
  for (size_t i = 0; i < ports.size(); ++i) {
    out += fmt::format(
        "  - id: sim-{}\n"
        "    profile: {}\n"
        "    connection: {{host: {}, port: {}, unit: 1}}\n"
        "    poll: {}\n",
        i, profile, host, ports[i], poll);
  }
  return out;
}

std::string ports_json(std::span<const uint16_t> ports) {
  std::string out = "{\"ports\":[";
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i != 0) out += ',';
    out += std::to_string(ports[i]);
  }
  out += "]}\n";
  return out;
}

Result<void> write_file_atomically(const std::string& path, std::string_view text) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    return unexpected(Error{fmt::format("cannot write '{}': {}", tmp, std::strerror(errno))});
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return unexpected(Error{fmt::format("cannot write '{}': {}", path, why)});
  }
  return {};
}

}  // namespace verge::sim

// What `verge sim modbus` writes for others to use: the node configuration that polls the
// simulated devices (--config-out), and the ports they listen on (--ports-file).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sim/modbus_layout.h"

namespace verge::sim {

// A node config fragment (profiles: and devices:, docs/devices.md) with one profile "sim-<M>"
// of protocol modbus-tcp describing `layout`, and devices sim-0 .. sim-(N-1) at `host` on the
// given ports, unit 1, polled every `poll` (duration text, e.g. "1s").
std::string sim_config_yaml(const ModbusLayout& layout, std::string_view host,
                            std::span<const uint16_t> ports, std::string_view poll);

// {"ports":[5020,5021]}
std::string ports_json(std::span<const uint16_t> ports);

// Writes `text` to a temporary file beside `path` and renames it over `path`, so a reader
// polling for the file never sees it half written.
Result<void> write_file_atomically(const std::string& path, std::string_view text);

}  // namespace verge::sim

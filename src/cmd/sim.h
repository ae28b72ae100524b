// `verge sim modbus`: serves simulated Modbus TCP devices until SIGINT/SIGTERM (src/sim/,
// docs/devices/modbus-sim.md). Exit 0 after a signal, 2 for bad options, 1 when a port cannot
// be bound or a file cannot be written.
#pragma once

#include <cstdint>
#include <string>

namespace verge::cmd {

struct SimModbusOptions {
  uint32_t devices = 1;              // --devices
  uint32_t points = 100;             // --points
  std::string listen = "127.0.0.1";  // --listen
  uint32_t port = 5020;              // --port: first device's port; 0 = each picks a free one
  std::string ports_file;            // --ports-file: {"ports":[...]} once all are bound
  std::string config_out;            // --config-out: node config polling the devices
  std::string poll = "1s";           // --poll: the devices' poll interval in that config
  uint32_t threads = 1;              // --threads: event loops
  uint32_t latency_ms = 0;           // --latency-ms: every reply delayed by this much
};

int run_sim_modbus(const SimModbusOptions& options);

}  // namespace verge::cmd

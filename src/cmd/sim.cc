#include "cmd/sim.h"

#include <cstdio>

#include "cmd/stop_signals.h"
#include "core/duration.h"
#include "core/log.h"
#include "net/loop_group.h"
#include "sim/modbus_config.h"
#include "sim/modbus_server.h"

namespace verge::cmd {
namespace {

// Limits that keep every table within 65,536 registers and the process within reason.
constexpr uint32_t kMaxDevices = 10000;
constexpr uint32_t kMaxPoints = 50000;
constexpr uint32_t kMaxThreads = 256;

bool check_options(const SimModbusOptions& o) {
  const char* error = nullptr;
  if (o.devices < 1 || o.devices > kMaxDevices) error = "--devices: expected 1..10000";
  if (o.points < 1 || o.points > kMaxPoints) error = "--points: expected 1..50000";
  if (o.port > 65535) error = "--port: expected 0..65535";
  if (o.threads < 1 || o.threads > kMaxThreads) error = "--threads: expected 1..256";
  if (o.latency_ms > 60000) error = "--latency-ms: expected 0..60000";
  if (!parse_duration_ms(o.poll)) error = "--poll: expected a duration (500ms, 1s, 5m)";
  if (error != nullptr) {
    std::fprintf(stderr, "verge sim modbus: %s\n", error);
    return false;
  }
  return true;
}

}  // namespace

int run_sim_modbus(const SimModbusOptions& o) {
  if (!check_options(o)) return 2;
  StopSignals stop;  // before any thread starts

  net::LoopGroup loops(o.threads);
  sim::ModbusSimOptions so;
  so.devices = o.devices;
  so.points = o.points;
  so.listen = o.listen;
  so.port = static_cast<uint16_t>(o.port);
  so.latency_ms = o.latency_ms;
  auto server = sim::ModbusSimServer::start(loops, so);
  if (!server) {
    std::fprintf(stderr, "verge sim modbus: %s\n", server.error().message.c_str());
    return 1;
  }
  const std::vector<uint16_t> ports = (*server)->ports();
  // The config is written before the ports file: a reader waiting for the ports finds both.
  if (!o.config_out.empty()) {
    const std::string host = o.listen == "0.0.0.0" ? "127.0.0.1"
                             : o.listen == "::"    ? "::1"
                                                   : o.listen;
    auto r = sim::write_file_atomically(
        o.config_out, sim::sim_config_yaml((*server)->layout(), host, ports, o.poll));
    if (!r) {
      std::fprintf(stderr, "verge sim modbus: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  if (!o.ports_file.empty()) {
    auto r = sim::write_file_atomically(o.ports_file, sim::ports_json(ports));
    if (!r) {
      std::fprintf(stderr, "verge sim modbus: %s\n", r.error().message.c_str());
      return 1;
    }
  }
  loops.start();
  std::printf("serving %u devices x %u points on %s:%u..%u\n", o.devices, o.points,
              o.listen.c_str(), ports.front(), ports.back());
  std::fflush(stdout);

  log_info("shutting down", {{"signal", stop.wait()}});
  loops.stop();
  server->reset();
  return 0;
}

}  // namespace verge::cmd

// Serves simulated Modbus TCP devices (`verge sim modbus`): one listener per device on the
// project's event loops, any unit id accepted, requests answered in order per connection, each
// optionally delayed to play a slow device.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/result.h"
#include "net/acceptor.h"
#include "net/loop_group.h"
#include "sim/modbus_device.h"
#include "sim/modbus_layout.h"

namespace verge::sim {

struct ModbusSimOptions {
  uint32_t devices = 1;
  uint32_t points = 100;
  std::string listen = "127.0.0.1";
  uint16_t port = 5020;  // device k listens on port + k; 0: each picks a free port
  uint32_t latency_ms = 0;
};

class SimConnection;

class ModbusSimServer {
 public:
  // Binds every listener (the loops may start before or after). Errors name the port at fault.
  static Result<std::unique_ptr<ModbusSimServer>> start(net::LoopGroup& loops,
                                                        const ModbusSimOptions& options);
  // Stop the loops first: connections still open are closed here.
  ~ModbusSimServer();
  ModbusSimServer(const ModbusSimServer&) = delete;
  ModbusSimServer& operator=(const ModbusSimServer&) = delete;

  const ModbusLayout& layout() const { return layout_; }
  std::vector<uint16_t> ports() const;

 private:
  friend class SimConnection;
  ModbusSimServer(uint32_t points, uint32_t latency_ms)
      : layout_(points), latency_ms_(latency_ms) {}

  ModbusLayout layout_;
  uint32_t latency_ms_;
  std::vector<std::unique_ptr<SimDevice>> devices_;
  std::vector<std::unique_ptr<net::Acceptor>> acceptors_;
  std::vector<std::unordered_set<SimConnection*>> live_;  // per loop, touched by its thread only
};

}  // namespace verge::sim

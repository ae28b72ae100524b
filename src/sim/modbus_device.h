// One simulated Modbus device: answers request PDUs from its layout, computing each point's value
// from the time of the request, and keeps what clients wrote to its writable points.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "devices/adapters/modbus/pdu.h"
#include "sim/modbus_layout.h"

namespace verge::sim {

class SimDevice {
 public:
  SimDevice(const ModbusLayout& layout, uint32_t index);

  // Appends the response PDU to `request_pdu` to `out`: the data, a write's echo, or an
  // exception (1 unknown function, 2 outside the device's registers or a read-only point
  // written, 3 a bad quantity or malformed request). Thread-safe.
  void handle(std::string_view request_pdu, double unix_seconds, std::string& out);

  uint32_t index() const { return index_; }

 private:
  using Request = devices::modbus::Request;
  uint8_t read_registers(const Request& req, double t, std::string& out);
  uint8_t read_coils(const Request& req, double t, std::string& out);
  uint8_t write_registers(const Request& req);
  uint8_t write_coils(const Request& req);
  bool coil_on(uint32_t offset, double t) const;

  const ModbusLayout& layout_;
  uint32_t index_;
  // Connections to one device may be served by different loops.
  std::mutex mutex_;
  std::vector<uint16_t> setpoints_;  // by holding register; only setpoint registers are used
  std::vector<int8_t> coils_;        // by coil: -1 follows its schedule, else the written 0/1
};

}  // namespace verge::sim

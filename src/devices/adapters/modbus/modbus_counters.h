// Counters of the Modbus adapters, summed over every client and line of the process, for
// /metrics (each client keeps its own in ModbusClient::Stats too). Process-wide because clients
// come and go with devices while the registry lives as long as the process; edge.cc registers
// them once.
#pragma once

#include "core/metrics.h"

namespace verge::devices::modbus {

struct ModbusCounters {
  metrics::Counter overruns;           // poll ticks skipped: the group's last cycle still ran
  metrics::Counter timeouts;           // exchanges that timed out
  metrics::Counter exceptions;         // exception answers
  metrics::Counter malformed;          // answers that were not the answer to the request
  metrics::Counter retries;            // requests sent again after a timeout or malformed answer
  metrics::Counter reconnects;         // transports reopened after a loss or an error
  metrics::Counter unsolicited_bytes;  // bytes a TCP device sent with no request in flight
};

ModbusCounters& modbus_counters();

// verge_modbus_{poll_overruns,timeouts,exceptions,malformed,retries,reconnects,
// unsolicited_bytes}_total.
void register_modbus_metrics(metrics::Registry& registry);

}  // namespace verge::devices::modbus

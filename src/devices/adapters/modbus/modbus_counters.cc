#include "devices/adapters/modbus/modbus_counters.h"

namespace verge::devices::modbus {

ModbusCounters& modbus_counters() {
  static ModbusCounters c;
  return c;
}

void register_modbus_metrics(metrics::Registry& registry) {
  registry.add_collector([](metrics::Exposition& e) {
    const ModbusCounters& c = modbus_counters();
    const auto v = [](const metrics::Counter& k) { return static_cast<double>(k.value()); };
    e.counter("verge_modbus_poll_overruns_total",
              "Modbus poll ticks skipped because the previous cycle still ran", {}, v(c.overruns));
    e.counter("verge_modbus_timeouts_total", "Modbus exchanges that timed out", {}, v(c.timeouts));
    e.counter("verge_modbus_exceptions_total", "Modbus exception answers", {}, v(c.exceptions));
    e.counter("verge_modbus_malformed_total",
              "Modbus answers that were not the answer to the request", {}, v(c.malformed));
    e.counter("verge_modbus_retries_total",
              "Modbus requests sent again after a timeout or a malformed answer", {}, v(c.retries));
    e.counter("verge_modbus_reconnects_total",
              "Modbus transports reopened after a loss or an error", {}, v(c.reconnects));
    e.counter("verge_modbus_unsolicited_bytes_total",
              "Bytes a Modbus TCP device sent with no request in flight (dropped)", {},
              v(c.unsolicited_bytes));
  });
}

}  // namespace verge::devices::modbus

#include "devices/adapters/builtin.h"

namespace verge::devices {

const AdapterRegistry& builtin_adapters() {
  static const AdapterRegistry registry = [] {
    AdapterRegistry r;
    // One line per adapter (each adapter author adds theirs here and nowhere else).
    r.add(modbus_tcp_adapter_factory());
    r.add(modbus_rtu_adapter_factory());
    r.add(http_adapter_factory());
    r.add(coap_adapter_factory());
    r.add(mqtt_adapter_factory());
    return r;
  }();
  return registry;
}

}  // namespace verge::devices

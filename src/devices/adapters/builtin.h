// The factories of the adapters compiled in; devices/adapters/builtin.cc registers them.
#pragma once

#include <memory>

#include "devices/adapter.h"

namespace verge::devices {

std::unique_ptr<AdapterFactory> modbus_tcp_adapter_factory();  // adapters/modbus/
std::unique_ptr<AdapterFactory> modbus_rtu_adapter_factory();  // adapters/modbus/
std::unique_ptr<AdapterFactory> mqtt_adapter_factory();        // adapters/mqtt/
std::unique_ptr<AdapterFactory> http_adapter_factory();        // adapters/http/ (push: ingest)
std::unique_ptr<AdapterFactory> coap_adapter_factory();        // adapters/coap/ (push: ingest)

}  // namespace verge::devices

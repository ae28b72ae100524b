// CoAP devices: the CoAP server (coap_server.h) feeds them through the device manager.
#include "devices/adapters/builtin.h"
#include "devices/adapters/http/push_factory.h"

namespace verge::devices {

std::unique_ptr<AdapterFactory> coap_adapter_factory() { return push_adapter_factory("coap"); }

}  // namespace verge::devices

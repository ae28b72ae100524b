// HTTP ingest devices: POST /api/v1/ingest feeds them through the device manager.
#include "devices/adapters/builtin.h"
#include "devices/adapters/http/push_factory.h"

namespace verge::devices {

std::unique_ptr<AdapterFactory> http_adapter_factory() { return push_adapter_factory("http"); }

}  // namespace verge::devices

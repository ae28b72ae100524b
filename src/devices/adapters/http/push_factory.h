// The factory of push protocols that the device manager feeds itself through IngestSink (HTTP
// ingest, CoAP): points are sent by name, so there is nothing to connect to and no adapter.
#pragma once

#include <memory>
#include <string_view>

#include "devices/adapter.h"

namespace verge::devices {

// `protocol` must outlive the factory (a literal).
std::unique_ptr<AdapterFactory> push_adapter_factory(std::string_view protocol);

}  // namespace verge::devices

// Counters of the push transports (HTTP ingest, CoAP), process-wide because the transports are
// free functions and a listener without a registry of its own. edge.cc registers them once.
#pragma once

#include <cstdint>

#include "core/metrics.h"

namespace verge::devices {

struct IngestCounters {
  metrics::Counter requests;  // requests that reached the decoder
  metrics::Counter refused;   // requests refused whole (bad JSON, media type, size)
  metrics::Counter readings;  // readings accepted by the device manager
  metrics::Counter rejected;  // readings or lines refused (decoding or the manager)
};

IngestCounters& http_ingest_counters();
IngestCounters& coap_ingest_counters();

// verge_ingest_requests_total{transport}, verge_ingest_refused_total{transport},
// verge_ingest_readings_total{transport}, verge_ingest_rejected_total{transport}.
void register_ingest_metrics(metrics::Registry& registry);

}  // namespace verge::devices

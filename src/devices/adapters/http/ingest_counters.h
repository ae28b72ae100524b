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

// The MQTT device adapters' counters, summed over all of them (each adapter keeps its own in
// MqttAdapter::Stats too). Here so that register_ingest_metrics exports them with the rest.
struct MqttDeviceCounters {
  metrics::Counter messages;      // messages delivered on a device's topics
  metrics::Counter bad_payloads;  // not JSON where a point wanted a path into it
  metrics::Counter bad_values;    // values that did not fit their point's type
  metrics::Counter bad_ts;        // timestamps out of range (receipt time used, uncertain)
  metrics::Counter dropped;       // messages dropped: the adapter's delivery queue was full
};
MqttDeviceCounters& mqtt_device_counters();

// verge_ingest_requests_total{transport}, verge_ingest_refused_total{transport},
// verge_ingest_readings_total{transport}, verge_ingest_rejected_total{transport}, and
// verge_mqtt_device_{messages,bad_payloads,bad_values,bad_timestamps,dropped}_total.
void register_ingest_metrics(metrics::Registry& registry);

}  // namespace verge::devices

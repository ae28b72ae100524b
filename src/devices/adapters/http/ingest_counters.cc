#include "devices/adapters/http/ingest_counters.h"

#include <string>
#include <utility>

namespace verge::devices {

IngestCounters& http_ingest_counters() {
  static IngestCounters c;
  return c;
}

IngestCounters& coap_ingest_counters() {
  static IngestCounters c;
  return c;
}

MqttDeviceCounters& mqtt_device_counters() {
  static MqttDeviceCounters c;
  return c;
}

void register_ingest_metrics(metrics::Registry& registry) {
  registry.add_collector([](metrics::Exposition& e) {
    const std::pair<const char*, IngestCounters*> transports[] = {
        {"http", &http_ingest_counters()}, {"coap", &coap_ingest_counters()}};
    for (const auto& [name, c] : transports) {
      const metrics::Labels labels{{"transport", name}};
      e.counter("verge_ingest_requests_total", "Ingest requests that reached the decoder", labels,
                static_cast<double>(c->requests.value()));
      e.counter("verge_ingest_refused_total",
                "Ingest requests refused whole (bad JSON, media type, size)", labels,
                static_cast<double>(c->refused.value()));
      e.counter("verge_ingest_readings_total", "Ingested readings accepted", labels,
                static_cast<double>(c->readings.value()));
      e.counter("verge_ingest_rejected_total", "Ingested readings or lines refused", labels,
                static_cast<double>(c->rejected.value()));
    }
    const MqttDeviceCounters& m = mqtt_device_counters();
    e.counter("verge_mqtt_device_messages_total", "MQTT messages delivered on device topics", {},
              static_cast<double>(m.messages.value()));
    e.counter("verge_mqtt_device_bad_payloads_total",
              "MQTT device messages that were not JSON where a point wanted a path", {},
              static_cast<double>(m.bad_payloads.value()));
    e.counter("verge_mqtt_device_bad_values_total",
              "MQTT device values that did not fit their point's type", {},
              static_cast<double>(m.bad_values.value()));
    e.counter("verge_mqtt_device_bad_timestamps_total",
              "MQTT device timestamps out of range (receipt time used)", {},
              static_cast<double>(m.bad_ts.value()));
    e.counter("verge_mqtt_device_dropped_total",
              "MQTT device messages dropped because the adapter's queue was full", {},
              static_cast<double>(m.dropped.value()));
  });
}

}  // namespace verge::devices

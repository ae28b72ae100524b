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
  });
}

}  // namespace verge::devices

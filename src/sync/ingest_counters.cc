#include "sync/ingest_counters.h"

namespace verge::sync::ingest {

IngestStats Counters::snapshot() const {
  IngestStats s;
  s.batches = batches.load();
  s.records = records.load();
  s.duplicates = duplicates.load();
  s.gaps = gaps.load();
  s.bytes_stored = bytes.load();
  s.errors = errors.load();
  s.refused_ahead = refused_ahead.load();
  return s;
}

void register_ingest_metrics(metrics::Registry& registry, std::shared_ptr<const Counters> c) {
  registry.add_collector([c = std::move(c)](metrics::Exposition& e) {
    const auto d = [](const std::atomic<uint64_t>& v) { return static_cast<double>(v.load()); };
    e.counter("verge_hub_ingest_batches_total", "Uplink batches stored (slices with new records)",
              {}, d(c->batches));
    e.counter("verge_hub_ingest_records_total", "Uplink records stored", {}, d(c->records));
    e.counter("verge_hub_ingest_duplicates_total", "Uplink records received again (dropped)", {},
              d(c->duplicates));
    e.counter("verge_hub_ingest_gaps_total", "Uplink records skipped by nodes (sequence gaps)", {},
              d(c->gaps));
    e.counter("verge_hub_ingest_bytes_total", "Bytes of stored uplink records", {}, d(c->bytes));
    e.counter("verge_hub_ingest_errors_total", "Uplink batches that could not be stored", {},
              d(c->errors));
    e.counter("verge_hub_ingest_refused_ahead_total",
              "Uplink batches refused: ahead of the stream's next sequence without a declared gap",
              {}, d(c->refused_ahead));
    e.gauge("verge_hub_ingest_streams", "Uplink streams known", {}, d(c->streams));
  });
}

}  // namespace verge::sync::ingest

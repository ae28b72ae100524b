// The ingest counters both backends keep, shared with the metrics collector (which may outlive
// the store: the registry holds the collector).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/metrics.h"
#include "sync/ingest_store.h"

namespace verge::sync::ingest {

struct Counters {
  std::atomic<uint64_t> batches{0}, records{0}, duplicates{0}, gaps{0}, bytes{0}, errors{0};
  std::atomic<uint64_t> refused_ahead{0};
  std::atomic<uint64_t> streams{0};
  IngestStats snapshot() const;
};

// verge_hub_ingest_{batches,records,duplicates,gaps,bytes,errors,refused_ahead}_total and
// verge_hub_ingest_streams.
void register_ingest_metrics(metrics::Registry& registry, std::shared_ptr<const Counters> c);

}  // namespace verge::sync::ingest

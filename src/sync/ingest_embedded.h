// The embedded ingest store (see ingest_store.h and docs/formats/hub-ingest.md). Exposed with its
// knobs so tests can inject filesystem faults and a short checkpoint period.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/result.h"
#include "store/fs.h"
#include "sync/ingest_store.h"

namespace verge::sync {

struct EmbeddedIngestKnobs {
  store::Filesystem* fs = nullptr;        // null: the real filesystem
  int64_t checkpoint_interval_ms = 5000;  // dedup checkpoint period (also written at close)
  uint64_t segment_bytes = 64ull << 20;   // log segment size
  size_t max_index_entries = 1024;        // per stream (24 bytes each); past it, neighbours merge
};

Result<std::unique_ptr<IngestStore>> open_embedded_ingest(const IngestOptions& options,
                                                          const EmbeddedIngestKnobs& knobs = {});

}  // namespace verge::sync

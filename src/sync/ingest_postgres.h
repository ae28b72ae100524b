// The PostgreSQL ingest store (`--storage postgres://...`; docs/formats/hub-ingest.md): tables
// uplink_records (node, stream, seq, ts_ms, payload bytea; primary key (node, stream, seq)) and
// uplink_cursors (node, stream, next_seq). One store thread takes the batches in arrival order
// (which keeps each stream's order) and stores each in one transaction (ingest_pg_writer.h);
// reads use a second connection.
#pragma once

#include <memory>

#include "core/result.h"
#include "sync/ingest_store.h"

namespace verge::sync {

Result<std::unique_ptr<IngestStore>> open_postgres_ingest(const IngestOptions& options);

}  // namespace verge::sync

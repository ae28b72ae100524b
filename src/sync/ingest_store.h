// The hub's store of uplink records, with exactly-once effect: a record is identified by
// (node, stream, seq); records below the stream's next expected sequence are duplicates and are
// not stored again. Records of one (node, stream) are stored in sequence order.
//
// Embedded (default): one segment log under <data-dir>/ingest/ (one log record per accepted batch,
// with node, stream and sequence range in its header, durable with fdatasync before `done`), and
// the dedup table (node, stream) -> next seq, checkpointed to <data-dir>/ingest/dedup and rebuilt
// at start from the checkpoint plus the log after it. PostgreSQL: table uplink_records with primary
// key (node, stream, seq) and a cursor row per stream updated in the same transaction.
//
// Threading: store() may be called from any thread; calls for one (node, stream) must come in
// order (they do: one node's batches arrive on one connection). `done` runs on a store thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "sync/batch.h"

namespace verge::sync {

struct StoreOutcome {
  uint64_t next_seq = 0;    // every record below is stored: the ack the node gets
  uint64_t stored = 0;      // records newly stored by this call
  uint64_t duplicates = 0;  // records already stored before (dropped)
  uint64_t gap = 0;         // records skipped by the node (dropped there by its caps)
  // The batch started above next_seq without "gap before" (a batch before it was lost or not
  // stored): nothing stored, next_seq unchanged, so the node resends from there.
  bool refused_ahead = false;
};

struct StoredRecord {
  std::string node, stream;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  std::string payload;
};

struct RecordQuery {
  std::string node, stream;                // both required
  uint64_t from_seq = 0;                   // first seq wanted
  int64_t from_ms = 0, to_ms = INT64_MAX;  // record time range
  size_t limit = 1000;
};

struct IngestStats {
  uint64_t batches = 0, records = 0, duplicates = 0, gaps = 0, bytes_stored = 0, errors = 0;
  uint64_t refused_ahead = 0;  // batches refused: above next_seq without "gap before"
};

struct IngestOptions {
  std::string data_dir;    // embedded: <data_dir>/ingest
  std::string storage;     // "" / "embedded" or "postgres://..."
  uint64_t max_bytes = 0;  // embedded retention (0: keep all)
  int64_t max_age_ms = 0;  // embedded retention (0: keep all)
};

class IngestStore {
 public:
  static Result<std::unique_ptr<IngestStore>> open(const IngestOptions& options);
  virtual ~IngestStore() = default;

  using StoreDone = std::function<void(Result<StoreOutcome>)>;
  // Stores the records of `batch` at or above next_seq(node, stream). A batch starting above
  // next_seq leaves a gap (counted; the node dropped those records by policy) only when it has
  // `gap_before`; otherwise it is refused: nothing stored, outcome {next_seq unchanged,
  // refused_ahead}, so the ack makes the node resend what is missing.
  virtual void store(std::string_view node, std::string_view stream, DecodedBatch batch,
                     StoreDone done) = 0;
  virtual uint64_t next_seq(std::string_view node, std::string_view stream) const = 0;
  // Records of one stream, in sequence order.
  virtual Result<std::vector<StoredRecord>> query(const RecordQuery& q) const = 0;
  // (node, stream) pairs that have records, with their next seq.
  virtual std::vector<std::pair<std::string, uint64_t>> streams(std::string_view node) const = 0;
  virtual IngestStats stats() const = 0;
  virtual void register_metrics(metrics::Registry& registry) = 0;
  // Blocks until every accepted store() is durable and its `done` ran.
  virtual void flush() = 0;
};

}  // namespace verge::sync

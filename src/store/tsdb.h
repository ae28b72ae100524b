// The time-series store: named series ("device/point") of floats, integers, bools or strings,
// each kept as compressed chunks (store/tsdb_chunk.h) plus an in-memory head of recent points.
//
// Durability (when opened on a directory): series get stable ids in a catalog
// (<dir>/series.cat); every append is first written to a write-ahead SegmentLog (<dir>/wal), one
// record per call; a head is sealed into a chunk after `chunk_points` points or
// `chunk_span_ms`, and sealed chunks are appended to chunk files, one per series group and day
// (<dir>/chunks/<group>/<yyyymmdd>.tsc, docs/formats/tsdb-chunk.md). On open the chunk files are
// scanned into an in-memory index (time range, file, offset per chunk) and the WAL records not yet
// in a sealed chunk are replayed. Chunks stay in memory while hot (`hot_ms`); older ones are read
// from their file by the queries that need them.
// checkpoint() (run by maintain()) syncs the chunk files and drops the WAL segments they cover.
//
// Thread-safety: every method may be called from any thread. Series are spread over shards, one
// mutex each; an append locks only the shards of its points. Queries copy what they need under
// the shard lock and decode outside it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "store/fs.h"
#include "store/segment_log.h"
#include "store/tsdb_chunk.h"

namespace verge::store {

// Per series group: how long data is kept and when raw points are replaced by rollups.
struct GroupPolicy {
  std::string group;
  int64_t retention_ms = 0;         // 0 = forever
  int64_t downsample_after_ms = 0;  // 0 = never
};

struct TsdbOptions {
  uint32_t chunk_points = 1024;       // a head is sealed at this many points ...
  int64_t chunk_span_ms = 7'200'000;  // ... or when it spans this long (2 h)
  int64_t out_of_order_ms = 300'000;  // accepted this far behind the newest point (5 min)
  int64_t retention_ms = 0;           // default for groups without a GroupPolicy
  int64_t downsample_after_ms = 0;    // default for groups without a GroupPolicy
  int64_t rollup_step_ms = 60'000;    // width of the rollup buckets of old data
  std::vector<GroupPolicy> groups;
  Durability wal_durability = Durability::Interval;
  // > 0: a thread of the store runs maintain(now) this often; 0: the owner calls it.
  int64_t maintain_every_ms = 0;
  // Durable stores keep a sealed chunk in memory until its newest point is this old (as of
  // maintain()); older chunks are read from their file when a query needs them.
  int64_t hot_ms = 21'600'000;  // 6 h
  Filesystem* fs = nullptr;     // null = real_filesystem()
};

using SeriesId = uint32_t;

// One point to append. The field read is the one of the series' type (bool: i != 0).
struct Sample {
  SeriesId series = 0;
  int64_t ts_ms = 0;
  double f = 0;
  int64_t i = 0;
  std::string_view s;
};

using Value = std::variant<double, int64_t, bool, std::string>;

struct SeriesInfo {
  std::string name, group;
  ValueType type = ValueType::Float;
  uint64_t points = 0;  // stored (raw; rolled-up points count as their buckets)
  int64_t first_ts = 0, last_ts = 0;
};

enum class Agg : uint8_t { Avg, Min, Max, Sum, Count, First, Last };
std::optional<Agg> parse_agg(std::string_view s);  // "avg", "min", ...
const char* agg_name(Agg a);

struct Bucket {
  int64_t start_ms = 0;  // a multiple of the step
  double value = 0;
  uint64_t count = 0;  // raw points behind the value
};

struct TsdbStats {
  uint64_t series = 0;
  uint64_t points_appended = 0;
  uint64_t points_too_old = 0;                  // beyond the out-of-order window: rejected
  uint64_t points_bad_series = 0;               // unknown series id: rejected
  uint64_t points_bad_timestamp = 0;            // INT64_MAX (ranges are half-open): rejected
  uint64_t chunks_sealed = 0, chunk_bytes = 0;  // bytes of sealed chunks held
  uint64_t head_points = 0;
  uint64_t points_rolled_up = 0, points_expired = 0;
  uint64_t wal_records_replayed = 0, chunk_files_loaded = 0;
  uint64_t write_errors = 0;
};

class Tsdb {
 public:
  // In memory only: nothing survives the object.
  static std::unique_ptr<Tsdb> in_memory(TsdbOptions options);
  // Opens or creates a durable store under `dir`; a corrupt chunk file entry or WAL is an error
  // naming the file.
  static Result<std::unique_ptr<Tsdb>> open(const std::string& dir, TsdbOptions options);
  ~Tsdb();  // stops maintenance, seals nothing, flushes the WAL (heads come back from it)
  Tsdb(const Tsdb&) = delete;
  Tsdb& operator=(const Tsdb&) = delete;

  // Finds or creates a series. Names: 1..200 printable ASCII without spaces; groups:
  // 1..64 of [A-Za-z0-9_-]. Error if it exists with another type.
  Result<SeriesId> series(std::string_view name, ValueType type,
                          std::string_view group = "default");
  std::optional<SeriesId> find(std::string_view name) const;

  // Appends points (any order within the out-of-order window; timestamps < INT64_MAX, so every
  // point fits a half-open range; a later point with the same
  // timestamp replaces an earlier one). Returns how many were accepted; rejected ones are
  // counted in stats(). Error only when the WAL refused the batch (nothing of it is stored).
  Result<size_t> append(std::span<const Sample> samples);
  Result<size_t> append(SeriesId id, int64_t ts_ms, double v) {
    Sample s{id, ts_ms, v, 0, {}};
    return append({&s, 1});
  }

  // Points with from <= ts < to, sorted, one per timestamp. Ranges older than the downsampling
  // cutoff return one point per rollup bucket (its average; rounded for integer series).
  Result<DecodedChunk> range(std::string_view name, int64_t from_ms, int64_t to_ms) const;
  std::optional<std::pair<int64_t, Value>> latest(std::string_view name) const;
  // Buckets [k*step, (k+1)*step) overlapping [from, to) that hold points; not for strings.
  Result<std::vector<Bucket>> downsample(std::string_view name, int64_t from_ms, int64_t to_ms,
                                         int64_t step_ms, Agg agg) const;
  std::vector<SeriesInfo> list() const;

  // Retention and rollups as of `now_ms`, then checkpoint(). The owner calls it periodically.
  Result<void> maintain(int64_t now_ms);
  // Seals every head (tests, shutdown of a benchmark). Heads are normally sealed by size/span.
  Result<void> seal_all();
  // Syncs chunk files and drops the WAL segments every series has sealed past.
  Result<void> checkpoint();
  // Waits until every accepted point is durable: synced in the WAL, or, when WAL writes failed
  // since the last flush, sealed into synced chunk files. Error: some may not be.
  Result<void> flush();

  TsdbStats stats() const;
  void register_metrics(metrics::Registry& registry);

 private:
  Tsdb() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::store

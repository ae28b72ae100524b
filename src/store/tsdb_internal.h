// Internals of the time-series store shared by its files (tsdb*.cc); not a public header.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/tsdb.h"

namespace verge::store::tsdb_detail {

inline constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMaxTs = std::numeric_limits<int64_t>::max();
inline constexpr uint32_t kShards = 16;  // a power of two: the shard is the low bits of an id

struct SealedChunk {
  int64_t min_ts = 0, max_ts = 0;
  uint32_t count = 0;
  uint32_t size = 0;  // bytes of the chunk
  // In memory while hot (shared so queries decode outside the lock); null: read it from the file.
  std::shared_ptr<const std::string> bytes;
  std::shared_ptr<const std::string> file;  // durable stores: the chunk file holding it
  uint64_t offset = 0;                      // of the chunk in that file
};

// One bucket of rolled-up old data.
struct Rollup {
  double sum = 0, min = 0, max = 0, first = 0, last = 0;
  uint64_t count = 0;
  int64_t first_ts = 0, last_ts = 0;  // of `first` and `last`, to merge buckets in order
  void add(int64_t ts, double v);
  void merge(const Rollup& o);
};

// Points not yet sealed, in arrival order (sorted at seal or query time).
struct Head {
  std::vector<int64_t> ts;
  std::vector<double> f;
  std::vector<int64_t> i;
  std::vector<std::string> s;
  int64_t min_ts = kMaxTs;
  size_t size() const { return ts.size(); }
  void clear();
};

// A series; guarded by the mutex of its shard.
struct Series {
  std::string name, group;
  ValueType type = ValueType::Float;
  SeriesId id = 0;
  Head head;
  int64_t newest = kMinTs;  // greatest timestamp ever accepted
  // WAL records carry a sequence number that is never reused (the log's offsets are: a failed
  // write's offsets go to the next records). Replay skips what chunks already hold by it.
  uint64_t head_wal_first = UINT64_MAX;  // WAL offset of the oldest record with a head point
  uint64_t head_seq_next = 0;            // after the sequence of the newest record in the head
  uint64_t sealed_seq_next = 0;          // every point of records below this is in a chunk
  std::vector<SealedChunk> chunks;       // in seal order (may overlap after late points)
  std::map<int64_t, Rollup> rollups;     // by bucket start
  int64_t retained_from = kMinTs;        // queries never return points before this
  int64_t rolled_until = kMinTs;         // raw points before this were replaced by rollups
  uint64_t raw_points = 0;               // in chunks and head
};

// The start of the bucket of width `step` (> 0) holding ts: floor(ts / step) * step, clamped to
// the int64 range (the first bucket may start before INT64_MIN).
inline int64_t bucket_start(int64_t ts, int64_t step) {
  int64_t r = ts % step;
  if (r < 0) r += step;
  return ts < kMinTs + r ? kMinTs : ts - r;
}

// The points of `d` for [from, to): sorted by time, one per timestamp (the later written wins;
// `d` is in write order).
void sort_dedupe_clip(DecodedChunk& d, int64_t from, int64_t to);
// Appends src's points to dst (same type).
void append_points(DecodedChunk& dst, DecodedChunk&& src);
// Encodes the head's points (sorted, deduplicated) into chunks of at most `max_points`.
std::vector<std::string> encode_head(const Series& s, uint32_t max_points);
double value_as_double(const DecodedChunk& d, size_t i);

// WAL records (docs/formats/tsdb-chunk.md): runs of points of one series each, naming series by
// their catalog id. Encoding reads the type of a series through `type_of`; decoding too, and
// fails on an id it returns nullopt for.
struct WalRun {
  SeriesId id = 0;
  DecodedChunk points;
};
void wal_put_points(std::string& out, uint64_t seq, std::span<const Sample> samples,
                    std::span<const uint32_t> idx,
                    const std::function<ValueType(SeriesId)>& type_of);
Result<std::vector<WalRun>> wal_decode(
    std::string_view record, const std::function<std::optional<ValueType>(SeriesId)>& type_of,
    uint64_t& seq);

// Series catalog entries: id, type, name, group.
struct CatalogEntry {
  SeriesId id = 0;
  ValueType type = ValueType::Float;
  std::string name, group;
};
std::string encode_catalog_entry(const CatalogEntry& e);
Result<CatalogEntry> decode_catalog_entry(std::string_view bytes, size_t& size);

// Entries of chunk files.
enum class EntryKind : uint8_t { Raw = 1, Rollup = 2 };
struct FileEntry {
  EntryKind kind = EntryKind::Raw;
  ValueType type = ValueType::Float;
  std::string name;
  uint64_t aux = 0;   // Raw: the series' sealed_seq_next; Rollup: covered-until (int64)
  std::string chunk;  // Raw: one chunk
  std::vector<std::pair<int64_t, Rollup>> rollups;  // Rollup
};
std::string encode_entry(const FileEntry& e);
inline constexpr size_t kEntryTrailer = 4;  // the CRC after an entry's body
// Decodes the entry at the start of `bytes`; sets `size` to its length. Error on a bad entry.
Result<FileEntry> decode_entry(std::string_view bytes, size_t& size);

// yyyymmdd of the UTC day holding ts, and the first ms after that day.
std::string day_name(int64_t ts);
int64_t day_end(std::string_view yyyymmdd);  // kMinTs if not a day name

}  // namespace verge::store::tsdb_detail

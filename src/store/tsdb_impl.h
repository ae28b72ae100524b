// The state behind Tsdb, shared by tsdb.cc (ingest, queries), tsdb_maintain.cc (retention,
// rollups) and tsdb_durable.cc (WAL, chunk files). Not a public header.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "store/tsdb_internal.h"

namespace verge::store::tsdb_detail {

bool valid_series_name(std::string_view n);
bool valid_group(std::string_view g);

struct Shard {
  mutable std::mutex mu;
  std::vector<std::unique_ptr<Series>> series;  // GUARDED_BY(mu); index = id / kShards
};

struct Snapshot;

struct Impl {
  TsdbOptions options;
  std::array<Shard, kShards> shards;
  mutable std::shared_mutex names_mu;
  std::unordered_map<std::string, SeriesId> names;  // GUARDED_BY(names_mu)

  // Durable stores only.
  bool durable = false;
  std::string dir;
  Filesystem* fs = nullptr;
  std::unique_ptr<SegmentLog> wal;
  std::unique_ptr<File> catalog;  // GUARDED_BY(names_mu); <dir>/series.cat
  std::mutex files_mu;            // after any shard mutex
  std::map<std::string, std::unique_ptr<File>> open_files;  // GUARDED_BY(files_mu); by path
  std::map<std::string, uint64_t> file_sizes;  // GUARDED_BY(files_mu); good length per path
  std::set<std::string> dirty, new_dirs;       // GUARDED_BY(files_mu); to sync at checkpoint
  std::map<std::string, std::shared_ptr<const std::string>> path_names;  // GUARDED_BY(files_mu)

  // The maintenance thread (options.maintain_every_ms).
  std::thread maintainer;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // GUARDED_BY(stop_mu)

  std::atomic<uint64_t> next_seq{0};      // of the next WAL record
  std::atomic<uint64_t> wal_failures{0};  // WAL records that failed since the last flush()
  std::atomic<uint64_t> series_count{0}, points_appended{0}, points_too_old{0},
      points_bad_series{0}, points_bad_timestamp{0}, chunks_sealed{0}, chunk_bytes{0},
      points_rolled_up{0}, points_expired{0}, wal_records_replayed{0}, chunk_files_loaded{0},
      write_errors{0};

  Series* get(SeriesId id);  // the caller holds the shard lock
  const Series* find_locked(std::string_view name, std::unique_lock<std::mutex>& lock) const;
  Result<SeriesId> create(std::string_view name, ValueType type, std::string_view group);
  void insert(Series& s, const Sample& p, uint64_t wal_offset, uint64_t seq);
  bool head_full(const Series& s) const;
  Result<void> seal(Series& s);
  Result<size_t> append(std::span<const Sample> samples);
  void accept(std::span<const Sample> samples, std::span<const uint32_t> idx,
              std::vector<uint32_t>& ok);
  void insert_all(std::span<const Sample> samples, std::span<const uint32_t> ok,
                  uint64_t wal_offset, uint64_t seq);
  Result<Snapshot> snapshot(std::string_view name, int64_t from, int64_t to) const;
  Result<DecodedChunk> raw_points(Snapshot& snap) const;

  GroupPolicy policy(const std::string& group) const;

  // Durability (tsdb_durable.cc).
  std::string group_dir(std::string_view group) const {
    return dir + "/chunks/" + std::string(group);
  }
  // Appends an entry to a chunk file; returns the file and the offset the entry starts at.
  Result<std::pair<std::shared_ptr<const std::string>, uint64_t>> write_entry(
      const std::string& group, const std::string& file, const std::string& bytes);
  // The bytes of a chunk, from memory or its file.
  Result<std::shared_ptr<const std::string>> chunk_data(const SealedChunk& c) const;
  // Appends the series to the catalog, unsynced: append() syncs the catalog before the first WAL
  // record that can name the new id, so creating many series (a gateway's first poll) costs one
  // fdatasync per append, not one per series.
  Result<void> catalog_add(const Series& s);
  Result<void> sync_catalog_if_dirty();
  std::atomic<bool> catalog_dirty{false};
  Result<void> load_catalog();
  // Adds a series with a known id (from the catalog); ids must come in order per shard.
  Result<void> adopt(SeriesId id, std::string_view name, ValueType type, std::string_view group);
  Result<void> load_files();
  Result<void> replay_wal();
  Result<void> sync_files();
  Result<void> drop_files(int64_t now);

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

Result<void> maintain_one(Impl& m, Series& s, int64_t now);  // the caller holds s's shard lock

}  // namespace verge::store::tsdb_detail

namespace verge::store {
struct Tsdb::Impl : tsdb_detail::Impl {};
}  // namespace verge::store

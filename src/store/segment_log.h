// A durable append-only log of records split into segment files (docs/formats/segment-log.md).
// Producers append from any thread; one writer thread per log writes batches sequentially and
// syncs them as the durability setting says (group commit), then tells each producer its records
// are durable. Consumers read from offsets and keep durable named cursors. On open, a torn or
// corrupt tail is found by CRC and cut; only the last segment is scanned, and only from its last
// recovery checkpoint (one per 8 MiB synced, and at close), so recovery time is proportional to
// the unflushed tail, not to the size of the log.
//
//   auto log = SegmentLog::open("/data/uplink", LogOptions{});
//   (*log)->append({&payload, 1}, now_ms, [](const AppendResult& r) { /* durable or r.error */ });
//   (*log)->read((*log)->cursor("hub"), 1000, [](const LogRecord& r) { send(r); return true; });
//   (*log)->commit_cursor("hub", last_sent + 1);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/metrics.h"
#include "core/result.h"
#include "store/fs.h"

namespace verge::store {

enum class Durability : uint8_t {
  Batch,     // fdatasync each batch before acknowledging it (waits at most batch_wait_us to group)
  Interval,  // acknowledge once written; fdatasync every interval_ms
  None,      // acknowledge once written; the OS decides when it reaches the disk
};

enum class DropPolicy : uint8_t {
  DropOldest,  // over a cap (or out of disk): delete the oldest segment, count its records
  RefuseNew,   // over a cap (or out of disk): refuse appends, count them; keep what is stored
};

struct LogOptions {
  Durability durability = Durability::Batch;
  uint32_t batch_wait_us = 1000;         // Batch: how long the writer may wait for more records
  uint32_t interval_ms = 1000;           // Interval: sync period
  uint64_t segment_bytes = 64ull << 20;  // a segment is closed and a new one started past this
  // Retention cap on the bytes on disk; 0 = none. Retention deletes whole segments, so when
  // segment_bytes is more than a quarter of max_bytes, segments are made that small (logged).
  uint64_t max_bytes = 0;
  // Retention: sealed segments whose newest record is older go (always, counted as dropped,
  // whatever the drop policy: the policy decides what happens at the byte cap and on a full disk).
  uint64_t max_age_ms = 0;
  DropPolicy drop_policy = DropPolicy::DropOldest;
  bool compress = false;  // zstd-compress batches (only kept when it saves space)
  // Whole segments below every cursor are deleted (a queue, e.g. the uplink). Off: only caps.
  bool delete_consumed = false;
  Filesystem* fs = nullptr;  // null = real_filesystem(); tests inject faults here
  // The clock of age retention (ms since the epoch); null = the system clock. Tests pass a fake.
  std::function<int64_t()> clock_ms;
};

struct LogRecord {
  uint64_t offset = 0;       // dense: the first record of a log is 0, then +1 per record
  int64_t timestamp_ms = 0;  // as given to append() (wall clock, ms since the epoch)
  std::string_view payload;  // valid during the callback only
};

// What a producer is told once its records are durable (or could not be made so).
struct AppendResult {
  uint64_t first_offset = 0;  // of the records of that append() call
  uint64_t count = 0;
  std::optional<FsError> error;  // set: the records are not stored (they were cut back out)
};
using AppendDone = std::function<void(const AppendResult&)>;

struct LogStats {
  uint64_t first_offset = 0, next_offset = 0;  // records [first, next) are stored
  uint64_t segments = 0, disk_bytes = 0;
  uint64_t records_appended = 0, payload_bytes_appended = 0;
  uint64_t bytes_written = 0;  // to files, headers included: write amplification = this / payload
  uint64_t syncs = 0, batches = 0;
  uint64_t records_dropped = 0;  // by retention (age, bytes, out of disk with DropOldest)
  uint64_t records_refused = 0;  // appends refused (RefuseNew over a cap, or a failed log)
  uint64_t records_failed = 0;   // appends whose write failed (their producers got the error)
  uint64_t write_errors = 0, disk_full_errors = 0;
  uint64_t recovered_bytes_cut = 0;  // torn or corrupt tail removed at the last open
  // Bytes of the last segment read at the last open (those after its last recovery checkpoint).
  uint64_t recovery_scanned_bytes = 0;
  // Appended but not yet written (an upper bound of their encoded size). The queue is not
  // capped: a producer that can outrun the disk should watch this and push back.
  uint64_t pending_bytes = 0;
};

class SegmentLog {
 public:
  // Opens (creating `dir` if needed) and recovers. Recovery is logged with what was cut. A
  // directory holding something other than a log, or an unreadable segment header, is an error.
  static Result<std::unique_ptr<SegmentLog>> open(const std::string& dir, LogOptions options);
  ~SegmentLog();  // flushes and syncs what was appended, stops the writer thread
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Thread-safe. Queues `records` (one timestamp for all) and returns the offset of the first;
  // `done` runs later on the writer thread once they are as durable as the setting says.
  // Refused (error, `done` not called) when RefuseNew and a cap is reached, or the payload is
  // larger than a segment. `done` must not call flush() or roll() (they wait for the writer).
  // The records of one call always land in one segment. When a write fails, the records of that
  // write and every record appended after them fail (their `done` gets the error), so the
  // offsets of stored records stay dense.
  Result<uint64_t> append(std::span<const std::string_view> records, int64_t timestamp_ms,
                          AppendDone done);
  // Blocks until everything appended so far is written and synced (shutdown, tests, snapshots).
  Result<void> flush();

  // Thread-safe. Calls `fn` for records from `from` (clamped to the first stored) in order, up to
  // `max_records` or until `fn` returns false; returns the offset after the last one visited.
  // Sees records once written (not only once synced). Corruption found while reading is an error
  // naming the segment and position. `fn` must not call read() on the same log.
  Result<uint64_t> read(uint64_t from, size_t max_records,
                        const std::function<bool(const LogRecord&)>& fn) const;

  // Durable named cursors: the offset a consumer will read next. Unknown = first stored offset.
  uint64_t cursor(const std::string& name) const;
  Result<void> commit_cursor(const std::string& name, uint64_t next_offset);

  // Closes the current segment so the next record starts a new one; returns that offset.
  // With drop_before, this lets an owner rewrite its state as a snapshot and then delete the past.
  Result<uint64_t> roll();
  // Deletes every segment whose records are all below `offset` (never the current one).
  Result<void> drop_before(uint64_t offset);

  // Applies max_bytes (DropOldest), max_age_ms and delete_consumed now. The writer also does so
  // after its writes, every second when max_age_ms is set, and after commit_cursor.
  Result<void> apply_retention();

  LogStats stats() const;
  // Exposes stats as verge_log_* metrics labelled log="<name>".
  void register_metrics(metrics::Registry& registry, const std::string& name);

 private:
  SegmentLog() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::store

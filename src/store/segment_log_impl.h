// Internals of SegmentLog shared by segment_log.cc (open, recovery, reads, cursors, retention)
// and segment_writer.cc (appends and the writer thread). Not a public header.
//
// Locking: `mu` guards the shared state below it. `drop_mu` serialises segment deletions so
// files always go oldest first (a crash never leaves a hole); it is taken before `mu`, never
// after. Each Segment's `read_mu` guards its read handle and index; it is taken after `mu` is
// released. The writer thread alone touches the writer-only members, without a lock, and holds
// no lock while writing or syncing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/checkpoint_file.h"
#include "store/cursor_file.h"
#include "store/segment_format.h"
#include "store/segment_log.h"

namespace verge::store {

struct IndexEntry {
  uint64_t offset;  // base offset of a batch
  uint64_t pos;     // its position in the file
};
// A sparse index: one entry per this many bytes of segment (reads decode at most that much
// plus one batch before reaching the record asked for).
inline constexpr uint64_t kIndexSpacing = 16u << 10;
// A recovery checkpoint is appended (and synced) once this many more bytes of the last segment
// are synced, and at close, so open() scans at most this much plus the unsynced tail. The cost
// is one small fdatasync per 8 MiB written (about 3% of the writer's time at 95 MB/s here).
inline constexpr uint64_t kCheckpointEvery = 8u << 20;
inline constexpr uint64_t kCheckpointIndexSpacing = 256u << 10;  // coarser than kIndexSpacing
inline constexpr uint64_t kCheckpointFileMax = 1u << 20;         // then the file starts over

struct Segment {
  uint64_t base = 0;
  std::string path;
  // Guarded by Impl::mu.
  uint64_t size = 0;  // bytes holding valid batches (header included); reads stop there
  bool sealed = false;
  std::optional<int64_t> max_ts;  // newest record; unknown for old sealed segments until scanned
  // Guarded by read_mu.
  std::mutex read_mu;
  std::shared_ptr<File> rfile;
  std::vector<IndexEntry> index;
  bool indexed = false;  // index complete up to `size` (scanned, or built while writing)
};

std::string segment_file_name(uint64_t base);

// Appends waiting for the writer: payloads back to back, their lengths, and one entry per call.
struct Pending {
  struct Call {
    uint64_t first;
    uint32_t count;
    int64_t ts;
    AppendDone done;
  };
  std::string data;
  std::vector<uint32_t> lens;
  std::vector<Call> calls;
  uint64_t bound_bytes = 0;  // encoded_bound of everything here
  void clear() {
    data.clear();
    lens.clear();
    calls.clear();
    bound_bytes = 0;
  }
};

// Lets a metrics collector outlive the log (the registry may live longer).
struct MetricsLink {
  std::mutex mu;
  std::function<LogStats()> stats;  // cleared when the log goes away
};

struct SegmentLog::Impl {
  using Clock = std::chrono::steady_clock;

  std::string dir;
  LogOptions opt;
  Filesystem* fs = nullptr;

  mutable std::mutex mu;
  std::condition_variable writer_cv;  // wakes the writer
  std::condition_variable done_cv;    // flush()/roll() waiters
  // --- guarded by mu ---
  std::vector<std::shared_ptr<Segment>> segments;  // oldest first; back() is the active one
  Pending pending;
  uint64_t inflight_bound = 0;               // taken by the writer, not yet on disk
  uint64_t next_offset = 0;                  // given to the next append
  uint64_t written_next = 0;                 // records below this are in files (readable)
  uint64_t synced_next = 0;                  // records below this are synced
  uint64_t fail_epoch = 0, failed_from = 0;  // last failed write: records from failed_from failed
  std::optional<FsError> last_error;
  uint64_t sync_fail_epoch = 0;
  bool stop = false, flush_requested = false, roll_requested = false;
  uint64_t roll_epoch = 0;
  Result<uint64_t> roll_result = uint64_t{0};
  bool writer_waiting = false;
  size_t wake_at_calls = 1;  // producers wake a waiting writer once this many calls are pending
  LogStats stats;
  CursorMap cursors;

  // --- writer thread only ---
  std::unique_ptr<File> wfile;
  std::shared_ptr<Segment> active;
  uint64_t wsize = 0, synced_size = 0;  // bytes written to / synced in the active segment
  uint64_t wnext = 0;                   // offset after the last record written
  uint64_t last_index_pos = 0;
  uint64_t group_batches = 0;  // batches in the write being built
  std::optional<int64_t> active_max_ts;
  bool broken = false;  // the active file could not be truncated after a failure: roll first
  std::unique_ptr<File> ckpt_file;
  uint64_t ckpt_file_size = 0, ckpt_segment = UINT64_MAX, ckpt_pos = 0;
  BatchBuilder builder;
  std::string wbuf;
  Clock::time_point last_sync{}, last_round_end{}, next_retention{};
  size_t last_round_calls = 0;

  std::mutex drop_mu;
  std::mutex cursor_file_mu;
  std::shared_ptr<MetricsLink> metrics = std::make_shared<MetricsLink>();
  std::thread writer;

  ~Impl();
  int64_t now_ms() const;

  // segment_writer.cc
  Result<uint64_t> append(std::span<const std::string_view> records, int64_t ts, AppendDone done);
  Result<void> flush();
  Result<uint64_t> roll();
  void writer_main();
  void shutdown();

  // segment_log.cc
  Result<uint64_t> read(uint64_t from, size_t max,
                        const std::function<bool(const LogRecord&)>& fn) const;
  Result<void> apply_retention();
  Result<void> drop_before(uint64_t offset);
  uint64_t cursor(const std::string& name) const;
  Result<void> commit_cursor(const std::string& name, uint64_t next);
  LogStats stats_snapshot() const;
  uint64_t disk_bytes_locked() const;
  // Removes the oldest segment if it is not the active one; caller holds drop_mu, not mu.
  bool drop_oldest(bool count_as_dropped, const char* why);
  // Opens the read handle and builds the index of `seg` if not done yet; caller holds read_mu.
  Result<void> ensure_index(Segment& seg, uint64_t size, uint64_t end_offset) const;

 private:
  // segment_writer.cc helpers
  void process(Pending& w, std::vector<AppendResult>& results, bool want_sync);
  void finish_batch(std::vector<IndexEntry>& idx);
  FsResult<void> write_group(bool want_sync);
  FsResult<void> roll_segment();
  FsResult<void> sync_active();

 public:
  // Appends a recovery checkpoint when the synced part of the active segment grew enough (or
  // `force`, at open and close). Failures only cost a longer scan at the next open.
  void maybe_checkpoint(bool force);

 private:
  void note_error(const FsError& e, const char* what);
  void fail_calls(Pending& w, size_t from, const FsError& e, std::vector<AppendResult>& results,
                  Pending& newer);
};

}  // namespace verge::store

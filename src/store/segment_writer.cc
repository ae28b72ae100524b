// The write side of SegmentLog: appends queue under the mutex; one writer thread takes everything
// pending, encodes it into batches, writes them with one append per segment, syncs as the
// durability setting says and then runs the producers' callbacks (group commit).
#include <cerrno>
#include <climits>
#include <cstring>

#include "core/log.h"
#include "store/segment_log_impl.h"

namespace verge::store {
namespace {

Error to_error(const FsError& e) { return Error{e.message}; }

}  // namespace

Result<uint64_t> SegmentLog::Impl::append(std::span<const std::string_view> records, int64_t ts,
                                          AppendDone done) {
  if (records.empty()) return unexpected(Error{"append: no records"});
  uint64_t bytes = 0;
  bool too_big = records.size() > (UINT32_MAX >> 2);
  for (const auto r : records) {
    too_big = too_big || r.size() > kMaxRecordBytes;
    bytes += r.size();
  }
  const uint64_t n = records.size();
  const uint64_t bound = encoded_bound(n, bytes);
  std::unique_lock lk(mu);
  if (too_big || bound + kSegmentHeaderSize > opt.segment_bytes) {
    stats.records_refused += n;
    return unexpected(Error{"append: " + std::to_string(bytes) +
                            " bytes do not fit in one segment (segment_bytes " +
                            std::to_string(opt.segment_bytes) + ")"});
  }
  if (stop) {
    stats.records_refused += n;
    return unexpected(Error{"append: the log is closing"});
  }
  if (opt.max_bytes != 0 && opt.drop_policy == DropPolicy::RefuseNew &&
      disk_bytes_locked() + inflight_bound + pending.bound_bytes + bound > opt.max_bytes) {
    stats.records_refused += n;
    return unexpected(Error{"append refused: the log holds its max_bytes (" +
                            std::to_string(opt.max_bytes) + ") and the policy is refuse-new"});
  }
  const uint64_t first = next_offset;
  next_offset += n;
  pending.calls.push_back({first, static_cast<uint32_t>(n), ts, std::move(done)});
  for (const auto r : records) {
    pending.lens.push_back(static_cast<uint32_t>(r.size()));
    pending.data.append(r);
  }
  pending.bound_bytes += bound;
  // Only a waiting writer needs a wake-up, and during a group-commit wait only once enough
  // calls are pending: this keeps producers off the futex.
  const bool wake = writer_waiting && pending.calls.size() >= wake_at_calls;
  if (wake) writer_waiting = false;
  lk.unlock();
  if (wake) writer_cv.notify_one();
  return first;
}

Result<void> SegmentLog::Impl::flush() {
  std::unique_lock lk(mu);
  const uint64_t target = next_offset;
  const uint64_t fail0 = fail_epoch, sync_fail0 = sync_fail_epoch;
  if (synced_next >= target) return {};
  flush_requested = true;
  writer_waiting = false;
  writer_cv.notify_one();
  done_cv.wait(lk, [&] {
    return synced_next >= target || (fail_epoch != fail0 && failed_from < target) ||
           sync_fail_epoch != sync_fail0;
  });
  if (synced_next >= target) return {};
  return unexpected(Error{"flush: " + (last_error ? last_error->message : std::string("failed"))});
}

Result<uint64_t> SegmentLog::Impl::roll() {
  std::unique_lock lk(mu);
  const uint64_t epoch = roll_epoch;
  roll_requested = true;
  writer_waiting = false;
  writer_cv.notify_one();
  done_cv.wait(lk, [&] { return roll_epoch != epoch; });
  return roll_result;
}

void SegmentLog::Impl::shutdown() {
  {
    std::lock_guard lk(mu);
    stop = true;
    writer_waiting = false;
  }
  writer_cv.notify_one();
  if (writer.joinable()) writer.join();
}

void SegmentLog::Impl::note_error(const FsError& e, const char* what) {
  {
    std::lock_guard lk(mu);
    if (e.code == ENOSPC) {
      ++stats.disk_full_errors;
    } else {
      ++stats.write_errors;
    }
    last_error = e;
  }
  log_error("segment log: write failed",
            {{"dir", dir}, {"op", what}, {"error", e.message}, {"disk_full", e.code == ENOSPC}});
}

FsResult<void> SegmentLog::Impl::sync_active() {
  if (synced_size == wsize) return {};
  auto r = wfile->sync();
  if (!r) return r;
  synced_size = wsize;
  last_sync = Clock::now();
  std::lock_guard lk(mu);
  ++stats.syncs;
  synced_next = wnext;
  return {};
}

// Writes wbuf_ at the end of the active segment, synced when asked. On failure the file is cut
// back to its length before the write (a torn write leaves no garbage in front of later ones).
FsResult<void> SegmentLog::Impl::write_group(bool want_sync) {
  for (int attempt = 0;; ++attempt) {
    const uint64_t before = wsize;
    auto r = wfile->append(wbuf);
    if (r && want_sync) r = wfile->sync();
    if (r) {
      wsize += wbuf.size();
      if (want_sync) {
        synced_size = wsize;
        last_sync = Clock::now();
      }
      return {};
    }
    const FsError e = r.error();
    note_error(e, want_sync ? "write+sync" : "write");
    if (auto t = wfile->truncate(before); !t) {
      // The file may now hold garbage after `before`; appending behind it would hide later
      // batches from recovery, so the next write starts a new segment.
      log_error("segment log: cannot cut a failed write back out; starting a new segment",
                {{"dir", dir}, {"error", t.error().message}});
      broken = true;
    }
    if (e.code == ENOSPC && opt.drop_policy == DropPolicy::DropOldest && attempt == 0 && !broken) {
      std::lock_guard dl(drop_mu);
      if (drop_oldest(true, "disk full")) continue;  // retry once with the space freed
    }
    return unexpected(e);
  }
}

FsResult<void> SegmentLog::Impl::roll_segment() {
  const bool empty = wsize <= kSegmentHeaderSize;
  if (empty && !broken) return {};
  if (!broken) {
    // Sealed segments are never scanned at open, so they must be complete on disk first.
    if (auto r = sync_active(); !r) {
      note_error(r.error(), "sync before roll");
      return r;
    }
  }
  const std::string path = dir + "/" + segment_file_name(wnext);
  for (int attempt = 0;; ++attempt) {
    auto f = fs->open(path, OpenMode::Create);
    FsResult<void> r;
    if (f) {
      r = (*f)->append(encode_segment_header(wnext));
      if (r) r = (*f)->sync();
    } else {
      r = unexpected(f.error());
    }
    if (r) {
      std::shared_ptr<Segment> seg;
      {
        std::lock_guard lk(mu);
        if (active->base == wnext) {
          seg = active;  // a broken segment without records is replaced in place
        } else {
          active->sealed = true;
          active->max_ts = active_max_ts;
          seg = std::make_shared<Segment>();
          seg->base = wnext;
          seg->path = path;
          segments.push_back(seg);
        }
        seg->size = kSegmentHeaderSize;
        seg->indexed = true;
      }
      {
        std::lock_guard rl(seg->read_mu);
        seg->index.clear();
        seg->rfile.reset();
      }
      wfile = std::move(*f);
      active = seg;
      wsize = synced_size = kSegmentHeaderSize;
      last_index_pos = 0;
      active_max_ts.reset();
      broken = false;
      return {};
    }
    const FsError e = r.error();
    f = FsResult<std::unique_ptr<File>>(unexpected(e));  // close before removing
    if (active->base != wnext) (void)fs->remove(path);
    note_error(e, "create segment");
    if (e.code == ENOSPC && opt.drop_policy == DropPolicy::DropOldest && attempt == 0) {
      std::lock_guard dl(drop_mu);
      if (drop_oldest(true, "disk full")) continue;
    }
    return unexpected(e);
  }
}

void SegmentLog::Impl::maybe_checkpoint(bool force) {
  if (synced_size != wsize || broken) return;  // only a fully synced state is described
  const bool same = ckpt_segment == active->base;
  if (same && ckpt_pos == synced_size) return;
  if (!force && same && synced_size < ckpt_pos + kCheckpointEvery) return;
  if (!force && !same && synced_size < kSegmentHeaderSize + kCheckpointEvery) return;
  Checkpoint c;
  c.segment = active->base;
  c.pos = synced_size;
  c.next = wnext;
  c.max_ts = active_max_ts;
  uint64_t last = 0;
  for (const auto& e : active->index) {  // written by this thread only: no lock to read it
    if (c.index.empty() || e.pos - last >= kCheckpointIndexSpacing) {
      c.index.emplace_back(e.offset, e.pos);
      last = e.pos;
    }
  }
  const std::string text = encode_checkpoint(c);
  if (!ckpt_file || ckpt_file_size + text.size() > kCheckpointFileMax) {
    ckpt_file.reset();
    auto f = fs->open(dir + "/checkpoint", OpenMode::Create);
    if (!f) {
      log_warn("segment log: cannot write a recovery checkpoint",
               {{"dir", dir}, {"error", f.error().message}});
      return;
    }
    ckpt_file = std::move(*f);
    ckpt_file_size = 0;
  }
  // Synced so the bound on the next open's scan holds after a power loss too (an unsynced entry
  // would be correct if it survived, but might not survive).
  auto r = ckpt_file->append(text);
  if (r) r = ckpt_file->sync();
  if (!r) {
    // A torn entry is skipped at open (CRC); start the file over next time to be tidy.
    note_error(r.error(), "write checkpoint");
    ckpt_file.reset();
    return;
  }
  ckpt_file_size += text.size();
  ckpt_segment = c.segment;
  ckpt_pos = c.pos;
}

void SegmentLog::Impl::finish_batch(std::vector<IndexEntry>& idx) {
  if (builder.empty()) return;
  ++group_batches;
  const uint64_t pos = wsize + wbuf.size();
  const size_t start = wbuf.size();
  const int64_t max_ts = builder.finish(wbuf, opt.compress);
  active_max_ts = active_max_ts ? std::max(*active_max_ts, max_ts) : max_ts;
  if (last_index_pos == 0 || pos - last_index_pos >= kIndexSpacing) {
    uint64_t batch_base;
    std::memcpy(&batch_base, wbuf.data() + start + 16, sizeof batch_base);
    idx.push_back({batch_base, pos});
    last_index_pos = pos;
  }
}

// Marks calls [from, end) of `w` failed and takes every newer pending call into `newer` (they
// were given offsets after the failed ones; failing them too keeps stored offsets dense).
void SegmentLog::Impl::fail_calls(Pending& w, size_t from, const FsError& e,
                                  std::vector<AppendResult>& results, Pending& newer) {
  uint64_t n = 0;
  for (size_t i = from; i < w.calls.size(); ++i) {
    results[i] = AppendResult{w.calls[i].first, w.calls[i].count, e};
    n += w.calls[i].count;
  }
  std::lock_guard lk(mu);
  std::swap(newer, pending);
  for (const auto& c : newer.calls) n += c.count;
  next_offset = w.calls[from].first;
  failed_from = next_offset;
  ++fail_epoch;
  last_error = e;
  if (e.code == ENOSPC && opt.drop_policy == DropPolicy::RefuseNew) {
    stats.records_refused += n;
  } else {
    stats.records_failed += n;
  }
}

void SegmentLog::Impl::process(Pending& w, std::vector<AppendResult>& results, bool want_sync) {
  results.assign(w.calls.size(), AppendResult{});
  // Fails calls [from, end) and every call queued since (see fail_calls); their callbacks run
  // with the error at the end of the round like the others.
  const auto fail_rest = [&](size_t from, const FsError& e) {
    Pending newer;
    fail_calls(w, from, e, results, newer);
    for (auto& c : newer.calls) {
      results.push_back({c.first, c.count, e});
      w.calls.push_back(std::move(c));
    }
  };
  size_t i = 0, rec = 0;
  uint64_t data_pos = 0;
  std::vector<IndexEntry> idx;
  while (i < w.calls.size()) {
    if (broken) {
      if (auto r = roll_segment(); !r) {
        fail_rest(i, r.error());
        return;
      }
    }
    wbuf.clear();
    idx.clear();
    group_batches = 0;
    const size_t group_start = i;
    const uint64_t index_pos0 = last_index_pos;
    const auto max_ts0 = active_max_ts;
    uint64_t payload = 0, records = 0;
    while (i < w.calls.size()) {
      const auto& c = w.calls[i];
      uint64_t bytes = 0;
      for (uint32_t k = 0; k < c.count; ++k) bytes += w.lens[rec + k];
      const uint64_t used = wsize + wbuf.size() + builder.raw_size() + kBatchHeaderSize;
      if (used + encoded_bound(c.count, bytes) > opt.segment_bytes &&
          used > kSegmentHeaderSize + kBatchHeaderSize) {
        break;  // the rest goes to the next segment; one call never spans two
      }
      for (uint32_t k = 0; k < c.count; ++k) {
        const uint32_t len = w.lens[rec + k];
        builder.add(c.first + k, c.ts, std::string_view(w.data).substr(data_pos, len));
        data_pos += len;
        if (builder.raw_size() >= kTargetBatchBytes) finish_batch(idx);
      }
      rec += c.count;
      payload += bytes;
      records += c.count;
      ++i;
    }
    finish_batch(idx);
    if (i == group_start) {  // the active segment is full
      if (auto r = roll_segment(); !r) {
        fail_rest(i, r.error());
        return;
      }
      continue;
    }
    const uint64_t before = wsize;
    const uint64_t next = w.calls[i - 1].first + w.calls[i - 1].count;
    // Writing into the next segment needs this one sealed, which syncs it anyway.
    if (auto r = write_group(want_sync); !r) {
      last_index_pos = index_pos0;
      active_max_ts = max_ts0;
      fail_rest(group_start, r.error());
      return;
    }
    wnext = next;
    {
      std::lock_guard rl(active->read_mu);
      active->index.insert(active->index.end(), idx.begin(), idx.end());
    }
    {
      std::lock_guard lk(mu);
      active->size = wsize;
      written_next = wnext;
      if (synced_size == wsize) synced_next = wnext;
      stats.records_appended += records;
      stats.payload_bytes_appended += payload;
      stats.bytes_written += wsize - before;
      stats.batches += group_batches;
      if (want_sync) ++stats.syncs;
    }
    for (size_t k = group_start; k < i; ++k) {
      results[k] = AppendResult{w.calls[k].first, w.calls[k].count, std::nullopt};
    }
    maybe_checkpoint(false);
  }
}

void SegmentLog::Impl::writer_main() {
  std::unique_lock lk(mu);
  Pending work;
  std::vector<AppendResult> results;
  for (;;) {
    // Sleep until there is work or a timer (interval sync, age retention) is due.
    while (pending.calls.empty() && !stop && !flush_requested && !roll_requested) {
      std::optional<Clock::time_point> deadline;
      if (opt.durability == Durability::Interval && synced_next < written_next) {
        deadline = last_sync + std::chrono::milliseconds(opt.interval_ms);
      }
      if (opt.max_age_ms != 0 && (!deadline || next_retention < *deadline)) {
        deadline = next_retention;
      }
      writer_waiting = true;
      wake_at_calls = 1;
      if (deadline) {
        if (writer_cv.wait_until(lk, *deadline) == std::cv_status::timeout) {
          writer_waiting = false;
          break;
        }
      } else {
        writer_cv.wait(lk);
      }
      writer_waiting = false;
    }
    // Group commit: under load (the last round grouped several calls and ended just now), wait
    // up to batch_wait_us for as many calls as last time. When idle, write at once.
    if (opt.durability == Durability::Batch && opt.batch_wait_us != 0 && !stop &&
        !flush_requested && !pending.calls.empty() && last_round_calls > 1 &&
        pending.calls.size() < last_round_calls &&
        Clock::now() - last_round_end < std::chrono::microseconds(opt.batch_wait_us)) {
      const auto deadline = Clock::now() + std::chrono::microseconds(opt.batch_wait_us);
      wake_at_calls = last_round_calls;
      while (!stop && !flush_requested && pending.calls.size() < last_round_calls &&
             pending.bound_bytes < (4u << 20)) {
        writer_waiting = true;
        if (writer_cv.wait_until(lk, deadline) == std::cv_status::timeout) break;
      }
      writer_waiting = false;
      wake_at_calls = 1;
    }
    std::swap(work, pending);
    inflight_bound = work.bound_bytes;
    const bool flush_now = flush_requested || stop;
    flush_requested = false;
    const bool roll_now = roll_requested;
    roll_requested = false;
    const bool stopping = stop;
    lk.unlock();

    const bool batch_mode = opt.durability == Durability::Batch;
    if (!work.calls.empty()) process(work, results, batch_mode);
    const auto now = Clock::now();
    bool sync_due = flush_now || roll_now;
    if (opt.durability == Durability::Interval &&
        now - last_sync >= std::chrono::milliseconds(opt.interval_ms)) {
      sync_due = true;
    }
    if (sync_due) {  // also when broken: the bytes before the failed write are good
      if (auto r = sync_active(); !r) {
        note_error(r.error(), "sync");
        std::lock_guard g(mu);
        ++sync_fail_epoch;
      } else {
        maybe_checkpoint(stopping);  // at close: the next open scans nothing
      }
    }
    if (roll_now) {
      auto r = roll_segment();
      std::lock_guard g(mu);
      roll_result = r ? Result<uint64_t>(wnext) : Result<uint64_t>(unexpected(to_error(r.error())));
      ++roll_epoch;
    }
    if (opt.max_bytes != 0 || (opt.max_age_ms != 0 && now >= next_retention)) {
      if (opt.max_age_ms != 0) next_retention = now + std::chrono::seconds(1);
      (void)apply_retention();
    }
    {
      std::lock_guard g(mu);
      inflight_bound = 0;  // written or failed: no longer pending (before anyone is told)
    }
    // Callbacks run without the lock so they may append again.
    for (size_t k = 0; k < work.calls.size(); ++k) {
      if (work.calls[k].done) work.calls[k].done(results[k]);
    }
    last_round_calls = work.calls.size();
    last_round_end = Clock::now();
    work.clear();
    lk.lock();
    done_cv.notify_all();
    if (stopping && pending.calls.empty()) break;
  }
}

}  // namespace verge::store

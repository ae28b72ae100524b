// SegmentLog: open and recovery, reads, cursors, retention, stats and metrics. The write path
// (appends, the writer thread) is in segment_writer.cc.
#include "store/segment_log.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "core/log.h"
#include "store/segment_log_impl.h"

namespace verge::store {
namespace {

constexpr std::string_view kSegmentSuffix = ".seg";

std::optional<uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != 20 + kSegmentSuffix.size() || name.substr(20) != kSegmentSuffix) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

Error fs_err(const std::string& context, const FsError& e) {
  return Error{context.empty() ? e.message : context + ": " + e.message};
}

}  // namespace

std::string segment_file_name(uint64_t base) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.seg", static_cast<unsigned long long>(base));
  return buf;
}

SegmentLog::Impl::~Impl() {
  std::lock_guard g(metrics->mu);
  metrics->stats = nullptr;
}

int64_t SegmentLog::Impl::now_ms() const {
  if (opt.clock_ms) return opt.clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- open and recovery ---

Result<std::unique_ptr<SegmentLog>> SegmentLog::open(const std::string& dir, LogOptions options) {
  Filesystem& fs = options.fs != nullptr ? *options.fs : real_filesystem();
  if (options.segment_bytes < 4096) return unexpected(Error{"segment_bytes must be >= 4096"});
  if (options.max_bytes != 0 && options.segment_bytes > options.max_bytes / 4) {
    const uint64_t smaller = std::max<uint64_t>(options.max_bytes / 4, 4096);
    log_info("segment log: segments made smaller so retention can keep max_bytes",
             {{"dir", dir}, {"segment_bytes", smaller}, {"max_bytes", options.max_bytes}});
    options.segment_bytes = smaller;
  }
  if (auto r = fs.create_dirs(dir); !r) return unexpected(fs_err("", r.error()));
  auto names = fs.list(dir);
  if (!names) return unexpected(fs_err("", names.error()));

  std::vector<uint64_t> bases;
  for (const auto& name : *names) {
    if (auto base = parse_segment_name(name)) {
      bases.push_back(*base);
    } else if (name == "cursors" || name == "checkpoint") {
    } else if (name == "cursors.tmp") {
      (void)fs.remove(dir + "/" + name);  // a cursor commit interrupted before its rename
    } else {
      return unexpected(Error{dir + ": not a segment log: unexpected file '" + name + "'"});
    }
  }
  std::sort(bases.begin(), bases.end());

  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->opt = std::move(options);
  impl->fs = &fs;

  uint64_t cut = 0;
  for (size_t i = 0; i < bases.size(); ++i) {
    auto seg = std::make_shared<Segment>();
    seg->base = bases[i];
    seg->path = dir + "/" + segment_file_name(bases[i]);
    seg->sealed = i + 1 < bases.size();
    auto f = fs.open(seg->path, OpenMode::Read);
    if (!f) return unexpected(fs_err("", f.error()));
    auto size = (*f)->size();
    if (!size) return unexpected(fs_err("", size.error()));
    std::string hb(kSegmentHeaderSize, '\0');
    auto n = (*f)->read_at(0, hb.data(), hb.size());
    if (!n) return unexpected(fs_err("", n.error()));
    hb.resize(*n);
    auto hdr = decode_segment_header(hb);
    const bool last = i + 1 == bases.size();
    if (!hdr) {
      // Creating a segment writes and syncs its header before any batch, so only the last one
      // can have a header a crash tore; it holds no records then.
      const auto k = hdr.error().kind;
      const bool torn = k == FormatError::Kind::HalfHeader || k == FormatError::Kind::ZeroFilled;
      if (!last || !torn || *size > kSegmentHeaderSize) {
        return unexpected(Error{seg->path + ": bad segment header: " + hdr.error().what});
      }
      log_warn("segment log: recovery cut a torn segment header",
               {{"segment", seg->path}, {"position", 0}, {"bytes", *size}});
      cut += *size;
      f->reset();
      auto nf = fs.open(seg->path, OpenMode::Create);
      if (!nf) return unexpected(fs_err("", nf.error()));
      if (auto r = (*nf)->append(encode_segment_header(seg->base)); !r) {
        return unexpected(fs_err("", r.error()));
      }
      if (auto r = (*nf)->sync(); !r) return unexpected(fs_err("", r.error()));
      seg->size = kSegmentHeaderSize;
      seg->indexed = true;
      impl->segments.push_back(seg);
      impl->next_offset = impl->written_next = impl->synced_next = impl->wnext = seg->base;
      continue;
    }
    if (*hdr != seg->base) {
      return unexpected(Error{seg->path + ": segment header says base offset " +
                              std::to_string(*hdr) + ", not its name"});
    }
    seg->size = *size;
    if (!last) {
      impl->segments.push_back(seg);
      continue;
    }
    // The last segment is the only one that can hold an unsynced tail: scan it from the last
    // recovery checkpoint (or its start), cut at the first batch that is not intact.
    uint64_t start = kSegmentHeaderSize, next = seg->base, last_index = 0;
    std::optional<int64_t> max_ts;
    BatchReader::Batch b;
    if (auto ck = load_checkpoint(fs, dir); ck && ck->segment == seg->base &&
                                            ck->pos >= kSegmentHeaderSize && ck->pos <= *size &&
                                            ck->next >= seg->base) {
      // Trusted only if a valid batch starts there with the offset it names (or it is the end).
      BatchReader probe(**f, ck->pos, *size);
      probe.expect_offset(ck->next);
      auto r = probe.next(b);
      if (ck->pos == *size || (r && *r)) {
        start = ck->pos;
        next = ck->next;
        max_ts = ck->max_ts;
        for (const auto& [offset, pos] : ck->index) {
          if (pos < start && offset < next) seg->index.push_back({offset, pos});
        }
        last_index = seg->index.empty() ? 0 : seg->index.back().pos;
      } else {
        log_warn("segment log: recovery checkpoint does not match the segment; scanning it all",
                 {{"segment", seg->path}, {"position", ck->pos}});
      }
    }
    impl->stats.recovery_scanned_bytes = *size - start;
    BatchReader br(**f, start, *size);
    br.expect_offset(next);
    br.set_decode(true);
    for (;;) {
      auto r = br.next(b);
      if (r && !*r) break;
      if (!r) {
        if (r.error().kind == FormatError::Kind::Io) {
          return unexpected(Error{seg->path + ": " + r.error().what});
        }
        const uint64_t pos = br.pos();
        log_warn("segment log: recovery cut a damaged tail",
                 {{"segment", seg->path},
                  {"position", pos},
                  {"bytes", *size - pos},
                  {"reason", format_error_name(r.error().kind)},
                  {"detail", r.error().what}});
        cut += *size - pos;
        f->reset();
        auto wf = fs.open(seg->path, OpenMode::Append);
        if (!wf) return unexpected(fs_err("", wf.error()));
        if (auto t = (*wf)->truncate(pos); !t) return unexpected(fs_err("", t.error()));
        if (auto t = (*wf)->sync(); !t) return unexpected(fs_err("", t.error()));
        seg->size = pos;
        break;
      }
      if (seg->index.empty() || b.pos - last_index >= kIndexSpacing) {
        seg->index.push_back({b.header.base_offset, b.pos});
        last_index = b.pos;
      }
      max_ts = max_ts ? std::max(*max_ts, b.header.max_ts) : b.header.max_ts;
      next = b.header.base_offset + b.header.count;
    }
    seg->indexed = true;
    seg->max_ts = max_ts;
    impl->segments.push_back(seg);
    impl->next_offset = impl->written_next = impl->synced_next = impl->wnext = next;
    impl->active_max_ts = max_ts;
    impl->last_index_pos = last_index;
  }

  if (impl->segments.empty()) {
    auto seg = std::make_shared<Segment>();
    seg->path = dir + "/" + segment_file_name(0);
    auto nf = fs.open(seg->path, OpenMode::Create);
    if (!nf) return unexpected(fs_err("", nf.error()));
    if (auto r = (*nf)->append(encode_segment_header(0)); !r)
      return unexpected(fs_err("", r.error()));
    if (auto r = (*nf)->sync(); !r) return unexpected(fs_err("", r.error()));
    seg->size = kSegmentHeaderSize;
    seg->indexed = true;
    impl->segments.push_back(seg);
  }

  auto& active = impl->segments.back();
  auto wf = fs.open(active->path, OpenMode::Append);
  if (!wf) return unexpected(fs_err("", wf.error()));
  impl->wfile = std::move(*wf);
  impl->active = active;
  impl->wsize = impl->synced_size = active->size;
  impl->stats.recovered_bytes_cut = cut;
  // What the scan found may still be only in the page cache (the process died, not the
  // machine): make it durable, then record that in a fresh checkpoint file.
  if (auto r = impl->wfile->sync(); !r) return unexpected(fs_err("", r.error()));
  impl->maybe_checkpoint(true);
  if (cut != 0 || bases.size() > 0) {
    log_info("segment log: opened", {{"dir", dir},
                                     {"segments", impl->segments.size()},
                                     {"first_offset", impl->segments.front()->base},
                                     {"next_offset", impl->next_offset},
                                     {"recovered_bytes_cut", cut},
                                     {"scanned_bytes", impl->stats.recovery_scanned_bytes}});
  }

  auto cursors = load_cursors(fs, dir);
  if (!cursors) return unexpected(cursors.error());
  impl->cursors = std::move(*cursors);
  for (const auto& [name, offset] : impl->cursors) {
    if (offset > impl->next_offset) {
      log_warn("segment log: cursor beyond the end after recovery; it will read from the end",
               {{"dir", dir}, {"cursor", name}, {"offset", offset}, {"end", impl->next_offset}});
    }
  }

  const auto now = Impl::Clock::now();
  impl->last_sync = impl->last_round_end = now;
  impl->next_retention = now;
  Impl* raw = impl.get();
  {
    std::lock_guard g(raw->metrics->mu);
    raw->metrics->stats = [raw] { return raw->stats_snapshot(); };
  }
  std::unique_ptr<SegmentLog> log(new SegmentLog());
  log->impl_ = std::move(impl);
  raw->writer = std::thread([raw] { raw->writer_main(); });
  return log;
}

// --- reads ---

Result<void> SegmentLog::Impl::ensure_index(Segment& seg, uint64_t size,
                                            uint64_t end_offset) const {
  if (!seg.rfile) {
    auto f = fs->open(seg.path, OpenMode::Read);
    if (!f) return unexpected(fs_err("", f.error()));
    seg.rfile = std::move(*f);
  }
  if (seg.indexed) return {};
  // A sealed segment from before this open: scan it once (headers and CRCs), on first use.
  BatchReader br(*seg.rfile, kSegmentHeaderSize, size);
  br.expect_offset(seg.base);
  br.set_decode(false);
  BatchReader::Batch b;
  uint64_t last = 0, next = seg.base;
  std::optional<int64_t> max_ts;
  std::vector<IndexEntry> index;
  while (next < end_offset) {
    auto r = br.next(b);
    if (!r) {
      return unexpected(Error{seg.path + ": corrupt batch at position " + std::to_string(br.pos()) +
                              ": " + r.error().what});
    }
    if (!*r) {
      return unexpected(Error{seg.path + ": ends at offset " + std::to_string(next) +
                              ", expected records up to " + std::to_string(end_offset)});
    }
    if (index.empty() || b.pos - last >= kIndexSpacing) {
      index.push_back({b.header.base_offset, b.pos});
      last = b.pos;
    }
    max_ts = max_ts ? std::max(*max_ts, b.header.max_ts) : b.header.max_ts;
    next = b.header.base_offset + b.header.count;
  }
  seg.index = std::move(index);
  seg.indexed = true;
  std::lock_guard g(mu);
  if (max_ts) seg.max_ts = max_ts;
  return {};
}

Result<uint64_t> SegmentLog::Impl::read(uint64_t from, size_t max,
                                        const std::function<bool(const LogRecord&)>& fn) const {
  size_t visited = 0;
  while (visited < max) {
    std::shared_ptr<Segment> seg;
    uint64_t end_pos, end_offset;
    {
      std::lock_guard g(mu);
      from = std::max(from, segments.front()->base);
      if (from >= written_next) break;
      auto it = std::upper_bound(segments.begin(), segments.end(), from,
                                 [](uint64_t o, const auto& s) { return o < s->base; });
      seg = *(it - 1);
      end_pos = seg->size;
      end_offset = it == segments.end() ? written_next : (*it)->base;
    }
    std::shared_ptr<File> file;
    IndexEntry start{seg->base, kSegmentHeaderSize};
    {
      std::lock_guard rl(seg->read_mu);
      if (auto r = ensure_index(*seg, end_pos, end_offset); !r) return unexpected(r.error());
      file = seg->rfile;
      auto it = std::upper_bound(seg->index.begin(), seg->index.end(), from,
                                 [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
      if (it != seg->index.begin()) start = *(it - 1);
    }
    BatchReader br(*file, start.pos, end_pos);
    br.expect_offset(start.offset);
    BatchReader::Batch b;
    while (from < end_offset) {
      auto r = br.next(b);
      if (!r) {
        return unexpected(Error{seg->path + ": corrupt batch at position " +
                                std::to_string(br.pos()) + ": " + r.error().what});
      }
      if (!*r) {
        return unexpected(Error{seg->path + ": ends at position " + std::to_string(br.pos()) +
                                " before offset " + std::to_string(from)});
      }
      if (b.header.base_offset + b.header.count <= from) continue;
      for (const auto& rec : *b.records) {
        if (rec.offset < from) continue;
        if (rec.offset >= end_offset) break;
        from = rec.offset + 1;
        ++visited;
        if (!fn(LogRecord{rec.offset, rec.timestamp_ms, rec.payload})) return from;
        if (visited >= max) return from;
      }
    }
  }
  return from;
}

// --- retention ---

uint64_t SegmentLog::Impl::disk_bytes_locked() const {
  uint64_t n = 0;
  for (const auto& s : segments) n += s->size;
  return n;
}

bool SegmentLog::Impl::drop_oldest(bool count_as_dropped, const char* why) {
  std::shared_ptr<Segment> victim;
  uint64_t records = 0;
  {
    std::lock_guard g(mu);
    if (segments.size() <= 1) return false;
    victim = segments.front();
    records = segments[1]->base - victim->base;
    segments.erase(segments.begin());
    if (count_as_dropped) stats.records_dropped += records;
  }
  auto r = fs->remove(victim->path);
  if (!r) {
    log_error("segment log: cannot delete a segment",
              {{"segment", victim->path}, {"error", r.error().message}});
  }
  log_info("segment log: deleted a segment", {{"segment", victim->path},
                                              {"records", records},
                                              {"reason", why},
                                              {"counted_as_dropped", count_as_dropped}});
  return true;
}

Result<void> SegmentLog::Impl::apply_retention() {
  std::lock_guard dl(drop_mu);
  for (;;) {
    std::shared_ptr<Segment> oldest;
    uint64_t end_offset = 0, size = 0;
    enum { None, Consumed, Bytes, Age } why = None;
    {
      std::lock_guard g(mu);
      if (segments.size() <= 1) return {};
      oldest = segments.front();
      end_offset = segments[1]->base;
      size = oldest->size;
      if (opt.delete_consumed && !cursors.empty()) {
        uint64_t min_cursor = UINT64_MAX;
        for (const auto& c : cursors) min_cursor = std::min(min_cursor, c.second);
        if (end_offset <= min_cursor) why = Consumed;
      }
      if (why == None && opt.max_bytes != 0 && opt.drop_policy == DropPolicy::DropOldest &&
          disk_bytes_locked() > opt.max_bytes) {
        why = Bytes;
      }
      if (why == None && opt.max_age_ms != 0 && oldest->max_ts &&
          *oldest->max_ts < now_ms() - static_cast<int64_t>(opt.max_age_ms)) {
        why = Age;
      }
      if (why == None && (opt.max_age_ms == 0 || oldest->max_ts)) return {};
    }
    if (why == None) {  // age unknown: scan the oldest segment once to learn it
      std::lock_guard rl(oldest->read_mu);
      if (auto r = ensure_index(*oldest, size, end_offset); !r) return r;
      std::lock_guard g(mu);
      if (!oldest->max_ts) return {};
      continue;
    }
    drop_oldest(why != Consumed, why == Consumed ? "consumed"
                                 : why == Bytes  ? "max_bytes"
                                                 : "max_age");
  }
}

Result<void> SegmentLog::Impl::drop_before(uint64_t offset) {
  std::lock_guard dl(drop_mu);
  for (;;) {
    {
      std::lock_guard g(mu);
      if (segments.size() <= 1 || segments[1]->base > offset) return {};
    }
    drop_oldest(false, "drop_before");
  }
}

// --- cursors ---

uint64_t SegmentLog::Impl::cursor(const std::string& name) const {
  std::lock_guard g(mu);
  const uint64_t first = segments.front()->base;
  auto it = cursors.find(name);
  // Past the end only after a crash took unsynced records the consumer had read (Interval,
  // None): it must read the offsets again, or it would skip the records that reuse them.
  return it == cursors.end() ? first : std::clamp(it->second, first, next_offset);
}

Result<void> SegmentLog::Impl::commit_cursor(const std::string& name, uint64_t next) {
  if (!valid_cursor_name(name)) return unexpected(Error{"bad cursor name '" + name + "'"});
  {
    std::lock_guard fl(cursor_file_mu);
    CursorMap copy;
    {
      std::lock_guard g(mu);
      if (next > next_offset) {
        return unexpected(Error{"cursor " + name + " beyond the end of the log (" +
                                std::to_string(next) + " > " + std::to_string(next_offset) + ")"});
      }
      copy = cursors;
    }
    copy[name] = next;
    if (auto r = save_cursors(*fs, dir, copy); !r) {
      return unexpected(fs_err("commit cursor " + name, r.error()));
    }
    std::lock_guard g(mu);
    cursors = std::move(copy);
  }
  if (opt.delete_consumed) return apply_retention();
  return {};
}

// --- stats and metrics ---

LogStats SegmentLog::Impl::stats_snapshot() const {
  std::lock_guard g(mu);
  LogStats s = stats;
  s.first_offset = segments.front()->base;
  s.next_offset = written_next;
  s.segments = segments.size();
  s.disk_bytes = disk_bytes_locked();
  s.pending_bytes = pending.bound_bytes + inflight_bound;
  return s;
}

// --- public wrappers ---

SegmentLog::~SegmentLog() {
  if (impl_) impl_->shutdown();
}

Result<uint64_t> SegmentLog::append(std::span<const std::string_view> records, int64_t timestamp_ms,
                                    AppendDone done) {
  return impl_->append(records, timestamp_ms, std::move(done));
}
Result<void> SegmentLog::flush() { return impl_->flush(); }
Result<uint64_t> SegmentLog::read(uint64_t from, size_t max_records,
                                  const std::function<bool(const LogRecord&)>& fn) const {
  return impl_->read(from, max_records, fn);
}
uint64_t SegmentLog::cursor(const std::string& name) const { return impl_->cursor(name); }
Result<void> SegmentLog::commit_cursor(const std::string& name, uint64_t next_offset) {
  return impl_->commit_cursor(name, next_offset);
}
Result<uint64_t> SegmentLog::roll() { return impl_->roll(); }
Result<void> SegmentLog::drop_before(uint64_t offset) { return impl_->drop_before(offset); }
Result<void> SegmentLog::apply_retention() { return impl_->apply_retention(); }
LogStats SegmentLog::stats() const { return impl_->stats_snapshot(); }

void SegmentLog::register_metrics(metrics::Registry& registry, const std::string& name) {
  registry.add_collector([link = impl_->metrics, name](metrics::Exposition& e) {
    LogStats s;
    {
      std::lock_guard g(link->mu);
      if (!link->stats) return;
      s = link->stats();
    }
    const metrics::Labels l{{"log", name}};
    const auto d = [](uint64_t v) { return static_cast<double>(v); };
    e.counter("verge_log_records_appended_total", "Records stored in the log", l,
              d(s.records_appended));
    e.counter("verge_log_payload_bytes_total", "Payload bytes stored in the log", l,
              d(s.payload_bytes_appended));
    e.counter("verge_log_bytes_written_total", "Bytes written to segment files (headers included)",
              l, d(s.bytes_written));
    e.counter("verge_log_syncs_total", "fdatasync calls on segment files", l, d(s.syncs));
    e.counter("verge_log_batches_total", "Write batches", l, d(s.batches));
    e.counter("verge_log_records_dropped_total", "Records deleted by retention", l,
              d(s.records_dropped));
    e.counter("verge_log_records_refused_total", "Records refused (cap or disk full, refuse-new)",
              l, d(s.records_refused));
    e.counter("verge_log_records_failed_total", "Records whose write failed", l,
              d(s.records_failed));
    e.counter("verge_log_write_errors_total", "Failed writes or syncs (other than disk full)", l,
              d(s.write_errors));
    e.counter("verge_log_disk_full_errors_total", "Writes that failed with ENOSPC", l,
              d(s.disk_full_errors));
    e.gauge("verge_log_disk_bytes", "Bytes of the log on disk", l, d(s.disk_bytes));
    e.gauge("verge_log_segments", "Segment files", l, d(s.segments));
    e.gauge("verge_log_pending_bytes", "Appended, not yet written (encoded size bound)", l,
            d(s.pending_bytes));
    e.gauge("verge_log_first_offset", "Offset of the oldest stored record", l, d(s.first_offset));
    e.gauge("verge_log_next_offset", "Offset the next record gets", l, d(s.next_offset));
    e.gauge("verge_log_recovered_bytes_cut", "Bytes cut from a damaged tail at the last open", l,
            d(s.recovered_bytes_cut));
  });
}

}  // namespace verge::store

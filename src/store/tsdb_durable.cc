// Durability of the store: chunk files (load, append, sync, delete by age) and the WAL (replay,
// checkpoint). Layout: <dir>/wal (a SegmentLog), <dir>/chunks/<group>/<yyyymmdd>.tsc (raw
// chunks sealed with their first point on that UTC day) and <yyyymmdd>-rollup.tsc (rollups).
#include <algorithm>

#include "core/log.h"
#include "store/tsdb_impl.h"

namespace verge::store {

using namespace tsdb_detail;

namespace tsdb_detail {
namespace {

constexpr std::string_view kExt = ".tsc";
constexpr std::string_view kRollupSuffix = "-rollup";

Unexpected<Error> fs_error(const FsError& e) { return unexpected(Error{e.message}); }

Result<std::string> read_all(Filesystem& fs, const std::string& path) {
  auto f = fs.open(path, OpenMode::Read);
  if (!f) return fs_error(f.error());
  auto size = (*f)->size();
  if (!size) return fs_error(size.error());
  std::string data(*size, '\0');
  auto n = (*f)->read_at(0, data.data(), data.size());
  if (!n) return fs_error(n.error());
  data.resize(*n);
  return data;
}

}  // namespace

Result<std::pair<std::shared_ptr<const std::string>, uint64_t>> Impl::write_entry(
    const std::string& group, const std::string& file, const std::string& bytes) {
  std::lock_guard lock(files_mu);
  const std::string gdir = group_dir(group);
  const std::string path = gdir + "/" + file + std::string(kExt);
  auto it = open_files.find(path);
  if (it == open_files.end()) {
    if (auto d = fs->create_dirs(gdir); !d) return fs_error(d.error());
    const bool existed = fs->exists(path);
    auto f = fs->open(path, existed ? OpenMode::Append : OpenMode::Create);
    if (!f) return fs_error(f.error());
    auto size = (*f)->size();
    if (!size) return fs_error(size.error());
    file_sizes[path] = *size;
    it = open_files.emplace(path, std::move(*f)).first;
    if (!existed) new_dirs.insert(gdir);
  }
  if (auto w = it->second->append(bytes); !w) {
    // A torn entry would hide every later one on open: cut back to the last whole entry.
    (void)it->second->truncate(file_sizes[path]);
    return fs_error(w.error());
  }
  const uint64_t at = file_sizes[path];
  file_sizes[path] += bytes.size();
  dirty.insert(path);
  auto& name = path_names[path];
  if (!name) name = std::make_shared<const std::string>(path);
  return std::pair{name, at};
}

Result<std::shared_ptr<const std::string>> Impl::chunk_data(const SealedChunk& c) const {
  if (c.bytes) return c.bytes;
  if (!c.file) return unexpected(Error{"chunk neither in memory nor in a file"});
  auto f = fs->open(*c.file, OpenMode::Read);
  if (!f) return fs_error(f.error());
  auto data = std::make_shared<std::string>(c.size, '\0');
  auto n = (*f)->read_at(c.offset, data->data(), data->size());
  if (!n) return fs_error(n.error());
  if (*n != c.size) return unexpected(Error{*c.file + ": chunk cut short"});
  return std::shared_ptr<const std::string>(std::move(data));
}

Result<void> Impl::sync_files() {
  std::lock_guard lock(files_mu);
  for (const std::string& path : dirty) {
    if (auto r = open_files.at(path)->sync(); !r) return fs_error(r.error());
  }
  dirty.clear();
  for (const std::string& d : new_dirs) {
    if (auto r = fs->sync_dir(d); !r) return fs_error(r.error());
  }
  new_dirs.clear();
  return {};
}

Result<void> Impl::load_files() {
  const std::string root = dir + "/chunks";
  auto groups = fs->list(root);
  if (!groups) return fs_error(groups.error());
  std::sort(groups->begin(), groups->end());
  for (const std::string& group : *groups) {
    if (!valid_group(group)) continue;
    auto files = fs->list(group_dir(group));
    if (!files) return fs_error(files.error());
    std::sort(files->begin(), files->end());
    for (const std::string& name : *files) {
      if (!name.ends_with(kExt)) continue;
      const std::string path = group_dir(group) + "/" + name;
      const auto file_name = std::make_shared<const std::string>(path);
      {
        std::lock_guard lock(files_mu);
        path_names[path] = file_name;
      }
      auto data = read_all(*fs, path);
      if (!data) return unexpected(data.error());
      size_t at = 0;
      while (at < data->size()) {
        size_t size = 0;
        auto e = decode_entry(std::string_view(*data).substr(at), size);
        Result<ChunkHeader> h = unexpected(Error{""});
        if (e && e->kind == EntryKind::Raw) h = read_chunk_header(e->chunk);
        if (!e || (e->kind == EntryKind::Raw && !h)) {
          // A torn tail from a crash (nothing after it was synced: the WAL still has it), or
          // damage. Everything from here on is cut so appends continue on a whole entry.
          log_warn("time-series chunk file: cutting a bad tail",
                   {{"file", path},
                    {"offset", at},
                    {"bytes", data->size() - at},
                    {"error", e ? h.error().message : e.error().message}});
          auto f = fs->open(path, OpenMode::Append);
          if (!f) return fs_error(f.error());
          if (auto t = (*f)->truncate(at); !t) return fs_error(t.error());
          break;
        }
        auto id = create(e->name, e->type, group);
        if (!id) return unexpected(Error{path + ": " + id.error().message});
        Shard& sh = shards[*id & (kShards - 1)];
        std::lock_guard lock(sh.mu);
        Series& s = *get(*id);
        if (e->kind == EntryKind::Raw) {
          s.sealed_seq_next = std::max(s.sealed_seq_next, e->aux);
          next_seq = std::max(next_seq.load(), e->aux);
          s.newest = std::max(s.newest, h->last_ts);
          s.raw_points += h->count;
          chunk_bytes.fetch_add(e->chunk.size(), std::memory_order_relaxed);
          // Only the index stays in memory; queries read the chunk from the file.
          s.chunks.push_back(SealedChunk{h->first_ts, h->last_ts, h->count,
                                         static_cast<uint32_t>(e->chunk.size()), nullptr, file_name,
                                         at + size - kEntryTrailer - e->chunk.size()});
        } else {
          s.rolled_until = std::max(s.rolled_until, static_cast<int64_t>(e->aux));
          for (const auto& [start, r] : e->rollups) {
            s.rollups[start].merge(r);
            s.newest = std::max(s.newest, r.last_ts);
          }
        }
        at += size;
      }
      chunk_files_loaded.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // Raw chunks already rolled up (their file not yet deleted) are hidden.
  for (Shard& sh : shards) {
    std::lock_guard lock(sh.mu);
    for (auto& s : sh.series) {
      std::erase_if(s->chunks, [&](const SealedChunk& c) {
        if (c.max_ts >= s->rolled_until) return false;
        s->raw_points -= std::min<uint64_t>(s->raw_points, c.count);
        chunk_bytes.fetch_sub(c.size, std::memory_order_relaxed);
        return true;
      });
    }
  }
  return {};
}

Result<void> Impl::catalog_add(const Series& s) {
  if (!catalog) return {};
  const std::string bytes = encode_catalog_entry(CatalogEntry{s.id, s.type, s.name, s.group});
  auto size = catalog->size();
  if (!size) return fs_error(size.error());
  if (auto w = catalog->append(bytes); !w) {
    (void)catalog->truncate(*size);
    return fs_error(w.error());
  }
  catalog_dirty.store(true, std::memory_order_release);
  return {};
}

Result<void> Impl::sync_catalog_if_dirty() {
  std::unique_lock names_lock(names_mu);
  if (!catalog || !catalog_dirty.load(std::memory_order_acquire)) return {};
  if (auto w = catalog->sync(); !w) return fs_error(w.error());
  catalog_dirty.store(false, std::memory_order_release);
  return {};
}

Result<void> Impl::adopt(SeriesId id, std::string_view name, ValueType type,
                         std::string_view group) {
  if (!valid_series_name(name) || !valid_group(group)) {
    return unexpected(Error{"bad series name or group in catalog"});
  }
  const auto shard = static_cast<uint32_t>(std::hash<std::string_view>{}(name) & (kShards - 1));
  std::unique_lock names_lock(names_mu);
  Shard& sh = shards[shard];
  std::lock_guard lock(sh.mu);
  if ((id & (kShards - 1)) != shard || id / kShards != sh.series.size() ||
      names.count(std::string(name)) != 0) {
    return unexpected(Error{"catalog entry for " + std::string(name) + " out of order"});
  }
  auto s = std::make_unique<Series>();
  s->name = std::string(name);
  s->group = std::string(group);
  s->type = type;
  s->id = id;
  names.emplace(s->name, id);
  sh.series.push_back(std::move(s));
  series_count.fetch_add(1, std::memory_order_relaxed);
  return {};
}

Result<void> Impl::load_catalog() {
  const std::string path = dir + "/series.cat";
  if (fs->exists(path)) {
    auto data = read_all(*fs, path);
    if (!data) return unexpected(data.error());
    size_t at = 0;
    while (at < data->size()) {
      size_t size = 0;
      auto e = decode_catalog_entry(std::string_view(*data).substr(at), size);
      if (!e) {
        // Entries are synced one by one before use: a bad one is a torn tail nothing refers to.
        log_warn("time-series catalog: cutting a bad tail", {{"file", path},
                                                             {"offset", at},
                                                             {"bytes", data->size() - at},
                                                             {"error", e.error().message}});
        auto f = fs->open(path, OpenMode::Append);
        if (!f) return fs_error(f.error());
        if (auto t = (*f)->truncate(at); !t) return fs_error(t.error());
        break;
      }
      if (auto r = adopt(e->id, e->name, e->type, e->group); !r) {
        return unexpected(Error{path + ": " + r.error().message});
      }
      at += size;
    }
  }
  auto f = fs->open(path, fs->exists(path) ? OpenMode::Append : OpenMode::Create);
  if (!f) return fs_error(f.error());
  catalog = std::move(*f);
  if (auto d = fs->sync_dir(dir); !d) return fs_error(d.error());
  return {};
}

Result<void> Impl::replay_wal() {
  uint64_t from = wal->stats().first_offset;
  std::optional<Error> failed;
  uint64_t skipped = 0;
  auto type_of = [this](SeriesId id) -> std::optional<ValueType> {
    Shard& sh = shards[id & (kShards - 1)];
    std::lock_guard lock(sh.mu);
    const Series* s = get(id);
    if (s == nullptr) return std::nullopt;
    return s->type;
  };
  while (true) {
    auto next = wal->read(from, 4096, [&](const LogRecord& rec) {
      uint64_t seq = 0;
      auto runs = wal_decode(rec.payload, type_of, seq);
      if (!runs) {
        // Written after the catalog entries it names were synced, so this is damage: the
        // record is skipped, not the store.
        log_warn("time-series WAL: skipping a bad record",
                 {{"offset", rec.offset}, {"error", runs.error().message}});
        ++skipped;
        return true;
      }
      std::vector<Sample> samples;
      std::vector<uint32_t> ok;
      for (const WalRun& run : *runs) {
        const DecodedChunk& p = run.points;
        for (size_t k = 0; k < p.ts.size(); ++k) {
          Sample smp{run.id, p.ts[k], 0, 0, {}};
          if (!p.floats.empty()) smp.f = p.floats[k];
          if (!p.ints.empty()) smp.i = p.ints[k];
          if (!p.strings.empty()) smp.s = p.strings[k];
          samples.push_back(smp);
        }
      }
      // As append(): every shard of the record locked, points in, then seals.
      std::array<bool, kShards> touched{};
      for (const Sample& smp : samples) touched[smp.series & (kShards - 1)] = true;
      std::array<std::unique_lock<std::mutex>, kShards> locks;
      for (uint32_t k = 0; k < kShards; ++k) {
        if (touched[k]) locks[k] = std::unique_lock(shards[k].mu);
      }
      for (uint32_t i = 0; i < samples.size(); ++i) {
        // Points already in a chunk of their series are not added twice.
        if (seq >= get(samples[i].series)->sealed_seq_next) ok.push_back(i);
      }
      insert_all(samples, ok, rec.offset, seq);
      next_seq = std::max(next_seq.load(), seq + 1);
      wal_records_replayed.fetch_add(1, std::memory_order_relaxed);
      return true;
    });
    if (!next) return unexpected(next.error());
    if (failed) return unexpected(*failed);
    if (*next == from) break;
    from = *next;
  }
  if (skipped > 0) write_errors.fetch_add(skipped, std::memory_order_relaxed);
  return {};
}

Result<void> Impl::drop_files(int64_t now) {
  auto groups = fs->list(dir + "/chunks");
  if (!groups) return fs_error(groups.error());
  for (const std::string& group : *groups) {
    if (!valid_group(group)) continue;
    const GroupPolicy pol = policy(group);
    auto files = fs->list(group_dir(group));
    if (!files) return fs_error(files.error());
    // A raw file holds chunks that start on its day but may run on by a chunk span and the
    // out-of-order window.
    const int64_t slack = options.chunk_span_ms + options.out_of_order_ms;
    for (const std::string& name : *files) {
      if (!name.ends_with(kExt)) continue;
      std::string_view stem(name);
      stem.remove_suffix(kExt.size());
      const bool rollup = stem.ends_with(kRollupSuffix);
      if (rollup) stem.remove_suffix(kRollupSuffix.size());
      const int64_t end = day_end(stem);
      if (end == kMinTs) continue;
      bool drop = false;
      if (pol.retention_ms > 0) drop = end + (rollup ? 0 : slack) <= now - pol.retention_ms;
      if (!rollup && pol.downsample_after_ms > 0) {
        drop = drop || end + slack <= now - pol.downsample_after_ms;
      }
      if (!drop) continue;
      const std::string path = group_dir(group) + "/" + name;
      {
        std::lock_guard lock(files_mu);
        open_files.erase(path);
        path_names.erase(path);
        file_sizes.erase(path);
        dirty.erase(path);
      }
      if (auto r = fs->remove(path); !r) return fs_error(r.error());
      log_info("time-series chunk file deleted", {{"file", path}});
    }
  }
  return {};
}

}  // namespace tsdb_detail

Result<std::unique_ptr<Tsdb>> Tsdb::open(const std::string& dir, TsdbOptions options) {
  auto db = in_memory(std::move(options));
  Impl& m = *db->impl_;
  m.durable = true;
  m.dir = dir;
  m.fs = m.options.fs != nullptr ? m.options.fs : &real_filesystem();
  if (auto d = m.fs->create_dirs(dir + "/chunks"); !d) {
    return unexpected(Error{"time-series store " + dir + ": " + d.error().message});
  }
  if (auto r = m.load_catalog(); !r) {
    return unexpected(Error{"time-series store " + dir + ": " + r.error().message});
  }
  if (auto r = m.load_files(); !r) {
    return unexpected(Error{"time-series store " + dir + ": " + r.error().message});
  }
  LogOptions lo;
  lo.durability = m.options.wal_durability;
  lo.segment_bytes = 8ull << 20;  // small segments: checkpoints free WAL space sooner
  lo.fs = m.fs;
  auto wal = SegmentLog::open(dir + "/wal", lo);
  if (!wal) return unexpected(Error{"time-series store " + dir + ": " + wal.error().message});
  m.wal = std::move(*wal);
  if (auto r = m.replay_wal(); !r) {
    return unexpected(Error{"time-series store " + dir + ": " + r.error().message});
  }
  if (m.options.maintain_every_ms > 0) {
    Tsdb* raw = db.get();
    m.maintainer = std::thread([raw, &m] {
      std::unique_lock lock(m.stop_mu);
      while (!m.stop_cv.wait_for(lock, std::chrono::milliseconds(m.options.maintain_every_ms),
                                 [&m] { return m.stopping; })) {
        lock.unlock();
        (void)raw->maintain(Impl::now_ms());  // failures are logged and counted by maintain()
        lock.lock();
      }
    });
  }
  log_info("time-series store opened", {{"dir", dir},
                                        {"series", m.series_count.load()},
                                        {"chunk_files", m.chunk_files_loaded.load()},
                                        {"wal_records_replayed", m.wal_records_replayed.load()}});
  return db;
}

Result<void> Tsdb::flush() {
  if (!impl_->wal) return {};
  auto r = impl_->wal->flush();
  if (r && impl_->wal_failures.load() == 0) return r;
  // Some WAL records failed (their points are only in the heads), or the flush did: seal every
  // head into chunk files and sync those instead.
  impl_->wal_failures.store(0);
  if (auto s = seal_all(); !s) return s;
  return impl_->sync_files();
}

Result<void> Tsdb::checkpoint() {
  Impl& m = *impl_;
  if (!m.wal) return {};
  // Read the WAL end first: records appended while we scan have larger offsets.
  uint64_t keep_from = m.wal->stats().next_offset;
  for (Shard& sh : m.shards) {
    std::lock_guard lock(sh.mu);
    for (auto& s : sh.series) {
      if (s->head.size() > 0) keep_from = std::min(keep_from, s->head_wal_first);
    }
  }
  // Chunks are synced before the WAL records they hold are dropped.
  if (auto r = m.sync_files(); !r) {
    m.write_errors.fetch_add(1, std::memory_order_relaxed);
    return r;
  }
  return m.wal->drop_before(keep_from);
}

}  // namespace verge::store

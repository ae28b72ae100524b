// The store: series registry, ingest into heads, sealing, queries. Durability (WAL and chunk
// files) is in tsdb_durable.cc, retention and rollups in tsdb_maintain.cc.
#include "store/tsdb.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "store/tsdb_impl.h"

namespace verge::store {

using namespace tsdb_detail;

std::optional<Agg> parse_agg(std::string_view s) {
  for (Agg a : {Agg::Avg, Agg::Min, Agg::Max, Agg::Sum, Agg::Count, Agg::First, Agg::Last}) {
    if (s == agg_name(a)) return a;
  }
  return std::nullopt;
}

const char* agg_name(Agg a) {
  switch (a) {
    case Agg::Avg:
      return "avg";
    case Agg::Min:
      return "min";
    case Agg::Max:
      return "max";
    case Agg::Sum:
      return "sum";
    case Agg::Count:
      return "count";
    case Agg::First:
      return "first";
    case Agg::Last:
      return "last";
  }
  return "avg";
}

namespace tsdb_detail {

bool valid_series_name(std::string_view n) {
  if (n.empty() || n.size() > 200) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return c > ' ' && c < 127; });
}
bool valid_group(std::string_view g) {
  if (g.empty() || g.size() > 64) return false;
  return std::all_of(g.begin(), g.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Series* Impl::get(SeriesId id) {
  Shard& sh = shards[id & (kShards - 1)];
  const size_t k = id / kShards;
  return k < sh.series.size() ? sh.series[k].get() : nullptr;
}

const Series* Impl::find_locked(std::string_view name, std::unique_lock<std::mutex>& lock) const {
  SeriesId id = 0;
  {
    std::shared_lock names_lock(names_mu);
    auto it = names.find(std::string(name));
    if (it == names.end()) return nullptr;
    id = it->second;
  }
  const Shard& sh = shards[id & (kShards - 1)];
  lock = std::unique_lock(sh.mu);
  return sh.series[id / kShards].get();
}

Result<SeriesId> Impl::create(std::string_view name, ValueType type, std::string_view group) {
  if (!valid_series_name(name)) {
    return unexpected(Error{"bad series name (1..200 printable characters, no spaces)"});
  }
  if (!valid_group(group)) {
    return unexpected(Error{"bad series group (1..64 of A-Z a-z 0-9 _ -)"});
  }
  std::unique_lock names_lock(names_mu);
  if (auto it = names.find(std::string(name)); it != names.end()) {
    Shard& sh = shards[it->second & (kShards - 1)];
    std::lock_guard lock(sh.mu);
    const Series& s = *sh.series[it->second / kShards];
    if (s.type != type) {
      return unexpected(Error{"series " + std::string(name) + " holds " + value_type_name(s.type) +
                              " values, not " + value_type_name(type)});
    }
    return it->second;
  }
  const auto shard = static_cast<uint32_t>(std::hash<std::string_view>{}(name) & (kShards - 1));
  Shard& sh = shards[shard];
  std::lock_guard lock(sh.mu);
  auto s = std::make_unique<Series>();
  s->name = std::string(name);
  s->group = std::string(group);
  s->type = type;
  s->id = static_cast<SeriesId>(sh.series.size() * kShards + shard);
  if (auto c = catalog_add(*s); !c) return unexpected(c.error());
  names.emplace(s->name, s->id);
  sh.series.push_back(std::move(s));
  series_count.fetch_add(1, std::memory_order_relaxed);
  return sh.series.back()->id;
}

void Impl::insert(Series& s, const Sample& p, uint64_t wal_offset, uint64_t seq) {
  Head& h = s.head;
  h.ts.push_back(p.ts_ms);
  switch (s.type) {
    case ValueType::Float:
      h.f.push_back(p.f);
      break;
    case ValueType::Int:
      h.i.push_back(p.i);
      break;
    case ValueType::Bool:
      h.i.push_back(p.i != 0 ? 1 : 0);
      break;
    case ValueType::String:
      h.s.emplace_back(p.s);
      break;
  }
  h.min_ts = std::min(h.min_ts, p.ts_ms);
  s.newest = std::max(s.newest, p.ts_ms);
  s.head_wal_first = std::min(s.head_wal_first, wal_offset);
  s.head_seq_next = std::max(s.head_seq_next, seq + 1);
  ++s.raw_points;
}

bool Impl::head_full(const Series& s) const {
  // Unsigned: the span of any two int64 timestamps fits (newest >= min_ts).
  return s.head.size() >= options.chunk_points ||
         (s.head.size() > 0 &&
          static_cast<uint64_t>(s.newest) - static_cast<uint64_t>(s.head.min_ts) >=
              static_cast<uint64_t>(options.chunk_span_ms));
}

Result<void> Impl::seal(Series& s) {
  if (s.head.size() == 0) return {};
  std::vector<std::string> encoded = encode_head(s, options.chunk_points);
  std::vector<SealedChunk> sealed;
  uint64_t sealed_points = 0;
  for (size_t k = 0; k < encoded.size(); ++k) {
    std::string& bytes = encoded[k];
    auto h = read_chunk_header(bytes);
    if (!h) return unexpected(h.error());  // an encoder bug; never on good input
    SealedChunk c{h->first_ts, h->last_ts, h->count, static_cast<uint32_t>(bytes.size()),
                  nullptr,     nullptr,    0};
    if (durable) {
      FileEntry e;
      e.kind = EntryKind::Raw;
      e.type = s.type;
      e.name = s.name;
      // Only the last chunk of the head claims its WAL records: if a later write fails, replay
      // must still bring back the points of the chunks not written.
      e.aux = k + 1 == encoded.size() ? s.head_seq_next : s.sealed_seq_next;
      e.chunk = bytes;
      const std::string entry = encode_entry(e);
      auto w = write_entry(s.group, day_name(h->first_ts), entry);
      if (!w) {
        // The points stay in the head and the WAL; the next seal tries again.
        write_errors.fetch_add(1, std::memory_order_relaxed);
        return unexpected(w.error());
      }
      c.file = w->first;
      c.offset = w->second + entry.size() - kEntryTrailer - bytes.size();  // the chunk ends it
    }
    sealed_points += h->count;
    c.bytes = std::make_shared<const std::string>(std::move(bytes));
    sealed.push_back(std::move(c));
  }
  for (SealedChunk& c : sealed) {
    chunk_bytes.fetch_add(c.size, std::memory_order_relaxed);
    chunks_sealed.fetch_add(1, std::memory_order_relaxed);
    s.chunks.push_back(std::move(c));
  }
  // Duplicate timestamps were merged by the encoder: count what the chunks hold.
  s.raw_points = s.raw_points - s.head.size() + sealed_points;
  s.sealed_seq_next = std::max(s.sealed_seq_next, s.head_seq_next);
  s.head.clear();
  s.head_wal_first = UINT64_MAX;
  return {};
}

// Accepted points of `samples` at `idx` (all in one shard, locked), appended to `ok`.
void Impl::accept(std::span<const Sample> samples, std::span<const uint32_t> idx,
                  std::vector<uint32_t>& ok) {
  size_t k = 0;
  while (k < idx.size()) {
    const SeriesId id = samples[idx[k]].series;
    size_t j = k;
    while (j < idx.size() && samples[idx[j]].series == id) ++j;
    Series* s = get(id);
    if (s == nullptr) {
      points_bad_series.fetch_add(j - k, std::memory_order_relaxed);
      k = j;
      continue;
    }
    auto window_floor = [this](int64_t newest_ts) {
      return newest_ts < kMinTs + options.out_of_order_ms ? kMinTs
                                                          : newest_ts - options.out_of_order_ms;
    };
    int64_t newest = s->newest;
    // Nothing older than what retention removed or rollups replaced comes back.
    int64_t min_ok = std::max(s->retained_from, s->rolled_until);
    if (newest != kMinTs) min_ok = std::max(min_ok, window_floor(newest));
    for (size_t q = k; q < j; ++q) {
      const int64_t ts = samples[idx[q]].ts_ms;
      if (ts == kMaxTs) {
        points_bad_timestamp.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (ts < min_ok) {
        points_too_old.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (ts > newest) {
        newest = ts;
        min_ok = std::max(min_ok, window_floor(newest));
      }
      ok.push_back(idx[q]);
    }
    k = j;
  }
}

void Impl::insert_all(std::span<const Sample> samples, std::span<const uint32_t> ok,
                      uint64_t wal_offset, uint64_t seq) {
  std::vector<Series*> to_seal;
  for (uint32_t i : ok) {
    Series& s = *get(samples[i].series);
    insert(s, samples[i], wal_offset, seq);
    if (head_full(s) && (to_seal.empty() || to_seal.back() != &s)) to_seal.push_back(&s);
  }
  // Sealed only after the whole record is in: a chunk holds all points of its records.
  for (Series* s : to_seal) {
    if (head_full(*s)) (void)seal(*s);  // a failed write is counted; the head keeps the points
  }
}

Result<size_t> Impl::append(std::span<const Sample> samples) {
  // Group the points by shard (stably: each series keeps its order), so each shard is locked
  // once per call.
  std::array<uint32_t, kShards + 1> start{};
  for (const Sample& p : samples) ++start[(p.series & (kShards - 1)) + 1];
  for (uint32_t k = 0; k < kShards; ++k) start[k + 1] += start[k];
  std::vector<uint32_t> order(samples.size());
  {
    auto pos = start;
    for (uint32_t i = 0; i < samples.size(); ++i) {
      order[pos[samples[i].series & (kShards - 1)]++] = i;
    }
  }
  auto group = [&](uint32_t shard) {
    return std::span<const uint32_t>(order.data() + start[shard], start[shard + 1] - start[shard]);
  };
  std::vector<uint32_t> ok;
  ok.reserve(samples.size());
  if (!wal) {
    size_t accepted = 0;
    for (uint32_t shard = 0; shard < kShards; ++shard) {
      if (start[shard] == start[shard + 1]) continue;
      std::lock_guard lock(shards[shard].mu);
      ok.clear();
      accept(samples, group(shard), ok);
      insert_all(samples, ok, 0, 0);
      accepted += ok.size();
    }
    points_appended.fetch_add(accepted, std::memory_order_relaxed);
    return accepted;
  }
  // The catalog entries of new series reach the disk before a WAL record names them.
  if (catalog_dirty.load(std::memory_order_acquire)) {
    if (auto c = sync_catalog_if_dirty(); !c) {
      write_errors.fetch_add(1, std::memory_order_relaxed);
      return unexpected(Error{"time-series catalog: " + c.error().message});
    }
  }
  // Durable: one WAL record per call, written while every shard it touches is locked, so that
  // within each series WAL order is insertion order (what replay and sealing rely on).
  std::array<std::unique_lock<std::mutex>, kShards> locks;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    if (start[shard] != start[shard + 1]) locks[shard] = std::unique_lock(shards[shard].mu);
  }
  for (uint32_t shard = 0; shard < kShards; ++shard) accept(samples, group(shard), ok);
  if (ok.empty()) return size_t{0};
  std::string record;
  // Taken under the shard locks: per series, sequence order is insertion order.
  const uint64_t seq = next_seq.fetch_add(1, std::memory_order_relaxed);
  wal_put_points(record, seq, samples, ok, [this](SeriesId id) { return get(id)->type; });
  std::string_view rec(record);
  auto r = wal->append({&rec, 1}, now_ms(), [this](const AppendResult& res) {
    if (res.error) {
      // The points are in the heads but not in the WAL: flush() seals them into chunk files.
      write_errors.fetch_add(1, std::memory_order_relaxed);
      wal_failures.fetch_add(1, std::memory_order_relaxed);
    }
  });
  if (!r) {
    write_errors.fetch_add(1, std::memory_order_relaxed);
    return unexpected(Error{"time-series WAL: " + r.error().message});
  }
  insert_all(samples, ok, *r, seq);
  points_appended.fetch_add(ok.size(), std::memory_order_relaxed);
  return ok.size();
}

// Everything of a series overlapping [from, to), copied under the lock, decoded outside it.
struct Snapshot {
  ValueType type = ValueType::Float;
  std::vector<SealedChunk> chunks;
  DecodedChunk head;
  std::vector<std::pair<int64_t, Rollup>> rollups;
  int64_t from = 0, to = 0;
};

Result<Snapshot> Impl::snapshot(std::string_view name, int64_t from, int64_t to) const {
  std::unique_lock<std::mutex> lock;
  const Series* s = find_locked(name, lock);
  if (s == nullptr) return unexpected(Error{"no series " + std::string(name)});
  Snapshot snap;
  snap.type = s->type;
  snap.head.type = s->type;
  snap.from = std::max(from, s->retained_from);
  snap.to = to;
  if (snap.from >= to) return snap;
  for (const SealedChunk& c : s->chunks) {
    if (c.max_ts >= snap.from && c.min_ts < to) snap.chunks.push_back(c);
  }
  const Head& h = s->head;
  for (size_t k = 0; k < h.size(); ++k) {
    if (h.ts[k] < snap.from || h.ts[k] >= to) continue;
    snap.head.ts.push_back(h.ts[k]);
    if (!h.f.empty()) snap.head.floats.push_back(h.f[k]);
    if (!h.i.empty()) snap.head.ints.push_back(h.i[k]);
    if (!h.s.empty()) snap.head.strings.push_back(h.s[k]);
  }
  for (auto it = s->rollups.lower_bound(snap.from); it != s->rollups.end() && it->first < to;
       ++it) {
    snap.rollups.emplace_back(*it);
  }
  return snap;
}

Result<DecodedChunk> Impl::raw_points(Snapshot& snap) const {
  DecodedChunk out;
  out.type = snap.type;
  for (const SealedChunk& c : snap.chunks) {
    auto bytes = chunk_data(c);
    if (!bytes) return unexpected(bytes.error());
    auto d = decode_chunk(**bytes);
    if (!d) return unexpected(d.error());
    append_points(out, std::move(*d));
  }
  append_points(out, std::move(snap.head));
  sort_dedupe_clip(out, snap.from, snap.to);
  return out;
}

}  // namespace tsdb_detail

std::unique_ptr<Tsdb> Tsdb::in_memory(TsdbOptions options) {
  std::unique_ptr<Tsdb> db(new Tsdb());
  db->impl_ = std::make_unique<Tsdb::Impl>();
  db->impl_->options = std::move(options);
  return db;
}

Tsdb::~Tsdb() {
  if (!impl_) return;
  if (impl_->maintainer.joinable()) {
    {
      std::lock_guard lock(impl_->stop_mu);
      impl_->stopping = true;
    }
    impl_->stop_cv.notify_all();
    impl_->maintainer.join();
  }
  if (impl_->wal) {
    (void)impl_->wal->flush();
    impl_->wal.reset();  // its writer thread calls back into *impl_ until it stops
  }
}

Result<SeriesId> Tsdb::series(std::string_view name, ValueType type, std::string_view group) {
  return impl_->create(name, type, group);
}

std::optional<SeriesId> Tsdb::find(std::string_view name) const {
  std::shared_lock lock(impl_->names_mu);
  auto it = impl_->names.find(std::string(name));
  if (it == impl_->names.end()) return std::nullopt;
  return it->second;
}

Result<size_t> Tsdb::append(std::span<const Sample> samples) { return impl_->append(samples); }

Result<DecodedChunk> Tsdb::range(std::string_view name, int64_t from_ms, int64_t to_ms) const {
  auto snap = impl_->snapshot(name, from_ms, to_ms);
  if (!snap) return unexpected(snap.error());
  auto rollups = std::move(snap->rollups);
  auto raw = impl_->raw_points(*snap);
  if (!raw || rollups.empty()) return raw;
  // Old data is only kept as rollups: one point per bucket, its average.
  DecodedChunk old;
  old.type = raw->type;
  for (const auto& [start, r] : rollups) {
    old.ts.push_back(start);
    const double avg = r.sum / static_cast<double>(r.count);
    if (old.type == ValueType::Float) {
      old.floats.push_back(avg);
    } else {
      old.ints.push_back(std::llround(avg));
    }
  }
  append_points(old, std::move(*raw));
  sort_dedupe_clip(old, kMinTs, kMaxTs);
  return old;
}

std::optional<std::pair<int64_t, Value>> Tsdb::latest(std::string_view name) const {
  int64_t newest = kMinTs;
  {
    std::unique_lock<std::mutex> lock;
    const Series* s = impl_->find_locked(name, lock);
    if (s == nullptr || s->newest == kMinTs) return std::nullopt;
    newest = s->newest;
  }
  auto r = range(name, newest, newest == kMaxTs ? kMaxTs : newest + 1);
  // The newest point may only be in a rollup bucket (starting before it): take the last of all.
  if (r && r->ts.empty()) r = range(name, kMinTs, kMaxTs);
  if (!r || r->ts.empty()) return std::nullopt;
  const size_t k = r->ts.size() - 1;
  switch (r->type) {
    case ValueType::Float:
      return std::pair<int64_t, Value>{r->ts[k], r->floats[k]};
    case ValueType::Int:
      return std::pair<int64_t, Value>{r->ts[k], r->ints[k]};
    case ValueType::Bool:
      return std::pair<int64_t, Value>{r->ts[k], r->ints[k] != 0};
    case ValueType::String:
      return std::pair<int64_t, Value>{r->ts[k], r->strings[k]};
  }
  return std::nullopt;
}

Result<std::vector<Bucket>> Tsdb::downsample(std::string_view name, int64_t from_ms, int64_t to_ms,
                                             int64_t step_ms, Agg agg) const {
  if (step_ms <= 0) return unexpected(Error{"step must be positive"});
  auto snap = impl_->snapshot(name, from_ms, to_ms);
  if (!snap) return unexpected(snap.error());
  if (snap->type == ValueType::String) {
    return unexpected(Error{"series " + std::string(name) + " holds strings: no aggregates"});
  }
  auto rollups = std::move(snap->rollups);
  auto raw = impl_->raw_points(*snap);
  if (!raw) return unexpected(raw.error());
  auto bucket_of = [step_ms](int64_t ts) { return bucket_start(ts, step_ms); };
  // Both inputs are sorted by time: buckets fill in order, then the two lists merge.
  using Acc = std::vector<std::pair<int64_t, Rollup>>;
  auto bucket = [](Acc& v, int64_t start) -> Rollup& {
    if (v.empty() || v.back().first != start) v.emplace_back(start, Rollup{});
    return v.back().second;
  };
  Acc old, fresh;
  for (const auto& [start, r] : rollups) bucket(old, bucket_of(start)).merge(r);
  for (size_t k = 0; k < raw->ts.size(); ++k) {
    bucket(fresh, bucket_of(raw->ts[k])).add(raw->ts[k], value_as_double(*raw, k));
  }
  Acc acc;
  acc.reserve(old.size() + fresh.size());
  size_t i = 0, j = 0;
  while (i < old.size() || j < fresh.size()) {
    if (j == fresh.size() || (i < old.size() && old[i].first < fresh[j].first)) {
      acc.push_back(old[i++]);
    } else if (i == old.size() || fresh[j].first < old[i].first) {
      acc.push_back(fresh[j++]);
    } else {
      acc.push_back(old[i++]);
      acc.back().second.merge(fresh[j++].second);
    }
  }
  std::vector<Bucket> out;
  out.reserve(acc.size());
  for (const auto& [start, r] : acc) {
    double v = 0;
    switch (agg) {
      case Agg::Avg:
        v = r.sum / static_cast<double>(r.count);
        break;
      case Agg::Min:
        v = r.min;
        break;
      case Agg::Max:
        v = r.max;
        break;
      case Agg::Sum:
        v = r.sum;
        break;
      case Agg::Count:
        v = static_cast<double>(r.count);
        break;
      case Agg::First:
        v = r.first;
        break;
      case Agg::Last:
        v = r.last;
        break;
    }
    out.push_back(Bucket{start, v, r.count});
  }
  return out;
}

std::vector<SeriesInfo> Tsdb::list() const {
  std::vector<SeriesInfo> out;
  for (const Shard& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    for (const auto& s : sh.series) {
      SeriesInfo info{s->name, s->group, s->type, s->raw_points + s->rollups.size(),
                      kMaxTs,  s->newest};
      for (const auto& c : s->chunks) info.first_ts = std::min(info.first_ts, c.min_ts);
      if (!s->rollups.empty()) info.first_ts = std::min(info.first_ts, s->rollups.begin()->first);
      info.first_ts = std::min(info.first_ts, s->head.min_ts);
      if (info.points == 0) info.first_ts = info.last_ts = 0;
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const SeriesInfo& a, const SeriesInfo& b) { return a.name < b.name; });
  return out;
}

Result<void> Tsdb::seal_all() {
  for (Shard& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    for (auto& s : sh.series) {
      if (auto r = impl_->seal(*s); !r) return r;
    }
  }
  return {};
}

TsdbStats Tsdb::stats() const {
  const Impl& m = *impl_;
  TsdbStats st;
  st.series = m.series_count.load(std::memory_order_relaxed);
  st.points_appended = m.points_appended.load(std::memory_order_relaxed);
  st.points_too_old = m.points_too_old.load(std::memory_order_relaxed);
  st.points_bad_series = m.points_bad_series.load(std::memory_order_relaxed);
  st.points_bad_timestamp = m.points_bad_timestamp.load(std::memory_order_relaxed);
  st.chunks_sealed = m.chunks_sealed.load(std::memory_order_relaxed);
  st.chunk_bytes = m.chunk_bytes.load(std::memory_order_relaxed);
  st.points_rolled_up = m.points_rolled_up.load(std::memory_order_relaxed);
  st.points_expired = m.points_expired.load(std::memory_order_relaxed);
  st.wal_records_replayed = m.wal_records_replayed.load(std::memory_order_relaxed);
  st.chunk_files_loaded = m.chunk_files_loaded.load(std::memory_order_relaxed);
  st.write_errors = m.write_errors.load(std::memory_order_relaxed);
  for (const Shard& sh : m.shards) {
    std::lock_guard lock(sh.mu);
    for (const auto& s : sh.series) st.head_points += s->head.size();
  }
  return st;
}

void Tsdb::register_metrics(metrics::Registry& registry) {
  registry.add_collector([this](metrics::Exposition& e) {
    const TsdbStats st = stats();
    e.gauge("verge_tsdb_series", "Time series stored", {}, static_cast<double>(st.series));
    e.counter("verge_tsdb_points_appended_total", "Points accepted", {},
              static_cast<double>(st.points_appended));
    e.counter("verge_tsdb_points_rejected_total", "Points refused", {{"reason", "too_old"}},
              static_cast<double>(st.points_too_old));
    e.counter("verge_tsdb_points_rejected_total", "Points refused", {{"reason", "bad_series"}},
              static_cast<double>(st.points_bad_series));
    e.counter("verge_tsdb_points_rejected_total", "Points refused", {{"reason", "bad_timestamp"}},
              static_cast<double>(st.points_bad_timestamp));
    e.counter("verge_tsdb_chunks_sealed_total", "Chunks sealed", {},
              static_cast<double>(st.chunks_sealed));
    e.gauge("verge_tsdb_head_points", "Points not yet sealed into chunks", {},
            static_cast<double>(st.head_points));
    e.counter("verge_tsdb_points_rolled_up_total", "Raw points replaced by rollups", {},
              static_cast<double>(st.points_rolled_up));
    e.counter("verge_tsdb_points_expired_total", "Points removed by retention", {},
              static_cast<double>(st.points_expired));
    e.counter("verge_tsdb_write_errors_total", "Failed writes of chunks or WAL records", {},
              static_cast<double>(st.write_errors));
  });
}

}  // namespace verge::store

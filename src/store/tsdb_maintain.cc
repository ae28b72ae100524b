// Retention by age and rollups of old data, per series group.
#include <algorithm>

#include "core/log.h"
#include "store/tsdb_impl.h"

namespace verge::store {

using namespace tsdb_detail;

namespace tsdb_detail {

GroupPolicy Impl::policy(const std::string& group) const {
  for (const GroupPolicy& g : options.groups) {
    if (g.group == group) return g;
  }
  return GroupPolicy{group, options.retention_ms, options.downsample_after_ms};
}

namespace {

int64_t sub_sat(int64_t a, int64_t b) { return a < kMinTs + b ? kMinTs : a - b; }

}  // namespace

Result<void> maintain_one(Impl& m, Series& s, int64_t now) {
  const GroupPolicy pol = m.policy(s.group);
  if (pol.retention_ms > 0) {
    const int64_t cutoff = sub_sat(now, pol.retention_ms);
    if (cutoff > s.retained_from) {
      s.retained_from = cutoff;
      auto old = [&](const SealedChunk& c) { return c.max_ts < cutoff; };
      for (const SealedChunk& c : s.chunks) {
        if (!old(c)) continue;
        m.points_expired.fetch_add(c.count, std::memory_order_relaxed);
        m.chunk_bytes.fetch_sub(c.size, std::memory_order_relaxed);
        s.raw_points -= std::min<uint64_t>(s.raw_points, c.count);
      }
      std::erase_if(s.chunks, old);
      s.rollups.erase(s.rollups.begin(), s.rollups.lower_bound(cutoff));
      // Partly expired chunks and head points stay until they are whole; queries clip them.
    }
  }
  // A head that stopped receiving points is sealed once it spans back a chunk span, so its WAL
  // records can be dropped.
  if (s.head.size() > 0 && s.head.min_ts < sub_sat(now, m.options.chunk_span_ms)) {
    if (auto r = m.seal(s); !r) return r;
  }
  // Cold chunks leave memory; their file has them.
  if (m.durable) {
    const int64_t cold = sub_sat(now, m.options.hot_ms);
    for (SealedChunk& c : s.chunks) {
      if (c.file && c.bytes && c.max_ts < cold) c.bytes.reset();
    }
  }
  if (pol.downsample_after_ms <= 0 || (s.type != ValueType::Float && s.type != ValueType::Int)) {
    return {};
  }
  const int64_t dcut =
      bucket_start(sub_sat(now, pol.downsample_after_ms), m.options.rollup_step_ms);
  if (dcut <= s.rolled_until) return {};
  if (s.head.size() > 0 && s.head.min_ts < dcut) {
    if (auto r = m.seal(s); !r) return r;
  }
  std::map<int64_t, Rollup> fresh;
  uint64_t rolled = 0;
  std::vector<SealedChunk> keep;
  for (SealedChunk& c : s.chunks) {
    if (c.max_ts >= dcut) {
      keep.push_back(std::move(c));
      continue;
    }
    auto bytes = m.chunk_data(c);
    if (!bytes) return unexpected(Error{"series " + s.name + ": " + bytes.error().message});
    auto d = decode_chunk(**bytes);
    if (!d) return unexpected(Error{"series " + s.name + ": " + d.error().message});
    for (size_t k = 0; k < d->ts.size(); ++k) {
      fresh[bucket_start(d->ts[k], m.options.rollup_step_ms)].add(d->ts[k], value_as_double(*d, k));
    }
    rolled += c.count;
    m.chunk_bytes.fetch_sub(c.size, std::memory_order_relaxed);
  }
  if (m.durable && !fresh.empty()) {
    // One entry per day file; on open it hides the raw chunks it covers (max_ts < dcut).
    FileEntry e;
    e.kind = EntryKind::Rollup;
    e.type = s.type;
    e.name = s.name;
    e.aux = static_cast<uint64_t>(dcut);
    std::string day;
    auto flush = [&]() -> Result<void> {
      if (e.rollups.empty()) return {};
      auto r = m.write_entry(s.group, day + "-rollup", encode_entry(e));
      e.rollups.clear();
      if (!r) return unexpected(r.error());
      return {};
    };
    for (const auto& [start, r] : fresh) {
      const std::string d = day_name(start);
      if (d != day) {
        if (auto w = flush(); !w) return w;
        day = d;
      }
      e.rollups.emplace_back(start, r);
    }
    if (auto w = flush(); !w) return w;  // chunks stay raw; the next maintenance tries again
  }
  for (const auto& [start, r] : fresh) s.rollups[start].merge(r);
  s.chunks = std::move(keep);
  s.raw_points -= std::min(s.raw_points, rolled);
  s.rolled_until = dcut;
  m.points_rolled_up.fetch_add(rolled, std::memory_order_relaxed);
  return {};
}

}  // namespace tsdb_detail

Result<void> Tsdb::maintain(int64_t now_ms) {
  Result<void> result;
  for (Shard& sh : impl_->shards) {
    std::lock_guard lock(sh.mu);
    for (auto& s : sh.series) {
      if (auto r = maintain_one(*impl_, *s, now_ms); !r && result) result = r;
    }
  }
  if (!result) {
    impl_->write_errors.fetch_add(1, std::memory_order_relaxed);
    log_warn("time-series maintenance failed", {{"error", result.error().message}});
    return result;
  }
  if (impl_->durable) {
    if (auto r = impl_->drop_files(now_ms); !r) return r;
  }
  auto c = checkpoint();
  if (!c) log_warn("time-series checkpoint failed", {{"error", c.error().message}});
  return c;
}

}  // namespace verge::store

// Point columns: merging, ordering and encoding the head of a series.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "store/tsdb_internal.h"

namespace verge::store::tsdb_detail {
namespace {

// Keeps the points at `order` (indexes into d) in that order.
void permute(DecodedChunk& d, const std::vector<uint32_t>& order) {
  auto pick = [&](auto& col) {
    if (col.empty()) return;
    std::remove_reference_t<decltype(col)> out;
    out.reserve(order.size());
    for (uint32_t k : order) out.push_back(std::move(col[k]));
    col = std::move(out);
  };
  pick(d.ts);
  pick(d.floats);
  pick(d.ints);
  pick(d.strings);
}

}  // namespace

void Rollup::add(int64_t ts, double v) {
  if (count == 0) {
    min = max = first = last = v;
    first_ts = last_ts = ts;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
    if (ts < first_ts) first = v, first_ts = ts;
    if (ts >= last_ts) last = v, last_ts = ts;
  }
  sum += v;
  ++count;
}

void Rollup::merge(const Rollup& o) {
  if (o.count == 0) return;
  if (count == 0) {
    *this = o;
    return;
  }
  sum += o.sum;
  count += o.count;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  if (o.first_ts < first_ts) first = o.first, first_ts = o.first_ts;
  if (o.last_ts >= last_ts) last = o.last, last_ts = o.last_ts;
}

void Head::clear() {
  ts.clear();
  f.clear();
  i.clear();
  s.clear();
  min_ts = kMaxTs;
}

void sort_dedupe_clip(DecodedChunk& d, int64_t from, int64_t to) {
  const size_t n = d.ts.size();
  bool sorted_unique = true;
  for (size_t k = 1; k < n && sorted_unique; ++k) sorted_unique = d.ts[k - 1] < d.ts[k];
  if (sorted_unique) {
    // The common case: chunks in order. Clip by binary search.
    const size_t lo = std::lower_bound(d.ts.begin(), d.ts.end(), from) - d.ts.begin();
    const size_t hi = std::lower_bound(d.ts.begin(), d.ts.end(), to) - d.ts.begin();
    if (lo == 0 && hi == n) return;
    auto cut = [&](auto& col) {
      if (col.empty()) return;
      col.erase(col.begin() + static_cast<ptrdiff_t>(hi), col.end());
      col.erase(col.begin(), col.begin() + static_cast<ptrdiff_t>(lo));
    };
    cut(d.ts);
    cut(d.floats);
    cut(d.ints);
    cut(d.strings);
    return;
  }
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return d.ts[a] < d.ts[b]; });
  std::vector<uint32_t> keep;
  keep.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    const int64_t t = d.ts[order[k]];
    if (t < from || t >= to) continue;
    // Of equal timestamps the stable sort keeps write order: the last one wins.
    if (k + 1 < n && d.ts[order[k + 1]] == t) continue;
    keep.push_back(order[k]);
  }
  permute(d, keep);
}

void append_points(DecodedChunk& dst, DecodedChunk&& src) {
  auto add = [](auto& a, auto& b) {
    if (a.empty()) {
      a = std::move(b);
    } else {
      a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
    }
  };
  add(dst.ts, src.ts);
  add(dst.floats, src.floats);
  add(dst.ints, src.ints);
  add(dst.strings, src.strings);
}

std::vector<std::string> encode_head(const Series& s, uint32_t max_points) {
  DecodedChunk d;
  d.type = s.type;
  d.ts = s.head.ts;
  d.floats = s.head.f;
  d.ints = s.head.i;
  d.strings = s.head.s;
  sort_dedupe_clip(d, kMinTs, kMaxTs);
  max_points = std::clamp<uint32_t>(max_points, 1, kMaxChunkPoints);
  std::vector<std::string> out;
  for (size_t at = 0; at < d.ts.size(); at += max_points) {
    const size_t n = std::min<size_t>(max_points, d.ts.size() - at);
    std::span<const int64_t> ts(d.ts.data() + at, n);
    switch (s.type) {
      case ValueType::Float:
        out.push_back(encode_float_chunk(ts, {d.floats.data() + at, n}));
        break;
      case ValueType::Int:
        out.push_back(encode_int_chunk(ts, {d.ints.data() + at, n}));
        break;
      case ValueType::Bool:
        out.push_back(encode_bool_chunk(ts, {d.ints.data() + at, n}));
        break;
      case ValueType::String:
        out.push_back(encode_string_chunk(ts, {d.strings.data() + at, n}));
        break;
    }
  }
  return out;
}

double value_as_double(const DecodedChunk& d, size_t i) {
  return d.type == ValueType::Float ? d.floats[i] : static_cast<double>(d.ints[i]);
}

}  // namespace verge::store::tsdb_detail

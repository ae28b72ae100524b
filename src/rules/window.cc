// Window semantics (see docs/rules/semantics.md for timelines):
//   tumbling  [k*size, (k+1)*size), aligned to the epoch, emitted when time reaches the end
//   hopping   [k*hop, k*hop+size), one ending every hop
//   sliding   each triggering row at t emits (t-size, t+delay] once time reaches t+delay
//   session   from the first row until `gap` passes without rows or `max` after the start
//   count     every count_hop rows, the last `count` rows (once there are `count`)
// Tumbling, hopping and session windows of aggregate statements keep accumulators only; the
// other windows keep rows, bounded by max_window_rows.
#include "rules/window.h"

#include <algorithm>
#include <climits>

namespace verge::rules {
namespace {

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

Windows::Windows(const Plan& plan, const RuleLimits& limits, RuleCounters& counters,
                 Emitter& emitter)
    : plan_(plan),
      w_(plan.window ? &*plan.window : nullptr),
      limits_(limits),
      counters_(counters),
      emitter_(emitter) {
  if (w_ == nullptr) running_.emplace_back(limits.max_groups);
}

void Windows::store(std::deque<StoredRow>& rows, const Value& record,
                    std::span<const Value* const> tables, int64_t ts, bool sorted, bool pre) {
  StoredRow row;
  row.ts = ts;
  row.record = record;
  row.tables.reserve(tables.size());
  for (const Value* t : tables) row.tables.push_back(t == nullptr ? Value() : *t);
  if (pre) emitter_.save_evaluated(row.pre);
  if (sorted && !rows.empty() && rows.back().ts > ts) {
    auto pos = std::upper_bound(rows.begin(), rows.end(), ts,
                                [](int64_t v, const StoredRow& r) { return v < r.ts; });
    rows.insert(pos, std::move(row));
  } else {
    rows.push_back(std::move(row));
  }
  if (rows.size() > limits_.max_window_rows) {
    rows.pop_front();
    ++counters_.evicted;
  }
}

bool Windows::add_to(Instance& inst, EvalCtx& ctx, const Value& record,
                     std::span<const Value* const> tables, int64_t ts) {
  if (!grouped()) {
    store(inst.rows, record, tables, ts, false);
    return true;
  }
  Group* g = inst.groups.find(emitter_.key(), emitter_.key_hash());
  if (g == nullptr &&
      inst.groups.insert(emitter_.key(), emitter_.key_hash(), emitter_.new_group(), &g)) {
    ++counters_.evicted;
  }
  if (!emitter_.accumulate(*g, ctx)) return false;
  Emitter::set_last(*g, record, tables);
  return true;
}

Windows::AddResult Windows::add(EvalCtx& ctx, const Value& record,
                                std::span<const Value* const> tables, int64_t ts, RuleOutput& out) {
  auto prepare = [&] {
    return !grouped() || (emitter_.eval_key(ctx) && emitter_.eval_agg_args(ctx));
  };
  if (w_ == nullptr) {
    if (!prepare()) return AddResult::Error;
    Instance& inst = running_[0];
    if (!add_to(inst, ctx, record, tables, ts)) return AddResult::Error;
    // The group just updated is the most recent one; emit its new state.
    ctx_.call.now_ms = ctx.call.now_ms;
    emitter_.begin();
    emitter_.point_at(ctx_, inst.groups.entries().front().value);
    emitter_.add(ctx_, out);
    emitter_.finish(out);
    return AddResult::Ok;
  }
  switch (w_->kind) {
    case WindowKind::Tumbling:
    case WindowKind::Hopping: {
      const int64_t size = w_->size_ms, hop = w_->hop_ms;
      starts_.clear();
      for (int64_t s = floor_div(ts, hop) * hop; s > ts - size; s -= hop) {
        if (s + size <= closed_upto_) break;  // this one and every earlier one are closed
        starts_.push_back(s);
      }
      if (starts_.empty()) return AddResult::Late;
      if (!prepare()) return AddResult::Error;
      for (const int64_t start : starts_) {
        auto it = aligned_.find(start);
        if (it == aligned_.end()) {
          it = aligned_.emplace(start, Instance(limits_.max_groups)).first;
          it->second.start = start;
          it->second.end = start + size;
        }
        if (!add_to(it->second, ctx, record, tables, ts)) return AddResult::Error;
      }
      return AddResult::Ok;
    }
    case WindowKind::Session: {
      const int64_t gap = w_->hop_ms, max_len = w_->size_ms;
      Instance* target = nullptr;
      for (auto& s : sessions_) {
        if (ts >= s.start - gap && ts < s.last + gap && ts < s.start + max_len) {
          target = &s;
          break;
        }
      }
      if (target == nullptr && ts + gap <= closed_upto_) return AddResult::Late;
      if (!prepare()) return AddResult::Error;
      if (target == nullptr) {
        auto pos = std::upper_bound(sessions_.begin(), sessions_.end(), ts,
                                    [](int64_t v, const Instance& s) { return v < s.start; });
        target = &*sessions_.emplace(pos, limits_.max_groups);
        target->start = ts;
        target->last = ts;
      }
      target->start = std::min(target->start, ts);
      target->last = std::max(target->last, ts);
      return add_to(*target, ctx, record, tables, ts) ? AddResult::Ok : AddResult::Error;
    }
    case WindowKind::Sliding: {
      if (plan_.event_time && ts < closed_upto_) return AddResult::Late;
      bool fire = true;
      if (w_->trigger) {
        Value s;
        const Value* v = w_->trigger->eval(ctx, s);
        if (v == nullptr) return AddResult::Error;
        fire = v->is_true();
      }
      if (!prepare()) return AddResult::Error;
      store(rows_, record, tables, ts, true, grouped());
      if (fire) {
        pending_.emplace(ts + w_->hop_ms, ts);
        // Triggers waiting for a delay or for the watermark are state too.
        if (pending_.size() > limits_.max_window_rows) {
          pending_.erase(pending_.begin());
          ++counters_.evicted;
        }
      }
      return AddResult::Ok;
    }
    case WindowKind::Count: {
      if (!prepare()) return AddResult::Error;
      store(rows_, record, tables, ts, false, grouped());
      const auto full = static_cast<size_t>(
          std::min<int64_t>(w_->count, static_cast<int64_t>(limits_.max_window_rows)));
      while (rows_.size() > full) rows_.pop_front();
      if (++since_emit_ >= w_->count_hop && rows_.size() >= full) {
        since_emit_ = 0;
        emit_rows(rows_.begin(), rows_.end(), rows_.front().ts, rows_.back().ts, ctx.call.now_ms,
                  out);
      }
      return AddResult::Ok;
    }
  }
  return AddResult::Ok;
}

int64_t Windows::session_end(const Instance& s) const {
  return std::min(s.last + w_->hop_ms, s.start + w_->size_ms);
}

void Windows::advance(int64_t t, int64_t now_ms, RuleOutput& out) {
  if (t < closed_upto_) return;
  closed_upto_ = t;
  if (w_ == nullptr) return;
  switch (w_->kind) {
    case WindowKind::Tumbling:
    case WindowKind::Hopping:
      while (!aligned_.empty() && aligned_.begin()->second.end <= t) {
        auto node = aligned_.extract(aligned_.begin());
        Instance& inst = node.mapped();
        emit_instance(inst, inst.start, inst.end, now_ms, out);
      }
      return;
    case WindowKind::Session:
      for (size_t i = 0; i < sessions_.size();) {
        const int64_t end = session_end(sessions_[i]);
        if (end <= t) {
          Instance inst = std::move(sessions_[i]);
          sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(i));
          emit_instance(inst, inst.start, end, now_ms, out);
        } else {
          ++i;
        }
      }
      return;
    case WindowKind::Sliding: {
      const int64_t size = w_->size_ms;
      while (!pending_.empty() && pending_.begin()->first <= t) {
        const int64_t fire = pending_.begin()->first;
        const int64_t t0 = pending_.begin()->second;
        pending_.erase(pending_.begin());
        auto by_ts = [](const StoredRow& r, int64_t v) { return r.ts <= v; };
        auto first = std::partition_point(rows_.cbegin(), rows_.cend(),
                                          [&](const StoredRow& r) { return by_ts(r, t0 - size); });
        auto last = std::partition_point(rows_.cbegin(), rows_.cend(),
                                         [&](const StoredRow& r) { return by_ts(r, fire); });
        if (first < last) emit_rows(first, last, t0 - size, fire, now_ms, out);
      }
      // Rows no pending or future window can reach.
      int64_t oldest = t;
      if (!pending_.empty()) oldest = std::min(oldest, pending_.begin()->second);
      while (!rows_.empty() && rows_.front().ts <= oldest - size) rows_.pop_front();
      return;
    }
    case WindowKind::Count:
      return;
  }
}

int64_t Windows::next_deadline() const {
  if (w_ == nullptr || plan_.event_time) return INT64_MAX;
  switch (w_->kind) {
    case WindowKind::Tumbling:
    case WindowKind::Hopping:
      return aligned_.empty() ? INT64_MAX : aligned_.begin()->second.end;
    case WindowKind::Session: {
      int64_t d = INT64_MAX;
      for (const auto& s : sessions_) d = std::min(d, session_end(s));
      return d;
    }
    case WindowKind::Sliding:
      return pending_.empty() ? INT64_MAX : pending_.begin()->first;
    case WindowKind::Count:
      return INT64_MAX;
  }
  return INT64_MAX;
}

void Windows::emit_instance(Instance& inst, int64_t ws, int64_t we, int64_t now_ms,
                            RuleOutput& out) {
  if (grouped()) {
    emit_groups(inst.groups, ws, we, now_ms, out);
  } else {
    emit_rows(inst.rows.cbegin(), inst.rows.cend(), ws, we, now_ms, out);
  }
}

void Windows::emit_rows(std::deque<StoredRow>::const_iterator first,
                        std::deque<StoredRow>::const_iterator last, int64_t ws, int64_t we,
                        int64_t now_ms, RuleOutput& out) {
  ctx_.call.now_ms = now_ms;
  ctx_.window_start = ws;
  ctx_.window_end = we;
  if (!grouped()) {
    emitter_.begin();
    for (auto it = first; it != last; ++it) {
      emitter_.point_at(ctx_, *it);
      emitter_.add(ctx_, out);
    }
    emitter_.finish(out);
    return;
  }
  // Rows of grouped statements carry their key and aggregate arguments (StoredRow::pre).
  const size_t nkeys = plan_.keys.size();
  if (nkeys == 0) {
    // One group: no key to look up per row.
    Group g = emitter_.new_group();
    for (auto it = first; it != last; ++it) {
      if (!emitter_.accumulate_saved(g, it->pre, ctx_.call)) {
        emitter_.reject(ctx_.call.error, &it->record, out);
      }
    }
    if (first == last) return;
    Emitter::set_last(g, *std::prev(last));
    emitter_.begin();
    emitter_.point_at(ctx_, g);
    emitter_.add(ctx_, out);
    emitter_.finish(out);
    return;
  }
  LruTable<Group> groups(limits_.max_groups);
  for (auto it = first; it != last; ++it) {
    const std::span<const Value> key(it->pre.data(), std::min(nkeys, it->pre.size()));
    const size_t hash = hash_key(key);
    Group* g = groups.find(key, hash);
    if (g == nullptr && groups.insert(key, hash, emitter_.new_group(), &g)) ++counters_.evicted;
    if (!emitter_.accumulate_saved(*g, it->pre, ctx_.call)) {
      emitter_.reject(ctx_.call.error, &it->record, out);
    }
    g->last_stored = &*it;  // copied once per group below, not once per row
  }
  for (auto& e : groups.entries()) {
    if (e.value.last_stored != nullptr) Emitter::set_last(e.value, *e.value.last_stored);
  }
  emit_groups(groups, ws, we, now_ms, out);
}

void Windows::emit_groups(LruTable<Group>& groups, int64_t ws, int64_t we, int64_t now_ms,
                          RuleOutput& out) {
  ctx_.call.now_ms = now_ms;
  ctx_.window_start = ws;
  ctx_.window_end = we;
  std::vector<const Group*> order;
  order.reserve(groups.size());
  for (const auto& e : groups.entries()) order.push_back(&e.value);
  std::sort(order.begin(), order.end(),
            [](const Group* a, const Group* b) { return a->seq < b->seq; });
  emitter_.begin();
  for (const Group* g : order) {
    emitter_.point_at(ctx_, *g);
    emitter_.add(ctx_, out);
  }
  emitter_.finish(out);
}

size_t Windows::state_bytes() const {
  size_t n = sizeof(*this);
  auto rows_bytes = [](const std::deque<StoredRow>& rows) {
    size_t b = 0;
    for (const auto& r : rows) {
      b += sizeof(StoredRow) + approx_bytes(r.record);
      for (const auto& t : r.tables) b += approx_bytes(t);
      for (const auto& v : r.pre) b += approx_bytes(v);
    }
    return b;
  };
  auto inst_bytes = [&](const Instance& inst) {
    size_t b = sizeof(Instance) + rows_bytes(inst.rows);
    // A group: the entry, its key, its accumulators (about 64 bytes each), its last row.
    for (const auto& e : inst.groups.entries()) {
      b += sizeof(e) + 48 + e.key.size() * sizeof(Value) + e.value.accs.size() * 64;
      for (const auto& k : e.key) b += approx_bytes(k);
      b += approx_bytes(e.value.record);
    }
    return b;
  };
  for (const auto& [start, inst] : aligned_) n += inst_bytes(inst);
  for (const auto& s : sessions_) n += inst_bytes(s);
  for (const auto& r : running_) n += inst_bytes(r);
  n += rows_bytes(rows_) + pending_.size() * 48;
  return n;
}

}  // namespace verge::rules

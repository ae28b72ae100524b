#include "rules/emit.h"

#include <algorithm>

namespace verge::rules {

Emitter::Emitter(const Plan& plan, RuleCounters& counters)
    : plan_(plan), counters_(counters), key_(plan.keys.size()), ptrs_(plan.joins.size()) {
  agg_args_.resize(plan.aggs.size());
  for (size_t i = 0; i < plan.aggs.size(); ++i) {
    agg_args_[i].resize(plan.aggs[i].star ? 1 : plan.aggs[i].args.size());
    if (plan.aggs[i].star) agg_args_[i][0] = Value(true);  // count(*) counts every row
  }
}

bool Emitter::eval_key(EvalCtx& ctx) {
  for (size_t i = 0; i < plan_.keys.size(); ++i) {
    const Value* v = plan_.keys[i]->eval(ctx, key_[i]);
    if (v == nullptr) return false;
    if (v != &key_[i]) key_[i] = *v;
  }
  key_hash_ = hash_key(key_);
  return true;
}

bool Emitter::eval_agg_args(EvalCtx& ctx) {
  for (size_t i = 0; i < plan_.aggs.size(); ++i) {
    const auto& site = plan_.aggs[i];
    auto& buf = agg_args_[i];
    for (size_t j = 0; j < site.args.size(); ++j) {
      const Value* v = site.args[j]->eval(ctx, buf[j]);
      if (v == nullptr) return false;
      if (v != &buf[j]) buf[j] = *v;
    }
  }
  return true;
}

bool Emitter::accumulate(Group& g, EvalCtx& ctx) {
  for (size_t i = 0; i < g.accs.size(); ++i) {
    ctx.call.error.clear();
    if (!g.accs[i]->add(agg_args_[i], ctx.call)) {
      if (ctx.call.error.empty()) ctx.call.error = std::string(plan_.aggs[i].fn->name) + " failed";
      return false;
    }
  }
  return true;
}

void Emitter::save_evaluated(std::vector<Value>& pre) const {
  pre.assign(key_.begin(), key_.end());
  for (size_t i = 0; i < agg_args_.size(); ++i) {
    if (!plan_.aggs[i].star) pre.insert(pre.end(), agg_args_[i].begin(), agg_args_[i].end());
  }
}

bool Emitter::accumulate_saved(Group& g, std::span<const Value> pre, CallContext& call) const {
  size_t at = key_.size();
  for (size_t i = 0; i < g.accs.size(); ++i) {
    std::span<const Value> args = agg_args_[i];  // count(*): the constant `true`
    if (!plan_.aggs[i].star) {
      const size_t n = plan_.aggs[i].args.size();
      if (at + n > pre.size()) return false;
      args = pre.subspan(at, n);
      at += n;
    }
    call.error.clear();
    if (!g.accs[i]->add(args, call)) {
      if (call.error.empty()) call.error = std::string(plan_.aggs[i].fn->name) + " failed";
      return false;
    }
  }
  return true;
}

void Emitter::set_last(Group& g, const Value& record, std::span<const Value* const> tables) {
  g.record = record;
  g.tables.resize(tables.size());
  for (size_t j = 0; j < tables.size(); ++j) {
    g.tables[j] = tables[j] == nullptr ? Value() : *tables[j];
  }
}

void Emitter::set_last(Group& g, const StoredRow& row) {
  g.record = row.record;
  g.tables = row.tables;
}

Group Emitter::new_group() {
  Group g;
  g.accs.reserve(plan_.aggs.size());
  for (const auto& site : plan_.aggs) g.accs.push_back(site.fn->make());
  g.seq = next_seq_++;
  return g;
}

void Emitter::point_at(EvalCtx& ctx, const StoredRow& row) {
  ctx.record = &row.record;
  for (size_t j = 0; j < ptrs_.size(); ++j) {
    ptrs_[j] = j < row.tables.size() && !row.tables[j].is_null() ? &row.tables[j] : nullptr;
  }
  ctx.tables = ptrs_.data();
  ctx.aggs = nullptr;
}

void Emitter::point_at(EvalCtx& ctx, const Group& g) {
  ctx.record = &g.record;
  for (size_t j = 0; j < ptrs_.size(); ++j) {
    ptrs_[j] = j < g.tables.size() && !g.tables[j].is_null() ? &g.tables[j] : nullptr;
  }
  ctx.tables = ptrs_.data();
  ctx.aggs = &g.accs;
}

bool Emitter::project(EvalCtx& ctx, Value& row) const {
  if (plan_.star_only) {
    row = *ctx.record;
    return true;
  }
  ValueObject obj;
  obj.reserve(plan_.columns.size());
  auto put = [&](const std::string& name, Value v) {
    if (plan_.dedupe_names) {
      for (auto& m : obj) {
        if (m.first == name) {
          m.second = std::move(v);
          return;
        }
      }
    }
    obj.emplace_back(name, std::move(v));
  };
  for (const auto& c : plan_.columns) {
    switch (c.kind) {
      case Column::Kind::Expr: {
        Value s;
        const Value* v = c.expr->eval(ctx, s);
        if (v == nullptr) return false;
        put(c.name, v == &s ? std::move(s) : *v);
        break;
      }
      case Column::Kind::StreamStar:
        if (ctx.record != nullptr && ctx.record->is_object()) {
          for (const auto& m : ctx.record->as_object()) put(m.first, m.second);
        }
        break;
      case Column::Kind::TableStar: {
        const Value* t = ctx.tables == nullptr ? nullptr : ctx.tables[c.join];
        if (t != nullptr && t->is_object()) {
          for (const auto& m : t->as_object()) put(m.first, m.second);
        }
        break;
      }
    }
  }
  row = Value(std::move(obj));
  return true;
}

void Emitter::add(EvalCtx& ctx, RuleOutput& out) {
  Pending p;
  if (!project(ctx, p.row)) {
    reject(ctx.call.error, ctx.record, out);
    return;
  }
  if (plan_.having) {
    // After the projection, so HAVING can name output aliases.
    ctx.output = &p.row;
    Value s;
    const Value* h = plan_.having->eval(ctx, s);
    ctx.output = nullptr;
    if (h == nullptr) {
      reject(ctx.call.error, ctx.record, out);
      return;
    }
    if (!h->is_true()) return;
  }
  p.order.reserve(plan_.order.size());
  for (const auto& k : plan_.order) {
    if (k.column >= 0) {
      const Value* v = p.row.find(plan_.columns[static_cast<size_t>(k.column)].name);
      p.order.push_back(v == nullptr ? Value() : *v);
      continue;
    }
    Value s;
    const Value* v = k.expr->eval(ctx, s);
    if (v == nullptr) {
      reject(ctx.call.error, ctx.record, out);
      return;
    }
    p.order.push_back(v == &s ? std::move(s) : *v);
  }
  pending_.push_back(std::move(p));
}

void Emitter::finish(RuleOutput& out) {
  if (!plan_.order.empty()) {
    std::stable_sort(pending_.begin(), pending_.end(), [&](const Pending& a, const Pending& b) {
      for (size_t i = 0; i < plan_.order.size(); ++i) {
        int c = order_compare(a.order[i], b.order[i]);
        if (plan_.order[i].descending) c = -c;
        if (c != 0) return c < 0;
      }
      return false;
    });
  }
  size_t n = pending_.size();
  if (plan_.limit >= 0) n = std::min(n, static_cast<size_t>(plan_.limit));
  for (size_t i = 0; i < n; ++i) out.rows.push_back(std::move(pending_[i].row));
  counters_.records_out += n;
  pending_.clear();
}

void Emitter::reject(const std::string& reason, const Value* record, RuleOutput& out) {
  if (record != nullptr && record == current_record_ && !current_raw_.empty()) {
    reject_payload(reason, std::string(current_raw_), out);
  } else {
    reject_payload(reason, record == nullptr ? std::string() : record->to_json(), out);
  }
}

void Emitter::reject_payload(const std::string& reason, std::string payload, RuleOutput& out) {
  ++counters_.eval_errors;
  counters_.last_error = reason;
  out.rejected.push_back(Rejected{reason, std::move(payload)});
}

size_t approx_bytes(const Value& v) {
  size_t n = sizeof(Value);
  if (v.is_string()) {
    n += v.as_string().size() > 15 ? v.as_string().size() : 0;
  } else if (v.is_array()) {
    n += 32;
    for (const auto& e : v.as_array()) n += approx_bytes(e);
  } else if (v.is_object()) {
    n += 32;
    for (const auto& [k, e] : v.as_object()) n += sizeof(std::string) + approx_bytes(e);
  }
  return n;
}

}  // namespace verge::rules

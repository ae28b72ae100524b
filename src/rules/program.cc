// The event path of a compiled rule: decode, schema check, analytic functions, joins, WHERE,
// then either straight to output rows or into the windows.
#include "rules/program.h"

#include <climits>

#include "rules/emit.h"
#include "rules/groups.h"
#include "rules/parser.h"
#include "rules/plan.h"
#include "rules/window.h"

namespace verge::rules {
namespace {

bool matches_column_type(ColumnType t, const Value& v) {
  switch (t) {
    case ColumnType::Bool:
      return v.is_bool();
    case ColumnType::Bigint:
      return v.is_int();
    case ColumnType::Float:
      return v.is_number();
    case ColumnType::String:
      return v.is_string();
    case ColumnType::Array:
      return v.is_array();
    case ColumnType::Struct:
      return v.is_object();
    default:
      return true;
  }
}

const char* column_type_name(ColumnType t) {
  switch (t) {
    case ColumnType::Bool:
      return "BOOLEAN";
    case ColumnType::Bigint:
      return "BIGINT";
    case ColumnType::Float:
      return "FLOAT";
    case ColumnType::String:
      return "STRING";
    case ColumnType::Array:
      return "ARRAY";
    case ColumnType::Struct:
      return "STRUCT";
    case ColumnType::Datetime:
      return "DATETIME";
    case ColumnType::Any:
      return "ANY";
  }
  return "?";
}

class Program final : public RuleProgram {
 public:
  Program(Plan plan, const TableStore* tables, const RuleLimits& limits)
      : plan_(std::move(plan)),
        tables_(tables),
        limits_(limits),
        emitter_(plan_, counters_),
        windows_(plan_, limits_, counters_, emitter_),
        table_ptrs_(plan_.joins.size(), nullptr),
        analytic_results_(plan_.analytics.size()) {
    for (const auto& j : plan_.joins) table_names_.push_back(j.table.name);
    for (const auto& site : plan_.analytics) {
      partitions_.emplace_back(limits_.max_partitions);
      analytic_args_.emplace_back(site.args.size());
    }
    ctx_.tables = table_ptrs_.data();
    ctx_.analytic = analytic_results_.data();
  }

  const StreamDef& source() const override { return plan_.stream; }
  const std::vector<std::string>& tables() const override { return table_names_; }

  void on_message(std::string_view, std::string_view payload, int64_t now_ms,
                  RuleOutput& out) override {
    ++counters_.records_in;
    auto v = parse_json(payload);
    if (!v || !v->is_object()) {
      ++counters_.decode_errors;
      counters_.last_error = v ? "payload is not a JSON object"
                               : "payload is not JSON: " + v.error().message + " at byte " +
                                     std::to_string(v.error().offset);
      out.rejected.push_back(Rejected{counters_.last_error, std::string(payload)});
      return;
    }
    process(*v, payload, now_ms, out);
  }

  void on_record(std::string_view, const Value& record, int64_t now_ms, RuleOutput& out) override {
    ++counters_.records_in;
    if (!record.is_object()) {
      ++counters_.decode_errors;
      counters_.last_error = "record is not an object";
      out.rejected.push_back(Rejected{counters_.last_error, record.to_json()});
      return;
    }
    process(record, {}, now_ms, out);
  }

  void on_time(int64_t now_ms, RuleOutput& out) override {
    if (plan_.window && !plan_.event_time) windows_.advance(now_ms, now_ms, out);
  }

  int64_t next_deadline_ms() const override { return windows_.next_deadline(); }
  const RuleCounters& counters() const override { return counters_; }

  size_t state_bytes() const override {
    size_t n = sizeof(*this) + windows_.state_bytes();
    for (const auto& p : partitions_) {
      for (const auto& e : p.entries()) n += sizeof(e) + 96 + approx_bytes(e.value.last);
    }
    return n;
  }

 private:
  struct Partition {
    std::unique_ptr<AnalyticState> state;
    Value last;  // the last result, returned while OVER (WHEN ...) is false
  };

  void reject(const std::string& reason, const Value& record, std::string_view raw,
              RuleOutput& out) {
    emitter_.reject_payload(reason, raw.empty() ? record.to_json() : std::string(raw), out);
  }

  void process(const Value& record, std::string_view raw, int64_t now_ms, RuleOutput& out) {
    emitter_.set_current(&record, raw);
    process_event(record, raw, now_ms, out);
    emitter_.set_current(nullptr, {});
  }

  void process_event(const Value& record, std::string_view raw, int64_t now_ms, RuleOutput& out) {
    ctx_.call.now_ms = now_ms;
    ctx_.record = &record;
    ctx_.aggs = nullptr;
    for (const auto& c : plan_.stream.columns) {
      const Value* v = record.find(c.name);
      if (v != nullptr && !v->is_null() && !matches_column_type(c.type, *v)) {
        reject("column '" + c.name + "' is declared " + column_type_name(c.type) + ", got " +
                   Value::type_name(v->type()),
               record, raw, out);
        return;
      }
    }
    const bool processing_windows = plan_.window && !plan_.event_time;
    if (processing_windows) windows_.advance(now_ms, now_ms, out);
    ts_ = now_ms;
    if (plan_.event_time) {
      const Value* t = record.find(plan_.timestamp_field);
      if (t == nullptr || !t->is_number()) {
        reject("timestamp field '" + plan_.timestamp_field + "' is missing or not a number", record,
               raw, out);
        return;
      }
      ts_ = t->is_int() ? t->as_int() : static_cast<int64_t>(t->as_float());
    }
    if (!run_analytics()) {
      reject(ctx_.call.error, record, raw, out);
      return;
    }
    passed_ = false;
    late_ = false;
    const bool direct = !plan_.window && !plan_.grouped;
    if (direct) emitter_.begin();
    if (!join(0, record, out)) {
      reject(ctx_.call.error, record, raw, out);
    } else if (late_) {
      ++counters_.late;
    } else if (!passed_) {
      ++counters_.filtered;
    }
    if (direct) emitter_.finish(out);
    if (plan_.event_time) {
      if (ts_ > max_event_ts_) max_event_ts_ = ts_;
      windows_.advance(max_event_ts_ - limits_.allowed_lateness_ms, now_ms, out);
    } else if (processing_windows) {
      windows_.advance(now_ms, now_ms, out);
    }
  }

  // Computes every analytic call site for this event, in order (nested sites come first).
  bool run_analytics() {
    for (size_t i = 0; i < plan_.analytics.size(); ++i) {
      const AnalyticSite& site = plan_.analytics[i];
      part_key_.resize(site.partition_by.size());
      for (size_t k = 0; k < site.partition_by.size(); ++k) {
        const Value* v = site.partition_by[k]->eval(ctx_, part_key_[k]);
        if (v == nullptr) return false;
        if (v != &part_key_[k]) part_key_[k] = *v;
      }
      const size_t hash = hash_key(part_key_);
      Partition* p = partitions_[i].find(part_key_, hash);
      if (p == nullptr &&
          partitions_[i].insert(part_key_, hash, Partition{site.fn->make(), Value()}, &p)) {
        ++counters_.evicted;
      }
      bool go = true;
      if (site.when) {
        Value s;
        const Value* w = site.when->eval(ctx_, s);
        if (w == nullptr) return false;
        go = w->is_true();
      }
      if (!go) {
        analytic_results_[i] = p->last;
        continue;
      }
      auto& args = analytic_args_[i];
      for (size_t k = 0; k < site.args.size(); ++k) {
        const Value* v = site.args[k]->eval(ctx_, args[k]);
        if (v == nullptr) return false;
        if (v != &args[k]) args[k] = *v;
      }
      ctx_.call.error.clear();
      Value result;
      if (!p->state->call(args, ctx_.call, result)) {
        if (ctx_.call.error.empty()) ctx_.call.error = std::string(site.fn->name) + " failed";
        return false;
      }
      p->last = result;
      analytic_results_[i] = std::move(result);
    }
    return true;
  }

  // Binds join j (and the ones after it) to each matching table row, then handles the row.
  bool join(size_t j, const Value& record, RuleOutput& out) {
    if (j == plan_.joins.size()) return row(record, out);
    const JoinPlan& jp = plan_.joins[j];
    bool matched = false;
    auto try_row = [&](const Value* r) {
      table_ptrs_[j] = r;
      Value s;
      const Value* c = jp.on->eval(ctx_, s);
      if (c == nullptr) return false;
      if (!c->is_true()) return true;
      matched = true;
      return join(j + 1, record, out);
    };
    if (tables_ != nullptr) {
      if (jp.key_probe) {
        Value s;
        const Value* k = jp.key_probe->eval(ctx_, s);
        if (k == nullptr) return false;
        const Value* r = tables_->lookup(jp.table.name, *k);
        if (r != nullptr && !try_row(r)) return false;
      } else if (const auto* rows = tables_->rows(jp.table.name)) {
        for (const auto& [key, r] : *rows) {
          if (!try_row(&r)) return false;
        }
      }
    }
    table_ptrs_[j] = nullptr;
    if (!matched && jp.type == JoinType::Left) return join(j + 1, record, out);
    return true;
  }

  bool row(const Value& record, RuleOutput& out) {
    if (plan_.where) {
      Value s;
      const Value* w = plan_.where->eval(ctx_, s);
      if (w == nullptr) return false;
      if (!w->is_true()) return true;
    }
    passed_ = true;
    if (!plan_.window && !plan_.grouped) {
      emitter_.add(ctx_, out);
      return true;
    }
    switch (windows_.add(ctx_, record, table_ptrs_, ts_, out)) {
      case Windows::AddResult::Ok:
        return true;
      case Windows::AddResult::Late:
        late_ = true;
        return true;
      case Windows::AddResult::Error:
        return false;
    }
    return true;
  }

  Plan plan_;
  const TableStore* tables_;
  RuleLimits limits_;
  RuleCounters counters_;
  Emitter emitter_;
  Windows windows_;
  std::vector<std::string> table_names_;
  EvalCtx ctx_;
  std::vector<const Value*> table_ptrs_;
  std::vector<Value> analytic_results_;
  std::vector<LruTable<Partition>> partitions_;  // per analytic call site
  std::vector<std::vector<Value>> analytic_args_;
  std::vector<Value> part_key_;
  int64_t ts_ = 0;  // the current event's time (event time or processing time)
  int64_t max_event_ts_ = INT64_MIN + 1;
  bool passed_ = false;
  bool late_ = false;
};

}  // namespace

Result<std::unique_ptr<RuleProgram>, SqlError> RuleProgram::compile(std::string_view sql,
                                                                    const Catalog& catalog,
                                                                    const TableStore* tables,
                                                                    const RuleLimits& limits) {
  auto stmt = parse_select(sql);
  if (!stmt) return unexpected(stmt.error());
  auto plan = plan_select(*stmt, catalog);
  if (!plan) return unexpected(plan.error());
  std::unique_ptr<RuleProgram> p = std::make_unique<Program>(std::move(*plan), tables, limits);
  return p;
}

}  // namespace verge::rules

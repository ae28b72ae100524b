// Turning rows and groups into output: GROUP BY keys and aggregate arguments per row, then per
// emission HAVING, the select list, ORDER BY and LIMIT. Private to the rule engine.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/groups.h"
#include "rules/plan.h"
#include "rules/program.h"

namespace verge::rules {

// A row a window keeps so the select list can be evaluated again when the window closes.
struct StoredRow {
  int64_t ts = 0;
  Value record;
  std::vector<Value> tables;  // one per join; null when the join found no row
  // Grouped sliding and count windows: the GROUP BY key then every aggregate's arguments,
  // evaluated once on arrival, so each emission only feeds accumulators.
  std::vector<Value> pre;
};

// One group of one window: incremental aggregates plus the last row, which non-aggregate
// columns read.
struct Group {
  std::vector<std::unique_ptr<Accumulator>> accs;
  Value record;
  std::vector<Value> tables;
  uint64_t seq = 0;  // first-seen order: the order groups are emitted in without ORDER BY
  const StoredRow* last_stored = nullptr;  // while re-aggregating kept rows
};

class Emitter {
 public:
  Emitter(const Plan& plan, RuleCounters& counters);

  // GROUP BY key of the row in ctx, kept in key()/key_hash(). False on error (ctx.call.error).
  bool eval_key(EvalCtx& ctx);
  std::span<const Value> key() const { return key_; }
  size_t key_hash() const { return key_hash_; }
  // Arguments of every aggregate for the row in ctx, kept until accumulate().
  bool eval_agg_args(EvalCtx& ctx);
  // Feeds the kept arguments to a group's accumulators.
  bool accumulate(Group& g, EvalCtx& ctx);
  // The key and arguments just evaluated, flattened for StoredRow::pre.
  void save_evaluated(std::vector<Value>& pre) const;
  // Feeds the arguments saved in `pre` (after its key) to a group's accumulators.
  bool accumulate_saved(Group& g, std::span<const Value> pre, CallContext& call) const;
  // Makes the row the group's last (what non-aggregate columns read).
  static void set_last(Group& g, const Value& record, std::span<const Value* const> tables);
  static void set_last(Group& g, const StoredRow& row);
  Group new_group();

  // Points ctx at a kept row or group (for emission).
  void point_at(EvalCtx& ctx, const StoredRow& row);
  void point_at(EvalCtx& ctx, const Group& g);

  // One emission: begin, add each row or group (ctx pointed at it), finish.
  void begin() { pending_.clear(); }
  void add(EvalCtx& ctx, RuleOutput& out);
  void finish(RuleOutput& out);

  // The select list for the row in ctx.
  bool project(EvalCtx& ctx, Value& row) const;

  // The event being processed and its bytes as received, so a rejection during its processing
  // carries the original payload (later ones, at window close, carry the record's JSON).
  void set_current(const Value* record, std::string_view raw) {
    current_record_ = record;
    current_raw_ = raw;
  }
  // Counts and reports a row that failed.
  void reject(const std::string& reason, const Value* record, RuleOutput& out);
  void reject_payload(const std::string& reason, std::string payload, RuleOutput& out);

 private:
  struct Pending {
    Value row;
    std::vector<Value> order;
  };

  const Plan& plan_;
  RuleCounters& counters_;
  std::vector<Value> key_;
  size_t key_hash_ = 0;
  std::vector<std::vector<Value>> agg_args_;
  std::vector<const Value*> ptrs_;  // table rows of the row or group pointed at
  std::vector<Pending> pending_;
  uint64_t next_seq_ = 0;
  const Value* current_record_ = nullptr;
  std::string_view current_raw_;
};

// Rough heap bytes of a value, for state_bytes().
size_t approx_bytes(const Value& v);

}  // namespace verge::rules

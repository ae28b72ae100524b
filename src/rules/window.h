// Windows and groups of one rule: rows that passed WHERE go in, output rows come out when a
// window closes (or at once for sliding and count windows and for GROUP BY without a window).
// Time is a plain number: processing time (the caller's now) or event time (the watermark), so
// this code never reads a clock. Private to the rule engine.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <vector>

#include "rules/emit.h"
#include "rules/groups.h"
#include "rules/plan.h"
#include "rules/program.h"

namespace verge::rules {

class Windows {
 public:
  Windows(const Plan& plan, const RuleLimits& limits, RuleCounters& counters, Emitter& emitter);

  enum class AddResult : uint8_t { Ok, Late, Error };
  // A row that passed WHERE, at time `ts`. ctx points at the row (record and table rows).
  // Error: ctx.call.error says why and nothing was changed.
  AddResult add(EvalCtx& ctx, const Value& record, std::span<const Value* const> tables, int64_t ts,
                RuleOutput& out);
  // Time (processing time, or the watermark) has reached `t`: emits the windows that end at or
  // before it. Time never goes back: a smaller `t` is ignored.
  void advance(int64_t t, int64_t now_ms, RuleOutput& out);
  // When advance() next has work: the earliest window end; INT64_MAX when nothing is open.
  int64_t next_deadline() const;
  size_t state_bytes() const;

 private:
  struct Instance {
    int64_t start = 0;
    int64_t end = 0;   // aligned windows: start + size
    int64_t last = 0;  // sessions: the latest event
    LruTable<Group> groups;
    std::deque<StoredRow> rows;  // non-grouped statements keep their rows
    explicit Instance(size_t max_groups) : groups(max_groups) {}
  };

  bool grouped() const { return plan_.grouped; }
  // Adds the row to an instance (key and aggregate arguments already evaluated).
  bool add_to(Instance& inst, EvalCtx& ctx, const Value& record,
              std::span<const Value* const> tables, int64_t ts);
  // Keeps a row; `pre` saves the evaluated key and aggregate arguments with it.
  void store(std::deque<StoredRow>& rows, const Value& record, std::span<const Value* const> tables,
             int64_t ts, bool sorted, bool pre = false);
  void emit_instance(Instance& inst, int64_t ws, int64_t we, int64_t now_ms, RuleOutput& out);
  // Emits the rows of [first, last) as one window, grouping them if the statement groups.
  void emit_rows(std::deque<StoredRow>::const_iterator first,
                 std::deque<StoredRow>::const_iterator last, int64_t ws, int64_t we, int64_t now_ms,
                 RuleOutput& out);
  void emit_groups(LruTable<Group>& groups, int64_t ws, int64_t we, int64_t now_ms,
                   RuleOutput& out);
  int64_t session_end(const Instance& s) const;

  const Plan& plan_;
  const WindowPlan* w_;  // null: GROUP BY without a window
  RuleLimits limits_;
  RuleCounters& counters_;
  Emitter& emitter_;
  EvalCtx ctx_;  // emission context, separate from the event's
  int64_t closed_upto_ = INT64_MIN;

  std::map<int64_t, Instance> aligned_;      // tumbling, hopping: by start
  std::vector<Instance> sessions_;           // by start
  std::deque<StoredRow> rows_;               // sliding (by time), count (by arrival)
  std::multimap<int64_t, int64_t> pending_;  // sliding: fire time -> trigger time
  int64_t since_emit_ = 0;                   // count windows
  std::vector<Instance> running_;            // GROUP BY without a window: one instance
  std::vector<int64_t> starts_;              // hopping: the windows an event falls in
};

}  // namespace verge::rules

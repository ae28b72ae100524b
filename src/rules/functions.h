// The rule language's function library: scalar functions (pure over their arguments, plus the
// clock), aggregates (over the rows of a group) and analytic functions (state across events,
// such as lag and changed_col). The planner looks names up here once; evaluation then calls
// through plain function pointers and virtual calls, with no lookups per event.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/value.h"

namespace verge::rules {

// What a function may read besides its arguments, and where it reports a failure.
struct CallContext {
  int64_t now_ms = 0;  // processing time (wall clock, ms since the epoch) of the current event
  std::string error;   // set by a function that returns false
};

// Returns false with ctx.error set (e.g. "abs: expected a number, got string") on a type error;
// the rule then drops the row and counts it. Null in gives null out unless a function says
// otherwise (coalesce, isnull...).
using ScalarFn = bool (*)(std::span<const Value> args, CallContext& ctx, Value& out);

struct ScalarFunction {
  std::string_view name;  // lower-case
  int min_args = 0;
  int max_args = 0;  // -1 = variadic
  ScalarFn fn = nullptr;
  bool uses_clock = false;  // now(), ... : never folded as a constant
};

// nullptr when there is no scalar function of that name (case-insensitive).
const ScalarFunction* find_scalar(std::string_view name);

// One aggregate over one group of one window. Arguments are evaluated per row by the engine;
// extra arguments (percentile's fraction, last_value's ignore-null flag) arrive with every row.
class Accumulator {
 public:
  virtual ~Accumulator() = default;
  virtual bool add(std::span<const Value> args, CallContext& ctx) = 0;
  virtual Value result() const = 0;
};

struct AggregateFunction {
  std::string_view name;
  int min_args = 1;
  int max_args = 1;
  bool star_allowed = false;  // count(*)
  std::unique_ptr<Accumulator> (*make)() = nullptr;
};

const AggregateFunction* find_aggregate(std::string_view name);

// State of one analytic call site for one partition (lag(temp), changed_col(true, status)...).
// Called once per event that reaches it (and passes its OVER (WHEN ...) condition if any).
class AnalyticState {
 public:
  virtual ~AnalyticState() = default;
  virtual bool call(std::span<const Value> args, CallContext& ctx, Value& out) = 0;
};

struct AnalyticFunction {
  std::string_view name;
  int min_args = 1;
  int max_args = 1;
  std::unique_ptr<AnalyticState> (*make)() = nullptr;
};

const AnalyticFunction* find_analytic(std::string_view name);

// Every name, for `docs/rules.md` checks and error hints ("unknown function 'avgg'; did you
// mean 'avg'?").
std::span<const ScalarFunction> scalar_functions();
std::span<const AggregateFunction> aggregate_functions();
std::span<const AnalyticFunction> analytic_functions();

}  // namespace verge::rules

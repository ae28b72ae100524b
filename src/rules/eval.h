// Compiled expressions: the planner turns the syntax tree into a tree of nodes once, and every
// event is then evaluated by virtual calls over that tree, with no name lookups and no
// allocations beyond the values the expression itself builds. Private to the rule engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/value.h"
#include "rules/ast.h"
#include "rules/functions.h"

namespace verge::rules {

// What the planner knows of an expression's type before any event arrives. `Any` for schemaless
// fields and most function results; `Number` for a FLOAT column (JSON may carry 30 for 30.0).
enum class StaticType : uint8_t { Any, Null, Bool, Int, Float, Number, String, Array, Object };
const char* static_type_name(StaticType t);
StaticType static_type_of(const Value& v);

// The row an expression is evaluated against. Single-threaded: one per program.
struct EvalCtx {
  const Value* record = nullptr;         // the stream record (an object)
  const Value* const* tables = nullptr;  // joined rows by join index; nullptr = no match (nulls)
  const std::vector<std::unique_ptr<Accumulator>>* aggs = nullptr;  // the current group's
  const Value* analytic = nullptr;  // results of the analytic call sites for this event
  const Value* output = nullptr;    // the projected row, for HAVING on output aliases
  int64_t window_start = 0;
  int64_t window_end = 0;
  CallContext call;  // now_ms, and the error of a failed evaluation
};

class Node {
 public:
  Node(SourcePos p, StaticType t) : pos(p), type(t) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The value of the expression: a pointer into the record or to `scratch`, valid until either
  // changes. nullptr on a type error, with ctx.call.error saying why ("1:12: cannot compare...").
  virtual const Value* eval(EvalCtx& ctx, Value& scratch) const = 0;
  // A literal's value (after constant folding); nullptr for anything computed per event.
  virtual const Value* constant() const { return nullptr; }

  SourcePos pos;
  StaticType type;
};
using NodePtr = std::unique_ptr<Node>;

// The shared null every missing field evaluates to.
const Value& null_value();

// Sets ctx.call.error to "line:col: message" and returns nullptr, for `return fail(...)`.
const Value* fail(EvalCtx& ctx, SourcePos pos, std::string message);

NodePtr make_literal(SourcePos pos, Value v);
NodePtr make_stream_field(SourcePos pos, std::string name, StaticType t);
NodePtr make_table_field(SourcePos pos, size_t join, std::string name, StaticType t);
NodePtr make_table_row(SourcePos pos, size_t join);
NodePtr make_member(SourcePos pos, NodePtr object, std::string name);
NodePtr make_index(SourcePos pos, NodePtr array, NodePtr index);
NodePtr make_unary(SourcePos pos, UnaryOp op, NodePtr arg);
NodePtr make_binary(SourcePos pos, BinaryOp op, NodePtr lhs, NodePtr rhs);
NodePtr make_in(SourcePos pos, NodePtr arg, std::vector<NodePtr> list, bool negated);
NodePtr make_between(SourcePos pos, NodePtr arg, NodePtr lo, NodePtr hi, bool negated);
NodePtr make_like(SourcePos pos, NodePtr arg, NodePtr pattern, bool negated);
NodePtr make_is_null(SourcePos pos, NodePtr arg, bool negated);
// `operand` may be null (searched CASE); `otherwise` may be null (ELSE NULL).
NodePtr make_case(SourcePos pos, NodePtr operand, std::vector<std::pair<NodePtr, NodePtr>> whens,
                  NodePtr otherwise);
NodePtr make_call(SourcePos pos, const ScalarFunction* fn, std::vector<NodePtr> args);
NodePtr make_agg_ref(SourcePos pos, size_t index, StaticType t);
NodePtr make_analytic_ref(SourcePos pos, size_t index);
NodePtr make_window_bound(SourcePos pos, bool end);
// A column of the projected row (ctx.output), by name: HAVING on a SELECT alias.
NodePtr make_output_column(SourcePos pos, std::string name, StaticType t);

// SQL equality of two non-null values: numbers with numbers, strings with strings...; nullopt
// when they are of different kinds (a type error for `=`, no match for grouping).
std::optional<bool> sql_equal(const Value& a, const Value& b);
// LIKE with % and _ wildcards and \ escaping the next character.
bool like_match(std::string_view text, std::string_view pattern);
// A total order for ORDER BY: null first, then bools, numbers, strings, arrays, objects.
int order_compare(const Value& a, const Value& b);

}  // namespace verge::rules

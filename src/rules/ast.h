// The syntax tree of the rule language (a streaming SQL close to eKuiper's): what the parser
// produces and the planner compiles. Plain data; every node keeps its source position so later
// stages can report errors at the right line and column.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/value.h"

namespace verge::rules {

struct SourcePos {
  uint32_t line = 1;    // 1-based
  uint32_t column = 1;  // 1-based, in bytes
};

// A parse, type or planning error, e.g. {3, 14, "expected ')' after the arguments of avg"}.
struct SqlError {
  SourcePos pos;
  std::string message;
};

enum class UnaryOp : uint8_t { Neg, Not };
enum class BinaryOp : uint8_t {
  Add,
  Sub,
  Mul,
  Div,
  Mod,  // arithmetic
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,  // comparison (= and == are Eq, != and <> are Ne)
  And,
  Or,
  Concat,  // ||
  BitAnd,
  BitOr,
  BitXor,  // & | ^
};

enum class ExprKind : uint8_t {
  Literal,  // literal
  Field,    // name (and qualifier for "stream.field" when the parser cannot tell; see below)
  Member,   // args[0].name
  Index,    // args[0][args[1]]
  Unary,    // unary_op args[0]
  Binary,   // args[0] binary_op args[1]
  Call,     // name(args...); name is lower-cased; star_arg for count(*)
  Case,     // CASE [operand] WHEN..THEN.. [ELSE] END; see Expr::case_operand
  In,       // args[0] [NOT] IN (args[1..])
  Between,  // args[0] [NOT] BETWEEN args[1] AND args[2]
  Like,     // args[0] [NOT] LIKE args[1]   (% and _ wildcards, \ escapes)
  IsNull,   // args[0] IS [NOT] NULL
  Star,     // * or qualifier.* in a select list
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::Literal;
  SourcePos pos;
  Value literal;          // Literal
  std::string name;       // Field, Member, Call
  std::string qualifier;  // Field/Star: "s" in s.a or s.* when written that way; else empty
  UnaryOp unary_op = UnaryOp::Neg;
  BinaryOp binary_op = BinaryOp::Add;
  bool negated = false;   // NOT IN, NOT BETWEEN, NOT LIKE, IS NOT NULL
  bool star_arg = false;  // Call: count(*)
  // Case: when case_operand, args[0] is the operand; then (when, then) pairs; then the ELSE
  // expression if has_else.
  bool case_operand = false;
  bool has_else = false;
  std::vector<ExprPtr> args;
  // Call with OVER (PARTITION BY ... WHEN ...) as eKuiper's analytic functions (lag, changed_col,
  // had_changed...): optional partition keys and a condition gating when the state updates.
  std::vector<ExprPtr> partition_by;
  ExprPtr over_when;
};

enum class TimeUnit : uint8_t { Millisecond, Second, Minute, Hour, Day };
int64_t time_unit_ms(TimeUnit u);

enum class WindowKind : uint8_t { Tumbling, Hopping, Sliding, Session, Count };

// A window in GROUP BY, eKuiper style:
//   TUMBLINGWINDOW(ss, 10)          size
//   HOPPINGWINDOW(ss, 10, 5)        size, hop
//   SLIDINGWINDOW(ss, 10[, delay])  size: every event emits the last `size`; optional OVER (WHEN)
//   SESSIONWINDOW(ss, 60, 5)        max duration, gap (timeout)
//   COUNTWINDOW(5[, 2])             count, hop count
struct WindowSpec {
  WindowKind kind = WindowKind::Tumbling;
  SourcePos pos;
  TimeUnit unit = TimeUnit::Second;
  int64_t size_ms = 0;    // Tumbling/Hopping/Sliding size; Session max duration
  int64_t hop_ms = 0;     // Hopping hop; Session gap; Sliding delay (0 = none)
  int64_t count = 0;      // Count: window length in events
  int64_t count_hop = 0;  // Count: emit every count_hop events (0 = count, i.e. tumbling)
  ExprPtr trigger;        // Sliding: OVER (WHEN cond) — emit only for events that pass
};

struct SelectItem {
  ExprPtr expr;
  std::string alias;  // AS alias; empty if none
  SourcePos pos;
};

enum class JoinType : uint8_t { Inner, Left };

// FROM stream [AS s] [LEFT|INNER] JOIN table [AS t] ON cond
struct JoinClause {
  JoinType type = JoinType::Inner;
  std::string table;
  std::string alias;
  ExprPtr on;
  SourcePos pos;
};

struct OrderItem {
  ExprPtr expr;
  bool descending = false;
};

struct SelectStatement {
  std::vector<SelectItem> items;
  // FROM: a declared stream's name, or a quoted topic filter ("sensors/+/data") used as an
  // implicit schemaless JSON stream.
  std::string from;
  bool from_is_topic = false;
  std::string from_alias;
  SourcePos from_pos;
  std::vector<JoinClause> joins;
  ExprPtr where;
  std::vector<ExprPtr> group_by;  // keys, without the window
  std::optional<WindowSpec> window;
  ExprPtr having;
  std::vector<OrderItem> order_by;
  std::optional<int64_t> limit;
};

enum class ColumnType : uint8_t { Any, Bool, Bigint, Float, String, Datetime, Array, Struct };

struct ColumnDef {
  std::string name;
  ColumnType type = ColumnType::Any;
  SourcePos pos;
};

// CREATE STREAM name (col TYPE, ...) WITH (DATASOURCE="topic/#", FORMAT="json",
//   TIMESTAMP="ts", TIMESTAMP_FORMAT="...")
// CREATE TABLE name (...) WITH (DATASOURCE="topic", KEY="deviceId", FORMAT="json")
// An empty column list "()" means schemaless.
struct CreateStatement {
  bool is_table = false;
  std::string name;
  SourcePos pos;
  std::vector<ColumnDef> columns;
  // WITH options, keys upper-cased, values as written (unquoted).
  std::vector<std::pair<std::string, std::string>> options;
};

}  // namespace verge::rules

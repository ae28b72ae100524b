// The plan of one SELECT statement: the compiled expressions of every clause, the aggregate and
// analytic call sites, and what kind of evaluation the statement needs. Private to the engine;
// built once by plan_select and then only read (analytic state lives in the program).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "rules/ast.h"
#include "rules/catalog.h"
#include "rules/eval.h"
#include "rules/functions.h"

namespace verge::rules {

struct AggSite {
  const AggregateFunction* fn = nullptr;
  std::vector<NodePtr> args;  // count(*) has none; the engine passes `true` per row
  bool star = false;
};

// lag(temp) OVER (PARTITION BY id WHEN cond): computed once per event before WHERE, so its
// state sees every event whatever the filters say (as eKuiper does).
struct AnalyticSite {
  const AnalyticFunction* fn = nullptr;
  std::vector<NodePtr> args;
  std::vector<NodePtr> partition_by;
  NodePtr when;  // may be null
};

struct JoinPlan {
  JoinType type = JoinType::Inner;
  StreamDef table;
  std::string alias;  // the name the statement uses for it (alias, else the table name)
  NodePtr on;
  // ON holds `stream_expr = table.KEY` among its top-level AND terms: the stream side, so the
  // match is one TableStore::lookup instead of a scan. Null when there is no such term.
  NodePtr key_probe;
};

struct Column {
  enum class Kind : uint8_t { Expr, StreamStar, TableStar };
  Kind kind = Kind::Expr;
  std::string name;
  NodePtr expr;
  size_t join = 0;  // TableStar
};

struct OrderKey {
  NodePtr expr;     // evaluated on the row's context, or
  int column = -1;  // an output column (ORDER BY alias)
  bool descending = false;
};

struct WindowPlan {
  WindowKind kind = WindowKind::Tumbling;
  int64_t size_ms = 0;
  int64_t hop_ms = 0;
  int64_t count = 0;
  int64_t count_hop = 0;
  NodePtr trigger;  // sliding OVER (WHEN ...)
};

struct Plan {
  StreamDef stream;
  std::string stream_alias;
  std::vector<JoinPlan> joins;
  NodePtr where;
  std::vector<Column> columns;
  bool star_only = false;     // SELECT * alone, no joins: the record itself is the output row
  bool dedupe_names = false;  // a * or a repeated name: later columns replace earlier ones
  std::vector<NodePtr> keys;
  std::optional<WindowPlan> window;
  NodePtr having;
  std::vector<OrderKey> order;
  int64_t limit = -1;
  std::vector<AggSite> aggs;
  std::vector<AnalyticSite> analytics;
  // Aggregates or GROUP BY keys: one output row per group instead of one per event.
  bool grouped = false;
  // Windows run on the TIMESTAMP field instead of the arrival time.
  bool event_time = false;
  std::string timestamp_field;
};

Result<Plan, SqlError> plan_select(const SelectStatement& stmt, const Catalog& catalog);

}  // namespace verge::rules

// From syntax tree to plan: resolves names (sources, columns, functions), checks what can be
// checked before any event (schemas, arities, where aggregates may appear, obvious type
// conflicts) and folds constant sub-expressions. The first error wins and names its position.
#include <algorithm>
#include <functional>
#include <string>

#include "rules/plan.h"

namespace verge::rules {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "; did you mean 'avg'?" for the closest known name, or "".
std::string hint(std::string_view name, const std::vector<std::string_view>& known) {
  std::string_view best;
  size_t best_d = SIZE_MAX;
  for (auto k : known) {
    const size_t d = edit_distance(name, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (best.empty() || best_d > std::max<size_t>(1, name.size() / 3)) return "";
  return "; did you mean '" + std::string(best) + "'?";
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

StaticType column_type(ColumnType t) {
  switch (t) {
    case ColumnType::Bool:
      return StaticType::Bool;
    case ColumnType::Bigint:
      return StaticType::Int;
    case ColumnType::Float:
      return StaticType::Number;
    case ColumnType::String:
      return StaticType::String;
    case ColumnType::Array:
      return StaticType::Array;
    case ColumnType::Struct:
      return StaticType::Object;
    default:
      return StaticType::Any;
  }
}

bool known(StaticType t) { return t != StaticType::Any && t != StaticType::Null; }
bool numeric(StaticType t) {
  return t == StaticType::Int || t == StaticType::Float || t == StaticType::Number;
}
int kind_class(StaticType t) { return numeric(t) ? 100 : static_cast<int>(t); }

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
         op == BinaryOp::Gt || op == BinaryOp::Ge;
}
bool is_arith(BinaryOp op) {
  return op == BinaryOp::Add || op == BinaryOp::Sub || op == BinaryOp::Mul || op == BinaryOp::Div ||
         op == BinaryOp::Mod;
}

constexpr int64_t kMaxHopsPerWindow = 10000;

enum class Clause : uint8_t { Select, Where, On, GroupBy, Trigger, Having, OrderBy };

const char* clause_name(Clause c) {
  switch (c) {
    case Clause::Select:
      return "SELECT";
    case Clause::Where:
      return "WHERE";
    case Clause::On:
      return "ON";
    case Clause::GroupBy:
      return "GROUP BY";
    case Clause::Trigger:
      return "OVER (WHEN ...)";
    case Clause::Having:
      return "HAVING";
    case Clause::OrderBy:
      return "ORDER BY";
  }
  return "?";
}

struct Scope {
  Clause clause = Clause::Select;
  bool in_aggregate = false;
  bool in_analytic = false;
  int max_join = -1;  // ON of join j sees tables 0..j; other clauses see all
};

class Planner {
 public:
  Planner(const SelectStatement& s, const Catalog& c, Plan& p) : stmt_(s), catalog_(c), plan_(p) {}

  bool run();
  SqlError error() const { return err_; }

 private:
  bool error_at(SourcePos pos, std::string msg) {
    if (!failed_) {
      failed_ = true;
      err_ = SqlError{pos, std::move(msg)};
    }
    return false;
  }
  NodePtr fail_node(SourcePos pos, std::string msg) {
    error_at(pos, std::move(msg));
    return nullptr;
  }

  bool sources();
  // -1: the stream; j >= 0: join j; -2: no such source.
  int source_of(std::string_view name) const;
  bool has_aggregate(const Expr& e) const;
  bool refers_to_tables(const Expr& e) const;
  NodePtr field(SourcePos pos, int source, const std::string& name, const Scope& s);
  NodePtr compile(const Expr& e, const Scope& s);
  NodePtr compile_call(const Expr& e, const Scope& s);
  NodePtr compile_binary(const Expr& e, const Scope& s);
  NodePtr fold(NodePtr n);
  std::string column_name(const SelectItem& item, size_t index) const;
  bool joins();
  bool columns();
  bool order();

  const SelectStatement& stmt_;
  const Catalog& catalog_;
  Plan& plan_;
  bool windowed_ = false;
  bool failed_ = false;
  SqlError err_;
};

int Planner::source_of(std::string_view name) const {
  if (name == plan_.stream_alias || (!stmt_.from_is_topic && name == stmt_.from)) return -1;
  for (size_t j = 0; j < plan_.joins.size(); ++j) {
    if (name == plan_.joins[j].alias || name == plan_.joins[j].table.name) {
      return static_cast<int>(j);
    }
  }
  return -2;
}

bool Planner::has_aggregate(const Expr& e) const {
  if (e.kind == ExprKind::Call && find_aggregate(e.name) != nullptr) return true;
  for (const auto& a : e.args) {
    if (a && has_aggregate(*a)) return true;
  }
  return false;
}

bool Planner::refers_to_tables(const Expr& e) const {
  if (e.kind == ExprKind::Member && !e.args.empty() && e.args[0]->kind == ExprKind::Field &&
      source_of(e.args[0]->name) >= 0) {
    return true;
  }
  if (e.kind == ExprKind::Field && !e.qualifier.empty() && source_of(e.qualifier) >= 0) return true;
  for (const auto& a : e.args) {
    if (a && refers_to_tables(*a)) return true;
  }
  for (const auto& a : e.partition_by) {
    if (a && refers_to_tables(*a)) return true;
  }
  return e.over_when && refers_to_tables(*e.over_when);
}

bool Planner::sources() {
  if (stmt_.from_is_topic) {
    plan_.stream.name = stmt_.from;
    plan_.stream.topic_filter = stmt_.from;
  } else {
    const StreamDef* def = catalog_.find(stmt_.from);
    if (def == nullptr) {
      std::vector<std::string_view> names;
      for (const auto* d : catalog_.all()) names.push_back(d->name);
      return error_at(stmt_.from_pos,
                      "unknown stream '" + stmt_.from + "'" + hint(stmt_.from, names));
    }
    if (def->is_table) {
      return error_at(
          stmt_.from_pos,
          "'" + stmt_.from + "' is a table; FROM reads a stream (join tables with JOIN)");
    }
    plan_.stream = *def;
  }
  plan_.stream_alias = stmt_.from_alias.empty() ? plan_.stream.name : stmt_.from_alias;
  for (const auto& j : stmt_.joins) {
    const StreamDef* def = catalog_.find(j.table);
    if (def == nullptr) return error_at(j.pos, "unknown table '" + j.table + "'");
    if (!def->is_table) {
      return error_at(j.pos, "'" + j.table + "' is a stream; JOIN reads a table (CREATE TABLE)");
    }
    JoinPlan jp;
    jp.type = j.type;
    jp.table = *def;
    jp.alias = j.alias.empty() ? j.table : j.alias;
    plan_.joins.push_back(std::move(jp));
  }
  return true;
}

NodePtr Planner::field(SourcePos pos, int source, const std::string& name, const Scope& s) {
  const StreamDef& def =
      source == -1 ? plan_.stream : plan_.joins[static_cast<size_t>(source)].table;
  StaticType t = StaticType::Any;
  if (!def.columns.empty()) {
    auto it = std::find_if(def.columns.begin(), def.columns.end(),
                           [&](const ColumnDef& c) { return c.name == name; });
    if (it == def.columns.end()) {
      std::vector<std::string_view> names;
      for (const auto& c : def.columns) names.push_back(c.name);
      return fail_node(pos, "unknown column '" + name + "' in " +
                                (def.is_table ? "table '" : "stream '") + def.name + "'" +
                                hint(name, names));
    }
    t = column_type(it->type);
  }
  if (source == -1) return make_stream_field(pos, name, t);
  if (s.in_analytic) {
    return fail_node(pos, "analytic functions see the stream only, not table '" + def.name + "'");
  }
  if (s.max_join >= 0 && source > s.max_join) {
    return fail_node(pos, "table '" + def.name + "' is joined after this ON clause");
  }
  return make_table_field(pos, static_cast<size_t>(source), name, t);
}

NodePtr Planner::fold(NodePtr n) {
  EvalCtx ctx;
  Value scratch;
  const Value* v = n->eval(ctx, scratch);
  if (v == nullptr) {
    // fail() wrote "line:col: message"; the position is the node's.
    std::string msg = ctx.call.error;
    const size_t cut = msg.find(": ");
    if (cut != std::string::npos) msg = msg.substr(cut + 2);
    return fail_node(n->pos, msg);
  }
  return make_literal(n->pos, *v);
}

NodePtr Planner::compile_binary(const Expr& e, const Scope& s) {
  auto l = compile(*e.args[0], s);
  if (!l) return nullptr;
  auto r = compile(*e.args[1], s);
  if (!r) return nullptr;
  const BinaryOp op = e.binary_op;
  const StaticType lt = l->type, rt = r->type;
  if (is_comparison(op) && known(lt) && known(rt) && kind_class(lt) != kind_class(rt)) {
    return fail_node(e.pos, std::string("cannot compare ") + static_type_name(lt) + " with " +
                                static_type_name(rt));
  }
  if (is_arith(op)) {
    for (StaticType t : {lt, rt}) {
      if (known(t) && !numeric(t)) {
        return fail_node(e.pos,
                         std::string("arithmetic needs numbers, got ") + static_type_name(t));
      }
    }
  }
  if (op == BinaryOp::And || op == BinaryOp::Or) {
    for (StaticType t : {lt, rt}) {
      if (known(t) && t != StaticType::Bool) {
        return fail_node(e.pos, std::string(op == BinaryOp::And ? "AND" : "OR") +
                                    " needs bool operands, got " + static_type_name(t));
      }
    }
  }
  const bool constant = l->constant() != nullptr && r->constant() != nullptr;
  auto n = make_binary(e.pos, op, std::move(l), std::move(r));
  return constant ? fold(std::move(n)) : std::move(n);
}

NodePtr Planner::compile_call(const Expr& e, const Scope& s) {
  const std::string name = lower(e.name);
  const bool has_over = !e.partition_by.empty() || e.over_when != nullptr;
  if (name == "window_start" || name == "window_end") {
    if (!windowed_) return fail_node(e.pos, name + "() needs a window in GROUP BY");
    if (!e.args.empty()) return fail_node(e.pos, name + "() takes no arguments");
    return make_window_bound(e.pos, name == "window_end");
  }
  auto arity = [&](int min_args, int max_args) -> bool {
    const int n = static_cast<int>(e.args.size());
    if (n >= min_args && (max_args < 0 || n <= max_args)) return true;
    std::string want = std::to_string(min_args);
    if (max_args < 0) {
      want = "at least " + want;
    } else if (max_args != min_args) {
      want += " to " + std::to_string(max_args);
    }
    return error_at(e.pos, name + " expects " + want + " argument" +
                               (max_args == 1 && min_args == 1 ? "" : "s") + ", got " +
                               std::to_string(n));
  };
  if (const AggregateFunction* agg = find_aggregate(name)) {
    if (has_over) return fail_node(e.pos, "OVER (...) is for analytic functions, not " + name);
    if (s.in_aggregate) return fail_node(e.pos, "aggregate " + name + " inside another aggregate");
    if (s.clause != Clause::Select && s.clause != Clause::Having && s.clause != Clause::OrderBy) {
      return fail_node(e.pos, "aggregate " + name + " is not allowed in " + clause_name(s.clause));
    }
    if (!windowed_ && stmt_.group_by.empty()) {
      return fail_node(e.pos, "aggregate " + name + " needs a window or GROUP BY");
    }
    AggSite site;
    site.fn = agg;
    if (e.star_arg) {
      if (!agg->star_allowed) return fail_node(e.pos, name + "(*) is not allowed");
      site.star = true;
    } else if (!arity(agg->min_args, agg->max_args)) {
      return nullptr;
    }
    Scope inner = s;
    inner.in_aggregate = true;
    for (const auto& a : e.args) {
      auto n = compile(*a, inner);
      if (!n) return nullptr;
      site.args.push_back(std::move(n));
    }
    plan_.aggs.push_back(std::move(site));
    return make_agg_ref(e.pos, plan_.aggs.size() - 1,
                        name == "count" ? StaticType::Int : StaticType::Any);
  }
  if (e.star_arg) return fail_node(e.pos, name + "(*) is not allowed");
  if (const AnalyticFunction* an = find_analytic(name)) {
    if (s.in_aggregate) return fail_node(e.pos, "analytic " + name + " inside an aggregate");
    const bool select_ok = !windowed_ && !plan_.grouped && s.clause == Clause::Select;
    if (s.clause != Clause::Where && !select_ok) {
      return fail_node(
          e.pos, "analytic " + name + " is allowed in WHERE" +
                     std::string(windowed_ || plan_.grouped ? " of a windowed or grouped statement"
                                                            : " and SELECT"));
    }
    if (!arity(an->min_args, an->max_args)) return nullptr;
    AnalyticSite site;
    site.fn = an;
    Scope inner = s;
    inner.in_analytic = true;
    for (const auto& a : e.args) {
      auto n = compile(*a, inner);
      if (!n) return nullptr;
      site.args.push_back(std::move(n));
    }
    for (const auto& a : e.partition_by) {
      auto n = compile(*a, inner);
      if (!n) return nullptr;
      site.partition_by.push_back(std::move(n));
    }
    if (e.over_when) {
      site.when = compile(*e.over_when, inner);
      if (!site.when) return nullptr;
    }
    plan_.analytics.push_back(std::move(site));
    return make_analytic_ref(e.pos, plan_.analytics.size() - 1);
  }
  const ScalarFunction* fn = find_scalar(name);
  if (fn == nullptr) {
    std::vector<std::string_view> names = {"window_start", "window_end"};
    for (const auto& f : scalar_functions()) names.push_back(f.name);
    for (const auto& f : aggregate_functions()) names.push_back(f.name);
    for (const auto& f : analytic_functions()) names.push_back(f.name);
    return fail_node(e.pos, "unknown function '" + e.name + "'" + hint(name, names));
  }
  if (has_over) return fail_node(e.pos, "OVER (...) is for analytic functions, not " + name);
  if (!arity(fn->min_args, fn->max_args)) return nullptr;
  std::vector<NodePtr> args;
  bool constant = !fn->uses_clock;
  for (const auto& a : e.args) {
    auto n = compile(*a, s);
    if (!n) return nullptr;
    constant = constant && n->constant() != nullptr;
    args.push_back(std::move(n));
  }
  auto n = make_call(e.pos, fn, std::move(args));
  return constant ? fold(std::move(n)) : std::move(n);
}

NodePtr Planner::compile(const Expr& e, const Scope& s) {
  switch (e.kind) {
    case ExprKind::Literal:
      return make_literal(e.pos, e.literal);
    case ExprKind::Field: {
      if (!e.qualifier.empty()) {
        const int src = source_of(e.qualifier);
        if (src == -2) return fail_node(e.pos, "unknown stream or table '" + e.qualifier + "'");
        return field(e.pos, src, e.name, s);
      }
      // In HAVING, an alias of the select list names that output column.
      if (s.clause == Clause::Having) {
        for (size_t i = 0; i < stmt_.items.size(); ++i) {
          if (stmt_.items[i].alias == e.name && plan_.columns[i].expr) {
            return make_output_column(e.pos, e.name, plan_.columns[i].expr->type);
          }
        }
      }
      // A bare table name is its whole row (null when the join found none).
      const int src = source_of(e.name);
      if (src >= 0 && plan_.stream.columns.empty()) {
        if (s.in_analytic) return fail_node(e.pos, "analytic functions see the stream only");
        return make_table_row(e.pos, static_cast<size_t>(src));
      }
      return field(e.pos, -1, e.name, s);
    }
    case ExprKind::Member: {
      const Expr& base = *e.args[0];
      if (base.kind == ExprKind::Field && base.qualifier.empty()) {
        const int src = source_of(base.name);
        if (src != -2) return field(e.pos, src, e.name, s);
      }
      auto obj = compile(base, s);
      if (!obj) return nullptr;
      return make_member(e.pos, std::move(obj), e.name);
    }
    case ExprKind::Index: {
      auto arr = compile(*e.args[0], s);
      if (!arr) return nullptr;
      auto idx = compile(*e.args[1], s);
      if (!idx) return nullptr;
      return make_index(e.pos, std::move(arr), std::move(idx));
    }
    case ExprKind::Unary: {
      auto a = compile(*e.args[0], s);
      if (!a) return nullptr;
      if (known(a->type)) {
        if (e.unary_op == UnaryOp::Not && a->type != StaticType::Bool) {
          return fail_node(e.pos,
                           std::string("NOT needs a bool, got ") + static_type_name(a->type));
        }
        if (e.unary_op == UnaryOp::Neg && !numeric(a->type)) {
          return fail_node(e.pos, std::string("cannot negate a ") + static_type_name(a->type));
        }
      }
      const bool constant = a->constant() != nullptr;
      auto n = make_unary(e.pos, e.unary_op, std::move(a));
      return constant ? fold(std::move(n)) : std::move(n);
    }
    case ExprKind::Binary:
      return compile_binary(e, s);
    case ExprKind::Call:
      return compile_call(e, s);
    case ExprKind::Case: {
      size_t i = 0;
      NodePtr operand;
      if (e.case_operand) {
        operand = compile(*e.args[0], s);
        if (!operand) return nullptr;
        i = 1;
      }
      const size_t end = e.args.size() - (e.has_else ? 1 : 0);
      std::vector<std::pair<NodePtr, NodePtr>> whens;
      for (; i + 2 <= end; i += 2) {
        auto w = compile(*e.args[i], s);
        if (!w) return nullptr;
        auto t = compile(*e.args[i + 1], s);
        if (!t) return nullptr;
        whens.emplace_back(std::move(w), std::move(t));
      }
      NodePtr otherwise;
      if (e.has_else) {
        otherwise = compile(*e.args.back(), s);
        if (!otherwise) return nullptr;
      }
      return make_case(e.pos, std::move(operand), std::move(whens), std::move(otherwise));
    }
    case ExprKind::In: {
      auto a = compile(*e.args[0], s);
      if (!a) return nullptr;
      std::vector<NodePtr> list;
      for (size_t i = 1; i < e.args.size(); ++i) {
        auto n = compile(*e.args[i], s);
        if (!n) return nullptr;
        if (known(a->type) && known(n->type) && kind_class(a->type) != kind_class(n->type)) {
          return fail_node(n->pos, std::string("IN compares ") + static_type_name(a->type) +
                                       " with " + static_type_name(n->type));
        }
        list.push_back(std::move(n));
      }
      return make_in(e.pos, std::move(a), std::move(list), e.negated);
    }
    case ExprKind::Between: {
      auto a = compile(*e.args[0], s);
      auto lo = a ? compile(*e.args[1], s) : nullptr;
      auto hi = lo ? compile(*e.args[2], s) : nullptr;
      if (!hi) return nullptr;
      for (const Node* b : {lo.get(), hi.get()}) {
        if (known(a->type) && known(b->type) && kind_class(a->type) != kind_class(b->type)) {
          return fail_node(e.pos, std::string("BETWEEN compares ") + static_type_name(a->type) +
                                      " with " + static_type_name(b->type));
        }
      }
      return make_between(e.pos, std::move(a), std::move(lo), std::move(hi), e.negated);
    }
    case ExprKind::Like: {
      auto a = compile(*e.args[0], s);
      auto p = a ? compile(*e.args[1], s) : nullptr;
      if (!p) return nullptr;
      if ((known(a->type) && a->type != StaticType::String) ||
          (known(p->type) && p->type != StaticType::String)) {
        return fail_node(e.pos, "LIKE needs strings");
      }
      return make_like(e.pos, std::move(a), std::move(p), e.negated);
    }
    case ExprKind::IsNull: {
      auto a = compile(*e.args[0], s);
      if (!a) return nullptr;
      return make_is_null(e.pos, std::move(a), e.negated);
    }
    case ExprKind::Star:
      return fail_node(e.pos, "* is only allowed as a SELECT item or in count(*)");
  }
  return fail_node(e.pos, "unsupported expression");
}

bool Planner::joins() {
  for (size_t j = 0; j < stmt_.joins.size(); ++j) {
    const JoinClause& jc = stmt_.joins[j];
    JoinPlan& jp = plan_.joins[j];
    if (!jc.on) return error_at(jc.pos, "JOIN needs an ON condition");
    Scope s{Clause::On, false, false, static_cast<int>(j)};
    jp.on = compile(*jc.on, s);
    if (!jp.on) return false;
    // Look for `expr = t.KEY` among the top-level AND terms.
    std::vector<const Expr*> terms{jc.on.get()};
    for (size_t i = 0; i < terms.size() && !jp.key_probe; ++i) {
      const Expr& t = *terms[i];
      if (t.kind != ExprKind::Binary) continue;
      if (t.binary_op == BinaryOp::And) {
        terms.push_back(t.args[0].get());
        terms.push_back(t.args[1].get());
        continue;
      }
      if (t.binary_op != BinaryOp::Eq) continue;
      for (int side = 0; side < 2; ++side) {
        const Expr& k = *t.args[static_cast<size_t>(side)];
        const Expr& other = *t.args[static_cast<size_t>(1 - side)];
        const bool is_key = k.kind == ExprKind::Member && k.args[0]->kind == ExprKind::Field &&
                            k.args[0]->qualifier.empty() &&
                            source_of(k.args[0]->name) == static_cast<int>(j) &&
                            k.name == jp.table.key;
        if (is_key && !refers_to_tables(other)) {
          jp.key_probe = compile(other, s);
          if (!jp.key_probe) return false;
          break;
        }
      }
    }
  }
  return true;
}

std::string Planner::column_name(const SelectItem& item, size_t index) const {
  if (!item.alias.empty()) return item.alias;
  const Expr& e = *item.expr;
  if (e.kind == ExprKind::Field || e.kind == ExprKind::Member) return e.name;
  if (e.kind == ExprKind::Call) return lower(e.name);
  return "col_" + std::to_string(index + 1);
}

bool Planner::columns() {
  std::vector<std::string> seen;
  for (size_t i = 0; i < stmt_.items.size(); ++i) {
    const SelectItem& item = stmt_.items[i];
    Column c;
    if (item.expr->kind == ExprKind::Star) {
      const std::string& q = item.expr->qualifier;
      const int src = q.empty() ? -1 : source_of(q);
      if (src == -2) return error_at(item.expr->pos, "unknown stream or table '" + q + "'");
      c.kind = src == -1 ? Column::Kind::StreamStar : Column::Kind::TableStar;
      c.join = src < 0 ? 0 : static_cast<size_t>(src);
      plan_.dedupe_names = true;
    } else {
      c.name = column_name(item, i);
      c.expr = compile(*item.expr, Scope{Clause::Select});
      if (!c.expr) return false;
      if (std::find(seen.begin(), seen.end(), c.name) != seen.end()) plan_.dedupe_names = true;
      seen.push_back(c.name);
    }
    plan_.columns.push_back(std::move(c));
  }
  plan_.star_only = plan_.columns.size() == 1 &&
                    plan_.columns[0].kind == Column::Kind::StreamStar && plan_.joins.empty() &&
                    !plan_.grouped;
  return true;
}

bool Planner::order() {
  for (const auto& o : stmt_.order_by) {
    OrderKey k;
    k.descending = o.descending;
    const Expr& e = *o.expr;
    if (e.kind == ExprKind::Field && e.qualifier.empty()) {
      for (size_t i = 0; i < plan_.columns.size(); ++i) {
        if (plan_.columns[i].kind == Column::Kind::Expr && plan_.columns[i].name == e.name) {
          k.column = static_cast<int>(i);
        }
      }
    }
    if (k.column < 0) {
      k.expr = compile(e, Scope{Clause::OrderBy});
      if (!k.expr) return false;
    }
    plan_.order.push_back(std::move(k));
  }
  return true;
}

bool Planner::run() {
  if (!sources()) return false;
  windowed_ = stmt_.window.has_value();
  bool aggregates = false;
  for (const auto& item : stmt_.items) aggregates = aggregates || has_aggregate(*item.expr);
  if (stmt_.having) aggregates = aggregates || has_aggregate(*stmt_.having);
  for (const auto& o : stmt_.order_by) aggregates = aggregates || has_aggregate(*o.expr);
  plan_.grouped = (aggregates && (windowed_ || !stmt_.group_by.empty())) || !stmt_.group_by.empty();
  if (windowed_) {
    const WindowSpec& w = *stmt_.window;
    WindowPlan wp;
    wp.kind = w.kind;
    wp.size_ms = w.size_ms;
    wp.hop_ms = w.hop_ms;
    wp.count = w.count;
    wp.count_hop = w.count_hop == 0 ? w.count : w.count_hop;
    if (w.kind == WindowKind::Tumbling) wp.hop_ms = w.size_ms;
    const bool bad = w.kind == WindowKind::Count
                         ? (wp.count <= 0 || wp.count_hop <= 0 || wp.count_hop > wp.count)
                         : (wp.size_ms <= 0 || wp.hop_ms < 0 ||
                            ((w.kind == WindowKind::Hopping || w.kind == WindowKind::Session) &&
                             wp.hop_ms <= 0));
    if (bad)
      return error_at(w.pos, "window sizes must be positive (and a hop no larger than the size)");
    // Every event updates each hopping window it falls in: bound the per-event work.
    if (w.kind == WindowKind::Hopping && wp.size_ms / wp.hop_ms > kMaxHopsPerWindow) {
      return error_at(w.pos, "a hopping window may overlap at most " +
                                 std::to_string(kMaxHopsPerWindow) +
                                 " others (size / hop); use a larger hop");
    }
    if (w.trigger) {
      wp.trigger = compile(*w.trigger, Scope{Clause::Trigger});
      if (!wp.trigger) return false;
    }
    plan_.window = std::move(wp);
    if (!plan_.stream.timestamp_field.empty() && w.kind != WindowKind::Count) {
      plan_.event_time = true;
      plan_.timestamp_field = plan_.stream.timestamp_field;
    }
  }
  if (stmt_.where) {
    plan_.where = compile(*stmt_.where, Scope{Clause::Where});
    if (!plan_.where) return false;
  }
  if (!joins()) return false;
  for (const auto& k : stmt_.group_by) {
    auto n = compile(*k, Scope{Clause::GroupBy});
    if (!n) return false;
    plan_.keys.push_back(std::move(n));
  }
  if (!columns()) return false;
  if (stmt_.having) {
    plan_.having = compile(*stmt_.having, Scope{Clause::Having});
    if (!plan_.having) return false;
  }
  if (!order()) return false;
  if (stmt_.limit) {
    if (*stmt_.limit < 0) return error_at(stmt_.from_pos, "LIMIT must not be negative");
    plan_.limit = *stmt_.limit;
  }
  return true;
}

}  // namespace

Result<Plan, SqlError> plan_select(const SelectStatement& stmt, const Catalog& catalog) {
  Plan plan;
  Planner p(stmt, catalog, plan);
  if (!p.run()) return unexpected(p.error());
  return plan;
}

}  // namespace verge::rules

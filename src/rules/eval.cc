// Expression nodes: fields, operators with SQL null semantics, calls. See docs/rules/semantics.md
// for which mismatches are errors (the event is rejected) and which give null.
#include "rules/eval.h"

#include "rules/parser.h"

#include <cmath>
#include <limits>
#include <span>

namespace verge::rules {
namespace {

const Value kTrue(true);
const Value kFalse(false);

const Value* boolean(bool b) { return b ? &kTrue : &kFalse; }

enum class Kind : uint8_t { Null, Bool, Number, String, Array, Object };
Kind kind_of(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null:
      return Kind::Null;
    case Value::Type::Bool:
      return Kind::Bool;
    case Value::Type::Int:
    case Value::Type::Float:
      return Kind::Number;
    case Value::Type::String:
      return Kind::String;
    case Value::Type::Array:
      return Kind::Array;
    case Value::Type::Object:
      return Kind::Object;
  }
  return Kind::Null;
}

const char* tname(const Value& v) { return Value::type_name(v.type()); }

// Member lookup that remembers where the name was last found: payloads from one producer keep
// their member order, so the second probe nearly always hits.
const Value* find_member(const Value& obj, const std::string& name, size_t& hint) {
  if (!obj.is_object()) return &null_value();
  const auto& o = obj.as_object();
  if (hint < o.size() && o[hint].first == name) return &o[hint].second;
  for (size_t i = 0; i < o.size(); ++i) {
    if (o[i].first == name) {
      hint = i;
      return &o[i].second;
    }
  }
  return &null_value();
}

class Literal final : public Node {
 public:
  Literal(SourcePos p, Value v) : Node(p, static_type_of(v)), v_(std::move(v)) {}
  const Value* eval(EvalCtx&, Value&) const override { return &v_; }
  const Value* constant() const override { return &v_; }

 private:
  Value v_;
};

class StreamField final : public Node {
 public:
  StreamField(SourcePos p, std::string name, StaticType t) : Node(p, t), name_(std::move(name)) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    if (ctx.record == nullptr) return &null_value();
    return find_member(*ctx.record, name_, hint_);
  }

 private:
  std::string name_;
  mutable size_t hint_ = 0;
};

class TableField final : public Node {
 public:
  TableField(SourcePos p, size_t join, std::string name, StaticType t)
      : Node(p, t), join_(join), name_(std::move(name)) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    const Value* row = ctx.tables == nullptr ? nullptr : ctx.tables[join_];
    if (row == nullptr) return &null_value();
    return find_member(*row, name_, hint_);
  }

 private:
  size_t join_;
  std::string name_;
  mutable size_t hint_ = 0;
};

class TableRow final : public Node {
 public:
  TableRow(SourcePos p, size_t join) : Node(p, StaticType::Object), join_(join) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    const Value* row = ctx.tables == nullptr ? nullptr : ctx.tables[join_];
    return row == nullptr ? &null_value() : row;
  }

 private:
  size_t join_;
};

class Member final : public Node {
 public:
  Member(SourcePos p, NodePtr obj, std::string name)
      : Node(p, StaticType::Any), obj_(std::move(obj)), name_(std::move(name)) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    Value local;
    const Value* o = obj_->eval(ctx, local);
    if (o == nullptr) return nullptr;
    const Value* m = find_member(*o, name_, hint_);
    if (o == &local && m != &null_value()) {
      scratch = *m;
      return &scratch;
    }
    return m;
  }

 private:
  NodePtr obj_;
  std::string name_;
  mutable size_t hint_ = 0;
};

class Index final : public Node {
 public:
  Index(SourcePos p, NodePtr arr, NodePtr idx)
      : Node(p, StaticType::Any), arr_(std::move(arr)), idx_(std::move(idx)) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    Value la, li;
    const Value* a = arr_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    const Value* i = idx_->eval(ctx, li);
    if (i == nullptr) return nullptr;
    const Value* r = nullptr;
    if (a->is_array() && i->is_int()) {
      r = a->at(i->as_int());
    } else if (a->is_object() && i->is_string()) {
      r = a->find(i->as_string());
    }
    if (r == nullptr) return &null_value();
    if (a == &la) {
      scratch = *r;
      return &scratch;
    }
    return r;
  }

 private:
  NodePtr arr_, idx_;
};

class Unary final : public Node {
 public:
  Unary(SourcePos p, UnaryOp op, NodePtr arg)
      : Node(p, op == UnaryOp::Not ? StaticType::Bool : arg->type), op_(op), arg_(std::move(arg)) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    Value local;
    const Value* v = arg_->eval(ctx, local);
    if (v == nullptr) return nullptr;
    if (v->is_null()) return &null_value();
    if (op_ == UnaryOp::Not) {
      if (!v->is_bool()) return fail(ctx, pos, std::string("NOT needs a bool, got ") + tname(*v));
      return boolean(!v->as_bool());
    }
    if (v->is_int()) {
      const int64_t i = v->as_int();
      scratch =
          i == std::numeric_limits<int64_t>::min() ? Value(-static_cast<double>(i)) : Value(-i);
      return &scratch;
    }
    if (v->is_float()) {
      scratch = Value(-v->as_float());
      return &scratch;
    }
    return fail(ctx, pos, std::string("cannot negate a ") + tname(*v));
  }

 private:
  UnaryOp op_;
  NodePtr arg_;
};

// Integer arithmetic that leaves int64 continues in double rather than wrapping.
void int_arith(BinaryOp op, int64_t a, int64_t b, Value& out) {
  int64_t r = 0;
  const auto da = static_cast<double>(a);
  const auto db = static_cast<double>(b);
  switch (op) {
    case BinaryOp::Add:
      out = __builtin_add_overflow(a, b, &r) ? Value(da + db) : Value(r);
      return;
    case BinaryOp::Sub:
      out = __builtin_sub_overflow(a, b, &r) ? Value(da - db) : Value(r);
      return;
    case BinaryOp::Mul:
      out = __builtin_mul_overflow(a, b, &r) ? Value(da * db) : Value(r);
      return;
    case BinaryOp::Div:
      if (b == 0) {
        out = Value();
      } else if (a == std::numeric_limits<int64_t>::min() && b == -1) {
        out = Value(-da);
      } else {
        out = Value(a / b);
      }
      return;
    case BinaryOp::Mod:
      if (b == 0) {
        out = Value();
      } else if (b == -1) {
        out = Value(int64_t{0});
      } else {
        out = Value(a % b);
      }
      return;
    default:
      return;
  }
}

void float_arith(BinaryOp op, double a, double b, Value& out) {
  switch (op) {
    case BinaryOp::Add:
      out = Value(a + b);
      return;
    case BinaryOp::Sub:
      out = Value(a - b);
      return;
    case BinaryOp::Mul:
      out = Value(a * b);
      return;
    case BinaryOp::Div:
      out = b == 0.0 ? Value() : Value(a / b);
      return;
    case BinaryOp::Mod:
      out = b == 0.0 ? Value() : Value(std::fmod(a, b));
      return;
    default:
      return;
  }
}

StaticType arith_type(StaticType a, StaticType b) {
  if (a == StaticType::Int && b == StaticType::Int) return StaticType::Any;  // may overflow
  auto numeric = [](StaticType t) {
    return t == StaticType::Int || t == StaticType::Float || t == StaticType::Number;
  };
  if (numeric(a) && numeric(b)) return StaticType::Number;
  return StaticType::Any;
}

StaticType binary_type(BinaryOp op, StaticType a, StaticType b) {
  switch (op) {
    case BinaryOp::Add:
    case BinaryOp::Sub:
    case BinaryOp::Mul:
    case BinaryOp::Div:
    case BinaryOp::Mod:
      return arith_type(a, b);
    case BinaryOp::Concat:
      return StaticType::String;
    case BinaryOp::BitAnd:
    case BinaryOp::BitOr:
    case BinaryOp::BitXor:
      return StaticType::Int;
    default:
      return StaticType::Bool;
  }
}

class Binary final : public Node {
 public:
  Binary(SourcePos p, BinaryOp op, NodePtr l, NodePtr r)
      : Node(p, binary_type(op, l->type, r->type)), op_(op), l_(std::move(l)), r_(std::move(r)) {}

  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    if (op_ == BinaryOp::And || op_ == BinaryOp::Or) return logic(ctx);
    Value la, lb;
    const Value* a = l_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    const Value* b = r_->eval(ctx, lb);
    if (b == nullptr) return nullptr;
    if (a->is_null() || b->is_null()) return &null_value();
    switch (op_) {
      case BinaryOp::Add:
      case BinaryOp::Sub:
      case BinaryOp::Mul:
      case BinaryOp::Div:
      case BinaryOp::Mod:
        if (a->is_int() && b->is_int()) {
          int_arith(op_, a->as_int(), b->as_int(), scratch);
        } else if (a->is_number() && b->is_number()) {
          float_arith(op_, *a->number(), *b->number(), scratch);
        } else {
          return mismatch(ctx, *a, *b, false);
        }
        return &scratch;
      case BinaryOp::Eq:
      case BinaryOp::Ne: {
        const auto eq = sql_equal(*a, *b);
        if (!eq) return mismatch(ctx, *a, *b, true);
        return boolean(*eq == (op_ == BinaryOp::Eq));
      }
      case BinaryOp::Lt:
      case BinaryOp::Le:
      case BinaryOp::Gt:
      case BinaryOp::Ge: {
        const auto c = compare_values(*a, *b);
        if (!c || a->is_array() || a->is_object()) return mismatch(ctx, *a, *b, true);
        const int v = *c;
        const bool r = op_ == BinaryOp::Lt   ? v < 0
                       : op_ == BinaryOp::Le ? v <= 0
                       : op_ == BinaryOp::Gt ? v > 0
                                             : v >= 0;
        return boolean(r);
      }
      case BinaryOp::Concat:
        return concat(ctx, *a, *b, scratch);
      case BinaryOp::BitAnd:
      case BinaryOp::BitOr:
      case BinaryOp::BitXor: {
        if (!a->is_int() || !b->is_int()) return mismatch(ctx, *a, *b, false);
        const int64_t x = a->as_int(), y = b->as_int();
        scratch = Value(op_ == BinaryOp::BitAnd  ? (x & y)
                        : op_ == BinaryOp::BitOr ? (x | y)
                                                 : (x ^ y));
        return &scratch;
      }
      default:
        return &null_value();
    }
  }

 private:
  // Three-valued AND/OR, short-circuiting on the deciding value.
  const Value* logic(EvalCtx& ctx) const {
    const bool is_and = op_ == BinaryOp::And;
    Value la, lb;
    const Value* a = l_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    if (!a->is_null() && !a->is_bool()) return operand_error(ctx, *a);
    if (a->is_bool() && a->as_bool() != is_and) return boolean(!is_and);
    const Value* b = r_->eval(ctx, lb);
    if (b == nullptr) return nullptr;
    if (!b->is_null() && !b->is_bool()) return operand_error(ctx, *b);
    if (b->is_bool() && b->as_bool() != is_and) return boolean(!is_and);
    if (a->is_null() || b->is_null()) return &null_value();
    return boolean(is_and);
  }

  const Value* operand_error(EvalCtx& ctx, const Value& v) const {
    return fail(ctx, pos,
                std::string(binary_op_text(op_)) + " needs bool operands, got " + tname(v));
  }

  // "cannot compare ('>') int and string" or "cannot apply '+' to string and int".
  const Value* mismatch(EvalCtx& ctx, const Value& a, const Value& b, bool compare) const {
    std::string msg = compare ? "cannot compare ('" : "cannot apply '";
    msg += binary_op_text(op_);
    msg += compare ? "') " : "' to ";
    msg += tname(a);
    msg += " and ";
    msg += tname(b);
    return fail(ctx, pos, std::move(msg));
  }

  const Value* concat(EvalCtx& ctx, const Value& a, const Value& b, Value& scratch) const {
    if (a.is_array() || a.is_object() || b.is_array() || b.is_object()) {
      return mismatch(ctx, a, b, false);
    }
    std::string s = a.is_string() ? a.as_string() : a.to_json();
    if (b.is_string()) {
      s += b.as_string();
    } else {
      b.append_json(s);
    }
    scratch = Value(std::move(s));
    return &scratch;
  }

  BinaryOp op_;
  NodePtr l_, r_;
};

class In final : public Node {
 public:
  In(SourcePos p, NodePtr arg, std::vector<NodePtr> list, bool negated)
      : Node(p, StaticType::Bool),
        arg_(std::move(arg)),
        list_(std::move(list)),
        negated_(negated) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    Value la;
    const Value* a = arg_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    if (a->is_null()) return &null_value();
    bool saw_null = false;
    for (const auto& item : list_) {
      Value li;
      const Value* v = item->eval(ctx, li);
      if (v == nullptr) return nullptr;
      if (v->is_null()) {
        saw_null = true;
        continue;
      }
      const auto eq = sql_equal(*a, *v);
      if (!eq) {
        return fail(ctx, item->pos, std::string("IN compares ") + tname(*a) + " with " + tname(*v));
      }
      if (*eq) return boolean(!negated_);
    }
    if (saw_null) return &null_value();
    return boolean(negated_);
  }

 private:
  NodePtr arg_;
  std::vector<NodePtr> list_;
  bool negated_;
};

class Between final : public Node {
 public:
  Between(SourcePos p, NodePtr arg, NodePtr lo, NodePtr hi, bool negated)
      : Node(p, StaticType::Bool),
        arg_(std::move(arg)),
        lo_(std::move(lo)),
        hi_(std::move(hi)),
        negated_(negated) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    Value la, ll, lh;
    const Value* a = arg_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    const Value* lo = lo_->eval(ctx, ll);
    if (lo == nullptr) return nullptr;
    const Value* hi = hi_->eval(ctx, lh);
    if (hi == nullptr) return nullptr;
    // a >= lo AND a <= hi, three-valued: 1 true, 0 false, -1 null.
    int ge = -1, le = -1;
    if (!a->is_null() && !lo->is_null()) {
      const auto c = compare_values(*a, *lo);
      if (!c) return bad(ctx, *a, *lo);
      ge = *c >= 0 ? 1 : 0;
    }
    if (!a->is_null() && !hi->is_null()) {
      const auto c = compare_values(*a, *hi);
      if (!c) return bad(ctx, *a, *hi);
      le = *c <= 0 ? 1 : 0;
    }
    if (ge == 0 || le == 0) return boolean(negated_);
    if (ge == -1 || le == -1) return &null_value();
    return boolean(!negated_);
  }

 private:
  const Value* bad(EvalCtx& ctx, const Value& a, const Value& b) const {
    return fail(ctx, pos, std::string("BETWEEN compares ") + tname(a) + " with " + tname(b));
  }
  NodePtr arg_, lo_, hi_;
  bool negated_;
};

class Like final : public Node {
 public:
  Like(SourcePos p, NodePtr arg, NodePtr pattern, bool negated)
      : Node(p, StaticType::Bool),
        arg_(std::move(arg)),
        pat_(std::move(pattern)),
        negated_(negated) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    Value la, lp;
    const Value* a = arg_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    const Value* p = pat_->eval(ctx, lp);
    if (p == nullptr) return nullptr;
    if (a->is_null() || p->is_null()) return &null_value();
    if (!a->is_string() || !p->is_string()) {
      return fail(ctx, pos,
                  std::string("LIKE needs strings, got ") + tname(*a) + " and " + tname(*p));
    }
    return boolean(like_match(a->as_string(), p->as_string()) != negated_);
  }

 private:
  NodePtr arg_, pat_;
  bool negated_;
};

class IsNull final : public Node {
 public:
  IsNull(SourcePos p, NodePtr arg, bool negated)
      : Node(p, StaticType::Bool), arg_(std::move(arg)), negated_(negated) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    Value la;
    const Value* a = arg_->eval(ctx, la);
    if (a == nullptr) return nullptr;
    return boolean(a->is_null() != negated_);
  }

 private:
  NodePtr arg_;
  bool negated_;
};

class Case final : public Node {
 public:
  Case(SourcePos p, NodePtr operand, std::vector<std::pair<NodePtr, NodePtr>> whens, NodePtr other)
      : Node(p, StaticType::Any),
        operand_(std::move(operand)),
        whens_(std::move(whens)),
        else_(std::move(other)) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    Value lo;
    const Value* op = nullptr;
    if (operand_) {
      op = operand_->eval(ctx, lo);
      if (op == nullptr) return nullptr;
    }
    for (const auto& [when, then] : whens_) {
      Value lw;
      const Value* w = when->eval(ctx, lw);
      if (w == nullptr) return nullptr;
      bool hit = false;
      if (op != nullptr) {
        if (!op->is_null() && !w->is_null()) {
          const auto eq = sql_equal(*op, *w);
          if (!eq) {
            return fail(ctx, when->pos,
                        std::string("CASE compares ") + tname(*op) + " with " + tname(*w));
          }
          hit = *eq;
        }
      } else {
        hit = w->is_true();
      }
      if (hit) return then->eval(ctx, scratch);
    }
    if (else_) return else_->eval(ctx, scratch);
    return &null_value();
  }

 private:
  NodePtr operand_;
  std::vector<std::pair<NodePtr, NodePtr>> whens_;
  NodePtr else_;
};

class Call final : public Node {
 public:
  Call(SourcePos p, const ScalarFunction* fn, std::vector<NodePtr> args)
      : Node(p, StaticType::Any), fn_(fn), args_(std::move(args)), buf_(args_.size()) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    for (size_t i = 0; i < args_.size(); ++i) {
      const Value* v = args_[i]->eval(ctx, buf_[i]);
      if (v == nullptr) return nullptr;
      if (v != &buf_[i]) buf_[i] = *v;
    }
    ctx.call.error.clear();
    if (!fn_->fn(std::span<const Value>(buf_.data(), buf_.size()), ctx.call, scratch)) {
      std::string msg =
          ctx.call.error.empty() ? std::string(fn_->name) + " failed" : ctx.call.error;
      return fail(ctx, pos, std::move(msg));
    }
    return &scratch;
  }

 private:
  const ScalarFunction* fn_;
  std::vector<NodePtr> args_;
  mutable std::vector<Value> buf_;  // argument values, reused by every call
};

class AggRef final : public Node {
 public:
  AggRef(SourcePos p, size_t index, StaticType t) : Node(p, t), index_(index) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    if (ctx.aggs == nullptr || index_ >= ctx.aggs->size()) return &null_value();
    scratch = (*ctx.aggs)[index_]->result();
    return &scratch;
  }

 private:
  size_t index_;
};

class AnalyticRef final : public Node {
 public:
  AnalyticRef(SourcePos p, size_t index) : Node(p, StaticType::Any), index_(index) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    if (ctx.analytic == nullptr) return &null_value();
    return &ctx.analytic[index_];
  }

 private:
  size_t index_;
};

class OutputColumn final : public Node {
 public:
  OutputColumn(SourcePos p, std::string name, StaticType t) : Node(p, t), name_(std::move(name)) {}
  const Value* eval(EvalCtx& ctx, Value&) const override {
    if (ctx.output == nullptr) return &null_value();
    return find_member(*ctx.output, name_, hint_);
  }

 private:
  std::string name_;
  mutable size_t hint_ = 0;
};

class WindowBound final : public Node {
 public:
  WindowBound(SourcePos p, bool end) : Node(p, StaticType::Int), end_(end) {}
  const Value* eval(EvalCtx& ctx, Value& scratch) const override {
    scratch = Value(end_ ? ctx.window_end : ctx.window_start);
    return &scratch;
  }

 private:
  bool end_;
};

}  // namespace

const char* static_type_name(StaticType t) {
  switch (t) {
    case StaticType::Any:
      return "any";
    case StaticType::Null:
      return "null";
    case StaticType::Bool:
      return "bool";
    case StaticType::Int:
      return "int";
    case StaticType::Float:
      return "float";
    case StaticType::Number:
      return "number";
    case StaticType::String:
      return "string";
    case StaticType::Array:
      return "array";
    case StaticType::Object:
      return "object";
  }
  return "any";
}

StaticType static_type_of(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null:
      return StaticType::Null;
    case Value::Type::Bool:
      return StaticType::Bool;
    case Value::Type::Int:
      return StaticType::Int;
    case Value::Type::Float:
      return StaticType::Float;
    case Value::Type::String:
      return StaticType::String;
    case Value::Type::Array:
      return StaticType::Array;
    case Value::Type::Object:
      return StaticType::Object;
  }
  return StaticType::Any;
}

const Value& null_value() {
  static const Value kNull;
  return kNull;
}

const Value* fail(EvalCtx& ctx, SourcePos pos, std::string message) {
  ctx.call.error = std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message;
  return nullptr;
}

std::optional<bool> sql_equal(const Value& a, const Value& b) {
  const Kind ka = kind_of(a), kb = kind_of(b);
  if (ka != kb) return std::nullopt;
  return a == b;
}

bool like_match(std::string_view text, std::string_view pat) {
  // Iterative matching with one backtrack point (the last %), linear in practice.
  size_t t = 0, p = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pat.size()) {
      const char c = pat[p];
      if (c == '%') {
        star_p = ++p;
        star_t = t;
        continue;
      }
      if (c == '_') {
        ++p;
        ++t;
        continue;
      }
      const bool esc = c == '\\' && p + 1 < pat.size();
      const char lit = esc ? pat[p + 1] : c;
      if (lit == text[t]) {
        p += esc ? 2 : 1;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pat.size() && pat[p] == '%') ++p;
  return p == pat.size();
}

int order_compare(const Value& a, const Value& b) {
  const Kind ka = kind_of(a), kb = kind_of(b);
  if (ka != kb) return ka < kb ? -1 : 1;
  if (ka == Kind::Null) return 0;
  if (const auto c = compare_values(a, b)) return *c;
  // Arrays and objects: by their JSON text, only so that the order is total and repeatable.
  const std::string ja = a.to_json(), jb = b.to_json();
  return ja < jb ? -1 : (ja > jb ? 1 : 0);
}

NodePtr make_literal(SourcePos pos, Value v) {
  return std::make_unique<Literal>(pos, std::move(v));
}
NodePtr make_stream_field(SourcePos pos, std::string name, StaticType t) {
  return std::make_unique<StreamField>(pos, std::move(name), t);
}
NodePtr make_table_field(SourcePos pos, size_t join, std::string name, StaticType t) {
  return std::make_unique<TableField>(pos, join, std::move(name), t);
}
NodePtr make_table_row(SourcePos pos, size_t join) { return std::make_unique<TableRow>(pos, join); }
NodePtr make_member(SourcePos pos, NodePtr object, std::string name) {
  return std::make_unique<Member>(pos, std::move(object), std::move(name));
}
NodePtr make_index(SourcePos pos, NodePtr array, NodePtr index) {
  return std::make_unique<Index>(pos, std::move(array), std::move(index));
}
NodePtr make_unary(SourcePos pos, UnaryOp op, NodePtr arg) {
  return std::make_unique<Unary>(pos, op, std::move(arg));
}
NodePtr make_binary(SourcePos pos, BinaryOp op, NodePtr lhs, NodePtr rhs) {
  return std::make_unique<Binary>(pos, op, std::move(lhs), std::move(rhs));
}
NodePtr make_in(SourcePos pos, NodePtr arg, std::vector<NodePtr> list, bool negated) {
  return std::make_unique<In>(pos, std::move(arg), std::move(list), negated);
}
NodePtr make_between(SourcePos pos, NodePtr arg, NodePtr lo, NodePtr hi, bool negated) {
  return std::make_unique<Between>(pos, std::move(arg), std::move(lo), std::move(hi), negated);
}
NodePtr make_like(SourcePos pos, NodePtr arg, NodePtr pattern, bool negated) {
  return std::make_unique<Like>(pos, std::move(arg), std::move(pattern), negated);
}
NodePtr make_is_null(SourcePos pos, NodePtr arg, bool negated) {
  return std::make_unique<IsNull>(pos, std::move(arg), negated);
}
NodePtr make_case(SourcePos pos, NodePtr operand, std::vector<std::pair<NodePtr, NodePtr>> whens,
                  NodePtr otherwise) {
  return std::make_unique<Case>(pos, std::move(operand), std::move(whens), std::move(otherwise));
}
NodePtr make_call(SourcePos pos, const ScalarFunction* fn, std::vector<NodePtr> args) {
  return std::make_unique<Call>(pos, fn, std::move(args));
}
NodePtr make_agg_ref(SourcePos pos, size_t index, StaticType t) {
  return std::make_unique<AggRef>(pos, index, t);
}
NodePtr make_analytic_ref(SourcePos pos, size_t index) {
  return std::make_unique<AnalyticRef>(pos, index);
}
NodePtr make_output_column(SourcePos pos, std::string name, StaticType t) {
  return std::make_unique<OutputColumn>(pos, std::move(name), t);
}
NodePtr make_window_bound(SourcePos pos, bool end) {
  return std::make_unique<WindowBound>(pos, end);
}

}  // namespace verge::rules

// A hand-written recursive-descent parser with precedence climbing for binary operators. It
// stops at the first error and reports it with the position of the offending token and what
// was expected there. Nesting is bounded (kMaxSqlNesting) both in the recursion and in the depth
// of every tree it builds, so neither parsing nor later recursive passes can overflow the stack.
#include <array>
#include <charconv>
#include <cstdio>
#include <optional>
#include <unordered_set>
#include <utility>

#include "rules/lexer.h"
#include "rules/parser.h"

namespace verge::rules {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}
std::string uppered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string pos_text(SourcePos p) {
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

// A token as the "found ..." part of a message.
std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::End:
      return "end of input";
    case Tok::Error:
      return t.text;
    case Tok::Ident:
      if (t.kw != Kw::None) return std::string("keyword ") + keyword_name(t.kw);
      return "identifier " + t.text;
    case Tok::QuotedIdent:
      return "identifier `" + t.text.substr(0, 40) + "`";
    case Tok::String: {
      std::string s;
      for (char c : t.text.substr(0, 24)) {
        s += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
      }
      if (t.text.size() > 24) s += "...";
      return "string '" + s + "'";
    }
    case Tok::Int:
    case Tok::Float:
      return "number " + t.text.substr(0, 32);
    default:
      return "'" + t.text + "'";
  }
}

// A token as the "after ..." part of a message: keywords bare, everything else quoted.
std::string short_name(const Token& t) {
  if (t.kind == Tok::Ident && t.kw != Kw::None) return keyword_name(t.kw);
  if (t.kind == Tok::Int || t.kind == Tok::Float) return t.text.substr(0, 32);
  if (t.kind == Tok::String) return "a string";
  return "'" + t.text.substr(0, 40) + "'";
}

bool is_name(const Token& t) {
  return (t.kind == Tok::Ident && t.kw == Kw::None) || t.kind == Tok::QuotedIdent;
}

std::optional<WindowKind> window_kind(std::string_view name) {
  if (iequals(name, "tumblingwindow")) return WindowKind::Tumbling;
  if (iequals(name, "hoppingwindow")) return WindowKind::Hopping;
  if (iequals(name, "slidingwindow")) return WindowKind::Sliding;
  if (iequals(name, "sessionwindow")) return WindowKind::Session;
  if (iequals(name, "countwindow")) return WindowKind::Count;
  return std::nullopt;
}

const char* window_usage(WindowKind k) {
  switch (k) {
    case WindowKind::Tumbling:
      return "TUMBLINGWINDOW takes a time unit and a size, e.g. TUMBLINGWINDOW(ss, 10)";
    case WindowKind::Hopping:
      return "HOPPINGWINDOW takes a time unit, a size and a hop, e.g. HOPPINGWINDOW(ss, 10, 5)";
    case WindowKind::Sliding:
      return "SLIDINGWINDOW takes a time unit, a size and an optional delay, e.g. "
             "SLIDINGWINDOW(ss, 10) or SLIDINGWINDOW(ss, 10, 2)";
    case WindowKind::Session:
      return "SESSIONWINDOW takes a time unit, a maximum duration and a gap, e.g. "
             "SESSIONWINDOW(mi, 60, 5)";
    case WindowKind::Count:
      return "COUNTWINDOW takes a count and an optional hop count, e.g. COUNTWINDOW(5) or "
             "COUNTWINDOW(5, 2)";
  }
  return "";
}

// An expression under construction with the depth of its tree, so no tree deeper than
// kMaxSqlNesting is ever built.
struct Node {
  ExprPtr e;
  uint32_t depth = 0;
  explicit operator bool() const { return e != nullptr; }
};

enum Prec : int {
  kNone = 0,
  kOr = 1,
  kAnd = 2,
  kNot = 3,
  kCompare = 4,
  kConcat = 5,
  kBitOr = 6,
  kBitXor = 7,
  kBitAnd = 8,
  kAdd = 9,
  kMul = 10,
};

int binary_prec(const Token& t, BinaryOp& op) {
  switch (t.kind) {
    case Tok::Ident:
      if (t.kw == Kw::Or) return op = BinaryOp::Or, kOr;
      if (t.kw == Kw::And) return op = BinaryOp::And, kAnd;
      return kNone;
    case Tok::Eq:
      return op = BinaryOp::Eq, kCompare;
    case Tok::Ne:
      return op = BinaryOp::Ne, kCompare;
    case Tok::Lt:
      return op = BinaryOp::Lt, kCompare;
    case Tok::Le:
      return op = BinaryOp::Le, kCompare;
    case Tok::Gt:
      return op = BinaryOp::Gt, kCompare;
    case Tok::Ge:
      return op = BinaryOp::Ge, kCompare;
    case Tok::Concat:
      return op = BinaryOp::Concat, kConcat;
    case Tok::Pipe:
      return op = BinaryOp::BitOr, kBitOr;
    case Tok::Caret:
      return op = BinaryOp::BitXor, kBitXor;
    case Tok::Amp:
      return op = BinaryOp::BitAnd, kBitAnd;
    case Tok::Plus:
      return op = BinaryOp::Add, kAdd;
    case Tok::Minus:
      return op = BinaryOp::Sub, kAdd;
    case Tok::Star:
      return op = BinaryOp::Mul, kMul;
    case Tok::Slash:
      return op = BinaryOp::Div, kMul;
    case Tok::Percent:
      return op = BinaryOp::Mod, kMul;
    default:
      return kNone;
  }
}

class Parser {
 public:
  explicit Parser(std::string_view src) : lex_(src) {}

  bool select(SelectStatement& s);
  bool create(CreateStatement& c);
  bool expression_only(ExprPtr& out);

  const SqlError& error() const { return *err_; }

 private:
  struct DepthGuard {
    explicit DepthGuard(uint32_t& r) : r_(r) { ++r_; }
    ~DepthGuard() { --r_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    uint32_t& r_;
  };

  // --- tokens
  // Lookahead of up to kLookahead tokens (the grammar needs 3, for "s . *").
  const Token& peek(size_t k = 0) {
    while (count_ <= k) {
      ring_[(head_ + count_) % kLookahead] = lex_.next();
      ++count_;
    }
    return ring_[(head_ + k) % kLookahead];
  }
  Token take() {
    peek();
    Token t = std::move(ring_[head_]);
    head_ = (head_ + 1) % kLookahead;
    --count_;
    prev_ = short_name(t);
    return t;
  }
  bool at(Tok k) { return peek().kind == k; }
  bool at_kw(Kw kw) { return peek().kind == Tok::Ident && peek().kw == kw; }
  bool at_word(std::string_view w) {
    return peek().kind == Tok::Ident && peek().kw == Kw::None && iequals(peek().text, w);
  }
  bool accept(Tok k) {
    if (!at(k)) return false;
    take();
    return true;
  }
  bool accept_kw(Kw kw) {
    if (!at_kw(kw)) return false;
    take();
    return true;
  }

  // --- errors: the first one wins; every function returns false / an empty Node after it.
  bool fail(SourcePos pos, std::string message) {
    if (!err_) err_ = SqlError{pos, std::move(message)};
    return false;
  }
  // "expected <what>, found <the next token>", or the lexer's message if the next token is bad.
  bool fail_found(const std::string& what) {
    const Token& t = peek();
    if (t.kind == Tok::Error) return fail(t.pos, t.text);
    return fail(t.pos, "expected " + what + ", found " + describe(t));
  }
  bool expect(Tok k, const std::string& what) { return accept(k) || fail_found(what); }
  bool expect_kw(Kw kw, const std::string& what) { return accept_kw(kw) || fail_found(what); }
  bool too_deep(SourcePos pos) {
    return fail(pos, "expression nested too deeply (more than " + std::to_string(kMaxSqlNesting) +
                         " levels)");
  }

  // --- tree building
  static Node make(ExprKind k, SourcePos pos) {
    Node n{std::make_unique<Expr>(), 1};
    n.e->kind = k;
    n.e->pos = pos;
    return n;
  }
  bool grow(Node& parent, const Node& child) {
    if (child.depth + 1 > parent.depth) parent.depth = child.depth + 1;
    return parent.depth <= kMaxSqlNesting || too_deep(parent.e->pos);
  }
  bool add(Node& parent, Node child) {
    if (!grow(parent, child)) return false;
    parent.e->args.push_back(std::move(child.e));
    return true;
  }

  // --- expressions
  Node expr();
  Node binary(int min_prec);
  Node comparison_suffix(Node left);
  Node unary();
  Node postfix(Node base);
  Node primary();
  Node call(Token name);
  Node case_expr();
  bool keyword_used_as_name();
  bool expr_list_until_rparen(Node& n, const std::string& ctx);

  // --- statements
  bool select_item(SelectStatement& s);
  bool name_with_alias(std::string& name, std::string& alias, const std::string& what);
  bool window(SelectStatement& s);
  bool window_int(int64_t& v, SourcePos& pos, const char* what, const std::string& fn);
  bool column_type(ColumnType& type);
  bool option_value(std::string& v);
  bool end_of_statement(const std::string& clauses);

  static constexpr size_t kLookahead = 4;
  Lexer lex_;
  std::array<Token, kLookahead> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  std::string prev_;  // the last token taken, for "after ..." in messages
  uint32_t rec_ = 0;  // recursion depth
  std::optional<SqlError> err_;
};

// ----------------------------------------------------------------------------- expressions

Node Parser::expr() {
  DepthGuard g(rec_);
  if (rec_ > kMaxSqlNesting) return too_deep(peek().pos), Node{};
  return binary(kOr);
}

Node Parser::binary(int min_prec) {
  Node left;
  if (min_prec <= kNot && at_kw(Kw::Not)) {
    DepthGuard g(rec_);
    Token t = take();
    if (rec_ > kMaxSqlNesting) return too_deep(t.pos), Node{};
    Node operand = binary(kNot);
    if (!operand) return {};
    left = make(ExprKind::Unary, t.pos);
    left.e->unary_op = UnaryOp::Not;
    if (!add(left, std::move(operand))) return {};
  } else {
    left = unary();
    if (!left) return {};
  }
  for (;;) {
    const Token& t = peek();
    if (min_prec <= kCompare && t.kind == Tok::Ident) {
      const bool negated_form =
          t.kw == Kw::Not && peek(1).kind == Tok::Ident &&
          (peek(1).kw == Kw::In || peek(1).kw == Kw::Between || peek(1).kw == Kw::Like);
      if (negated_form || t.kw == Kw::In || t.kw == Kw::Between || t.kw == Kw::Like ||
          t.kw == Kw::Is) {
        left = comparison_suffix(std::move(left));
        if (!left) return {};
        continue;
      }
    }
    BinaryOp op{};
    const int prec = binary_prec(t, op);
    if (prec == kNone || prec < min_prec) break;
    Token op_tok = take();
    Node right = binary(prec + 1);
    if (!right) return {};
    Node n = make(ExprKind::Binary, op_tok.pos);
    n.e->binary_op = op;
    if (!add(n, std::move(left)) || !add(n, std::move(right))) return {};
    left = std::move(n);
  }
  return left;
}

// [NOT] IN (...), [NOT] BETWEEN a AND b, [NOT] LIKE p, IS [NOT] NULL after `left`.
Node Parser::comparison_suffix(Node left) {
  const bool negated = accept_kw(Kw::Not);
  Token op = take();
  if (op.kw == Kw::In) {
    Node n = make(ExprKind::In, op.pos);
    n.e->negated = negated;
    if (!add(n, std::move(left))) return {};
    if (!expect(Tok::LParen, "'(' after IN")) return {};
    if (at(Tok::RParen)) return fail_found("a value in the IN list"), Node{};
    if (at_kw(Kw::Select)) return fail(peek().pos, "subqueries are not supported"), Node{};
    if (!expr_list_until_rparen(n, "the IN list")) return {};
    return n;
  }
  if (op.kw == Kw::Between) {
    Node n = make(ExprKind::Between, op.pos);
    n.e->negated = negated;
    Node lo = binary(kConcat);
    if (!lo) return {};
    if (!expect_kw(Kw::And, "AND after the lower bound of BETWEEN")) return {};
    Node hi = binary(kConcat);
    if (!hi) return {};
    if (!add(n, std::move(left)) || !add(n, std::move(lo)) || !add(n, std::move(hi))) return {};
    return n;
  }
  if (op.kw == Kw::Like) {
    Node n = make(ExprKind::Like, op.pos);
    n.e->negated = negated;
    Node pattern = binary(kConcat);
    if (!pattern) return {};
    if (!add(n, std::move(left)) || !add(n, std::move(pattern))) return {};
    return n;
  }
  // IS [NOT] NULL
  Node n = make(ExprKind::IsNull, op.pos);
  n.e->negated = accept_kw(Kw::Not);
  if (!expect_kw(Kw::Null, n.e->negated ? "NULL after IS NOT" : "NULL or NOT NULL after IS")) {
    return {};
  }
  if (!add(n, std::move(left))) return {};
  return n;
}

// Parses "e, e, ... )" into n's arguments; the '(' is already taken.
bool Parser::expr_list_until_rparen(Node& n, const std::string& ctx) {
  for (;;) {
    Node item = expr();
    if (!item || !add(n, std::move(item))) return false;
    if (accept(Tok::Comma)) continue;
    return expect(Tok::RParen, "',' or ')' in " + ctx);
  }
}

Node Parser::unary() {
  if (!at(Tok::Minus)) {
    Node p = primary();
    if (!p) return {};
    return postfix(std::move(p));
  }
  DepthGuard g(rec_);
  Token minus = take();
  if (rec_ > kMaxSqlNesting) return too_deep(minus.pos), Node{};
  const Tok next = peek().kind;
  const Tok after = peek(1).kind;
  if ((next == Tok::Int || next == Tok::Float) && after != Tok::Dot && after != Tok::LBracket &&
      after != Tok::Arrow) {
    // A negative number is one literal, so -9223372036854775808 is representable.
    Token num = take();
    Node n = make(ExprKind::Literal, minus.pos);
    if (num.kind == Tok::Float) {
      n.e->literal = Value(-num.float_value);
    } else if (num.int_is_min_magnitude) {
      n.e->literal = Value(int64_t{INT64_MIN});
    } else {
      n.e->literal = Value(-num.int_value);
    }
    return n;
  }
  Node operand = unary();
  if (!operand) return {};
  Node n = make(ExprKind::Unary, minus.pos);
  n.e->unary_op = UnaryOp::Neg;
  if (!add(n, std::move(operand))) return {};
  return n;
}

Node Parser::postfix(Node base) {
  for (;;) {
    if (at(Tok::Dot) || at(Tok::Arrow)) {
      Token op = take();
      if (at(Tok::Star)) {
        return fail(peek().pos, "'" + op.text +
                                    "*' is only allowed as a whole select item, as in "
                                    "SELECT s.* FROM s"),
               Node{};
      }
      if (!is_name(peek())) return fail_found("a field name after '" + op.text + "'"), Node{};
      Token name = take();
      Node n = make(ExprKind::Member, name.pos);
      n.e->name = std::move(name.text);
      if (!add(n, std::move(base))) return {};
      base = std::move(n);
    } else if (at(Tok::LBracket)) {
      Token open = take();
      if (at(Tok::RBracket)) return fail_found("an index inside '[]'"), Node{};
      Node index = expr();
      if (!index) return {};
      if (at(Tok::Colon)) {
        return fail(peek().pos, "array slices such as a[1:3] are not supported"), Node{};
      }
      if (!expect(Tok::RBracket, "']' after the index")) return {};
      Node n = make(ExprKind::Index, open.pos);
      if (!add(n, std::move(base)) || !add(n, std::move(index))) return {};
      base = std::move(n);
    } else {
      return base;
    }
  }
}

Node Parser::primary() {
  const Token& t = peek();
  switch (t.kind) {
    case Tok::Int: {
      if (t.int_is_min_magnitude) {
        return fail(t.pos, "integer " + t.text +
                               " is out of range (integers are 64-bit signed; write it as a "
                               "float, e.g. " +
                               t.text + ".0)"),
               Node{};
      }
      Token num = take();
      Node n = make(ExprKind::Literal, num.pos);
      n.e->literal = Value(num.int_value);
      return n;
    }
    case Tok::Float: {
      Token num = take();
      Node n = make(ExprKind::Literal, num.pos);
      n.e->literal = Value(num.float_value);
      return n;
    }
    case Tok::String: {
      Token s = take();
      Node n = make(ExprKind::Literal, s.pos);
      n.e->literal = Value(std::move(s.text));
      return n;
    }
    case Tok::LParen: {
      Token open = take();
      if (at_kw(Kw::Select)) return fail(peek().pos, "subqueries are not supported"), Node{};
      Node inner = expr();
      if (!inner) return {};
      if (!expect(Tok::RParen, "')' to close the '(' at " + pos_text(open.pos))) return {};
      return inner;
    }
    case Tok::QuotedIdent:
    case Tok::Ident: {
      if (t.kind == Tok::Ident && t.kw != Kw::None) {
        if (t.kw == Kw::True || t.kw == Kw::False || t.kw == Kw::Null) {
          Token k = take();
          Node n = make(ExprKind::Literal, k.pos);
          if (k.kw == Kw::True) n.e->literal = Value(true);
          if (k.kw == Kw::False) n.e->literal = Value(false);
          return n;
        }
        if (t.kw == Kw::Case) return case_expr();
        break;
      }
      Token name = take();
      if (at(Tok::LParen)) return call(std::move(name));
      Node n = make(ExprKind::Field, name.pos);
      n.e->name = std::move(name.text);
      return n;
    }
    default:
      break;
  }
  if (t.kind == Tok::Error) return fail(t.pos, t.text), Node{};
  const std::string expected = prev_.empty() ? "an expression" : "an expression after " + prev_;
  if (t.kind == Tok::Ident && keyword_used_as_name()) {
    return fail(t.pos, "expected " + expected + ", found keyword " + keyword_name(t.kw) +
                           " (a reserved word: write `" + t.text + "` to use it as a name)"),
           Node{};
  }
  return fail_found(expected), Node{};
}

// Whether the reserved word at peek() is followed by what usually follows an operand, as in
// "WHERE end > 5" or "SELECT desc FROM s": then the writer most likely meant a field.
bool Parser::keyword_used_as_name() {
  if (peek().kw == Kw::End && (prev_ == "CASE" || prev_ == "THEN" || prev_ == "ELSE")) {
    return false;
  }
  const Token& next = peek(1);
  switch (next.kind) {
    case Tok::Comma:
    case Tok::RParen:
    case Tok::Dot:
    case Tok::Arrow:
    case Tok::LBracket:
    case Tok::Eq:
    case Tok::Ne:
    case Tok::Lt:
    case Tok::Le:
    case Tok::Gt:
    case Tok::Ge:
    case Tok::Plus:
    case Tok::Slash:
    case Tok::Percent:
    case Tok::Concat:
      return true;
    case Tok::Ident:
      return next.kw == Kw::From || next.kw == Kw::As;
    default:
      return false;
  }
}

Node Parser::call(Token name) {
  if (window_kind(name.text)) {
    return fail(name.pos,
                uppered(name.text) + " is a window: it is only allowed as an item of GROUP BY"),
           Node{};
  }
  if (iequals(name.text, "statewindow")) {
    return fail(name.pos,
                "STATEWINDOW is not supported (windows: TUMBLINGWINDOW, "
                "HOPPINGWINDOW, SLIDINGWINDOW, SESSIONWINDOW, COUNTWINDOW)"),
           Node{};
  }
  Node n = make(ExprKind::Call, name.pos);
  n.e->name = lowered(name.text);
  const std::string fn = n.e->name;
  take();  // (
  if (at(Tok::Star) && peek(1).kind == Tok::RParen) {
    take();
    take();
    n.e->star_arg = true;
  } else if (at_kw(Kw::Distinct)) {
    return fail(peek().pos, "DISTINCT inside a function call is not supported"), Node{};
  } else if (!accept(Tok::RParen)) {
    if (!expr_list_until_rparen(n, "the arguments of " + fn)) return {};
  }
  if (at_word("filter") && peek(1).kind == Tok::LParen) {
    return fail(peek().pos,
                "FILTER (WHERE ...) on a function call is not supported; filter rows with WHERE "
                "or use CASE inside the aggregate"),
           Node{};
  }
  if (!at_kw(Kw::Over)) return n;
  take();
  if (!expect(Tok::LParen, "'(' after OVER")) return {};
  bool any = false;
  if (accept_kw(Kw::Partition)) {
    any = true;
    if (!expect_kw(Kw::By, "BY after PARTITION")) return {};
    do {
      Node key = expr();
      if (!key || !grow(n, key)) return {};
      n.e->partition_by.push_back(std::move(key.e));
    } while (accept(Tok::Comma));
  }
  if (accept_kw(Kw::When)) {
    any = true;
    Node cond = expr();
    if (!cond || !grow(n, cond)) return {};
    n.e->over_when = std::move(cond.e);
  }
  if (!any) return fail_found("PARTITION BY or WHEN inside OVER (...)"), Node{};
  if (!expect(Tok::RParen, "')' to close OVER (...)")) return {};
  return n;
}

Node Parser::case_expr() {
  Token kw = take();
  Node n = make(ExprKind::Case, kw.pos);
  if (!at_kw(Kw::When)) {
    Node operand = expr();
    if (!operand) return {};
    n.e->case_operand = true;
    if (!add(n, std::move(operand))) return {};
    if (!at_kw(Kw::When)) return fail_found("WHEN after the CASE operand"), Node{};
  }
  while (accept_kw(Kw::When)) {
    Node cond = expr();
    if (!cond) return {};
    if (!expect_kw(Kw::Then, "THEN after the WHEN condition")) return {};
    Node result = expr();
    if (!result) return {};
    if (!add(n, std::move(cond)) || !add(n, std::move(result))) return {};
  }
  if (accept_kw(Kw::Else)) {
    Node other = expr();
    if (!other) return {};
    n.e->has_else = true;
    if (!add(n, std::move(other))) return {};
  }
  if (!expect_kw(Kw::End, "WHEN, ELSE or END in CASE")) return {};
  return n;
}

// ------------------------------------------------------------------------------ statements

bool Parser::end_of_statement(const std::string& clauses) {
  const bool semicolon = accept(Tok::Semicolon);
  if (at(Tok::End)) return true;
  if (semicolon || clauses.empty()) return fail_found("end of statement");
  return fail_found(clauses + " or end of statement");
}

bool Parser::select_item(SelectStatement& s) {
  SelectItem item;
  item.pos = peek().pos;
  if (at(Tok::Star) || (is_name(peek()) && peek(1).kind == Tok::Dot && peek(2).kind == Tok::Star)) {
    Node n = make(ExprKind::Star, item.pos);
    if (!at(Tok::Star)) {
      n.e->qualifier = take().text;
      take();  // .
    }
    take();  // *
    if (at_kw(Kw::As)) return fail(peek().pos, "a '*' select item cannot have an alias");
    item.expr = std::move(n.e);
    s.items.push_back(std::move(item));
    return true;
  }
  Node e = expr();
  if (!e) return false;
  item.expr = std::move(e.e);
  if (accept_kw(Kw::As)) {
    if (!is_name(peek())) return fail_found("an alias after AS");
    item.alias = take().text;
  }
  s.items.push_back(std::move(item));
  return true;
}

// `name [[AS] alias]` for FROM and JOIN.
bool Parser::name_with_alias(std::string& name, std::string& alias, const std::string& what) {
  if (!is_name(peek())) return fail_found(what);
  name = take().text;
  if (accept_kw(Kw::As)) {
    if (!is_name(peek())) return fail_found("an alias after AS");
    alias = take().text;
  } else if (is_name(peek())) {
    alias = take().text;
  }
  return true;
}

bool Parser::window_int(int64_t& v, SourcePos& pos, const char* what, const std::string& fn) {
  pos = peek().pos;
  bool negative = false;
  if (at(Tok::Minus) && peek(1).kind == Tok::Int) {
    take();
    negative = true;
  }
  if (!at(Tok::Int)) {
    return fail_found(std::string("the ") + what + " of " + fn + " (an integer)");
  }
  Token t = take();
  if (t.int_is_min_magnitude) {
    v = INT64_MIN;
  } else {
    v = negative ? -t.int_value : t.int_value;
  }
  if (t.int_is_min_magnitude && !negative) return fail(pos, "integer " + t.text + " is too large");
  return true;
}

bool Parser::window(SelectStatement& s) {
  Token name = take();
  WindowSpec w;
  w.kind = *window_kind(name.text);
  w.pos = name.pos;
  const std::string fn = uppered(name.text);
  take();  // (
  int64_t unit_ms = 1;
  if (w.kind != WindowKind::Count) {
    const Token& u = peek();
    if (u.kind != Tok::Ident) {
      return fail_found("a time unit (dd, hh, mi, ss or ms) as the first argument of " + fn);
    }
    const std::string unit = lowered(u.text);
    if (unit == "dd") {
      w.unit = TimeUnit::Day;
    } else if (unit == "hh") {
      w.unit = TimeUnit::Hour;
    } else if (unit == "mi") {
      w.unit = TimeUnit::Minute;
    } else if (unit == "ss") {
      w.unit = TimeUnit::Second;
    } else if (unit == "ms") {
      w.unit = TimeUnit::Millisecond;
    } else {
      return fail(u.pos, "unknown time unit '" + u.text.substr(0, 32) +
                             "' (expected dd, hh, mi, ss or ms)");
    }
    unit_ms = time_unit_ms(w.unit);
    take();
    if (!expect(Tok::Comma, "',' after the time unit of " + fn)) return false;
  }
  // Integer arguments, named for messages.
  static const char* const kNames[5][2] = {
      {"size", ""},                 // Tumbling
      {"size", "hop"},              // Hopping
      {"size", "delay"},            // Sliding
      {"maximum duration", "gap"},  // Session
      {"count", "hop count"},       // Count
  };
  const auto k = static_cast<size_t>(w.kind);
  const size_t min_args = (w.kind == WindowKind::Hopping || w.kind == WindowKind::Session) ? 2 : 1;
  const size_t max_args = w.kind == WindowKind::Tumbling ? 1 : 2;
  int64_t v[2] = {0, 0};
  SourcePos at_arg[2];
  size_t n = 0;
  for (;;) {
    if (n == max_args) return fail(peek().pos, window_usage(w.kind));
    if (!window_int(v[n], at_arg[n], kNames[k][n], fn)) return false;
    ++n;
    if (accept(Tok::Comma)) continue;
    if (at(Tok::RParen)) break;
    return fail_found("',' or ')' in " + fn);
  }
  if (n < min_args) return fail(peek().pos, window_usage(w.kind));
  take();  // )

  auto positive = [&](size_t i) {
    if (v[i] > 0) return true;
    return fail(at_arg[i], std::string("the ") + kNames[k][i] + " of " + fn +
                               " must be a positive integer, found " + std::to_string(v[i]));
  };
  auto to_ms = [&](size_t i, int64_t& out) {
    if (v[i] > INT64_MAX / unit_ms) {
      return fail(at_arg[i], std::string("the ") + kNames[k][i] + " of " + fn + " is too large");
    }
    out = v[i] * unit_ms;
    return true;
  };
  auto not_larger = [&](const char* what_small, const char* what_big) {
    if (v[1] <= v[0]) return true;
    return fail(at_arg[1], std::string("the ") + what_small + " (" + std::to_string(v[1]) +
                               ") must not be larger than the " + what_big + " (" +
                               std::to_string(v[0]) + ")");
  };
  switch (w.kind) {
    case WindowKind::Tumbling:
      if (!positive(0) || !to_ms(0, w.size_ms)) return false;
      break;
    case WindowKind::Hopping:
      if (!positive(0) || !positive(1) || !not_larger("hop", "window size")) return false;
      if (!to_ms(0, w.size_ms) || !to_ms(1, w.hop_ms)) return false;
      break;
    case WindowKind::Sliding:
      if (!positive(0) || !to_ms(0, w.size_ms)) return false;
      if (n == 2) {
        if (v[1] < 0) {
          return fail(at_arg[1], "the delay of " + fn + " must not be negative, found " +
                                     std::to_string(v[1]));
        }
        if (!to_ms(1, w.hop_ms)) return false;
      }
      break;
    case WindowKind::Session:
      if (!positive(0) || !positive(1) || !not_larger("gap", "maximum duration")) return false;
      if (!to_ms(0, w.size_ms) || !to_ms(1, w.hop_ms)) return false;
      break;
    case WindowKind::Count:
      if (!positive(0)) return false;
      w.count = v[0];
      if (n == 2) {
        if (!positive(1) || !not_larger("hop count", "count")) return false;
        w.count_hop = v[1];
      }
      break;
  }
  if (at_word("filter") && peek(1).kind == Tok::LParen) {
    return fail(peek().pos,
                "FILTER (WHERE ...) on a window is not supported; filter rows with "
                "WHERE");
  }
  if (at_kw(Kw::Over)) {
    if (w.kind != WindowKind::Sliding) {
      return fail(peek().pos, "OVER (WHEN ...) is only allowed on SLIDINGWINDOW");
    }
    take();
    if (!expect(Tok::LParen, "'(' after OVER")) return false;
    if (!expect_kw(Kw::When, "WHEN inside the OVER (...) of SLIDINGWINDOW")) return false;
    Node cond = expr();
    if (!cond) return false;
    w.trigger = std::move(cond.e);
    if (!expect(Tok::RParen, "')' to close OVER (WHEN ...)")) return false;
  }
  s.window = std::move(w);
  return true;
}

bool Parser::select(SelectStatement& s) {
  if (!expect_kw(Kw::Select, "SELECT at the start of the statement")) return false;
  if (at_kw(Kw::Distinct)) {
    return fail(peek().pos,
                "SELECT DISTINCT is not supported; use GROUP BY or the deduplicate() function");
  }
  do {
    if (!select_item(s)) return false;
  } while (accept(Tok::Comma));
  if (!at_kw(Kw::From)) {
    if (is_name(peek())) return fail_found("',' or FROM after a select item (aliases need AS)");
    return fail_found("',' or FROM after a select item");
  }
  take();
  s.from_pos = peek().pos;
  if (at(Tok::String)) {
    Token topic = take();
    if (topic.text.empty()) return fail(topic.pos, "the topic filter after FROM is empty");
    s.from = std::move(topic.text);
    s.from_is_topic = true;
    if (accept_kw(Kw::As)) {
      if (!is_name(peek())) return fail_found("an alias after AS");
      s.from_alias = take().text;
    } else if (is_name(peek())) {
      s.from_alias = take().text;
    }
  } else if (!name_with_alias(s.from, s.from_alias,
                              "a stream name or a quoted topic filter after FROM")) {
    return false;
  }
  for (;;) {
    JoinClause j;
    j.pos = peek().pos;
    if (accept_kw(Kw::Left)) {
      j.type = JoinType::Left;
      accept_kw(Kw::Outer);
      if (!expect_kw(Kw::Join, "JOIN after LEFT")) return false;
    } else if (accept_kw(Kw::Inner)) {
      if (!expect_kw(Kw::Join, "JOIN after INNER")) return false;
    } else if (at_kw(Kw::Right) || at_kw(Kw::Full) || at_kw(Kw::Cross)) {
      return fail(peek().pos, std::string(keyword_name(peek().kw)) +
                                  " JOIN is not supported (only JOIN, INNER JOIN and LEFT JOIN)");
    } else if (!accept_kw(Kw::Join)) {
      break;
    }
    if (!name_with_alias(j.table, j.alias, "a table name after JOIN")) return false;
    if (!expect_kw(Kw::On, "ON after the joined table")) return false;
    Node on = expr();
    if (!on) return false;
    j.on = std::move(on.e);
    s.joins.push_back(std::move(j));
  }
  std::string rest = "JOIN, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT";
  if (accept_kw(Kw::Where)) {
    Node w = expr();
    if (!w) return false;
    s.where = std::move(w.e);
    rest = "GROUP BY, HAVING, ORDER BY, LIMIT";
  }
  if (accept_kw(Kw::Group)) {
    if (!expect_kw(Kw::By, "BY after GROUP")) return false;
    do {
      if (peek().kind == Tok::Ident && window_kind(peek().text) && peek(1).kind == Tok::LParen) {
        if (s.window) return fail(peek().pos, "only one window is allowed in GROUP BY");
        if (!window(s)) return false;
      } else {
        Node key = expr();
        if (!key) return false;
        s.group_by.push_back(std::move(key.e));
      }
    } while (accept(Tok::Comma));
    rest = "',', HAVING, ORDER BY, LIMIT";
  }
  if (accept_kw(Kw::Having)) {
    Node h = expr();
    if (!h) return false;
    s.having = std::move(h.e);
    rest = "ORDER BY, LIMIT";
  }
  if (accept_kw(Kw::Order)) {
    if (!expect_kw(Kw::By, "BY after ORDER")) return false;
    do {
      OrderItem item;
      Node e = expr();
      if (!e) return false;
      item.expr = std::move(e.e);
      if (accept_kw(Kw::Desc)) {
        item.descending = true;
      } else {
        accept_kw(Kw::Asc);
      }
      s.order_by.push_back(std::move(item));
    } while (accept(Tok::Comma));
    rest = "',', LIMIT";
  }
  if (accept_kw(Kw::Limit)) {
    if (!at(Tok::Int) || peek().int_is_min_magnitude) {
      return fail_found("a non-negative integer after LIMIT");
    }
    s.limit = take().int_value;
    rest.clear();
  }
  return end_of_statement(rest);
}

bool Parser::expression_only(ExprPtr& out) {
  Node e = expr();
  if (!e) return false;
  if (!at(Tok::End)) return fail_found("end of expression");
  out = std::move(e.e);
  return true;
}

// ---------------------------------------------------------------------------------- CREATE

bool Parser::column_type(ColumnType& type) {
  DepthGuard g(rec_);
  if (rec_ > kMaxSqlNesting) return fail(peek().pos, "column type nested too deeply");
  if (peek().kind != Tok::Ident) {
    return fail_found("a column type (BIGINT, FLOAT, STRING, DATETIME, BOOLEAN, ARRAY or STRUCT)");
  }
  Token t = take();
  const std::string name = uppered(t.text);
  if (name == "BIGINT") {
    type = ColumnType::Bigint;
  } else if (name == "FLOAT") {
    type = ColumnType::Float;
  } else if (name == "STRING") {
    type = ColumnType::String;
  } else if (name == "DATETIME") {
    type = ColumnType::Datetime;
  } else if (name == "BOOLEAN") {
    type = ColumnType::Bool;
  } else if (name == "ARRAY") {
    // The element type is checked but not kept: values are dynamically typed.
    type = ColumnType::Array;
    if (!expect(Tok::LParen, "'(' with the element type after ARRAY")) return false;
    ColumnType element{};
    if (!column_type(element)) return false;
    return expect(Tok::RParen, "')' after the element type of ARRAY");
  } else if (name == "STRUCT") {
    type = ColumnType::Struct;
    if (!expect(Tok::LParen, "'(' with the fields after STRUCT")) return false;
    do {
      if (!is_name(peek())) return fail_found("a field name in STRUCT");
      take();
      ColumnType field{};
      if (!column_type(field)) return false;
    } while (accept(Tok::Comma));
    return expect(Tok::RParen, "',' or ')' after a field of STRUCT");
  } else if (name == "BYTEA") {
    return fail(t.pos, "column type BYTEA is not supported");
  } else {
    return fail(t.pos, "unknown column type '" + t.text.substr(0, 32) +
                           "' (expected BIGINT, FLOAT, STRING, DATETIME, BOOLEAN, ARRAY or "
                           "STRUCT)");
  }
  return true;
}

bool Parser::option_value(std::string& v) {
  const Token& t = peek();
  if (t.kind == Tok::String || t.kind == Tok::Int || t.kind == Tok::Float ||
      (t.kind == Tok::Ident && (t.kw == Kw::None || t.kw == Kw::True || t.kw == Kw::False))) {
    v = take().text;
    return true;
  }
  return fail_found("an option value (a quoted string)");
}

bool Parser::create(CreateStatement& c) {
  if (!at_word("create")) return fail_found("CREATE at the start of the statement");
  take();
  if (at_word("stream")) {
    c.is_table = false;
  } else if (at_word("table")) {
    c.is_table = true;
  } else {
    return fail_found("STREAM or TABLE after CREATE");
  }
  take();
  const char* what = c.is_table ? "table" : "stream";
  c.pos = peek().pos;
  if (!is_name(peek())) return fail_found(std::string("a ") + what + " name");
  c.name = take().text;
  if (!expect(Tok::LParen, std::string("'(' with the column list after the ") + what +
                               " name (write () for a schemaless " + what + ")")) {
    return false;
  }
  std::unordered_set<std::string> column_names;
  while (!at(Tok::RParen)) {
    ColumnDef col;
    col.pos = peek().pos;
    if (!is_name(peek())) return fail_found("a column name");
    col.name = take().text;
    if (!column_names.insert(col.name).second) {
      return fail(col.pos, "column " + col.name + " is declared twice");
    }
    if (!column_type(col.type)) return false;
    c.columns.push_back(std::move(col));
    if (!accept(Tok::Comma)) break;  // a trailing comma before ')' is allowed, as in eKuiper
  }
  if (!expect(Tok::RParen, "',' or ')' after a column definition")) return false;
  if (at_word("with")) {
    take();
    if (!expect(Tok::LParen, "'(' after WITH")) return false;
    std::unordered_set<std::string> option_names;
    do {
      const Token& k = peek();
      if (k.kind != Tok::Ident && k.kind != Tok::QuotedIdent) {
        return fail_found("an option name such as DATASOURCE");
      }
      Token key = take();
      std::string name = uppered(key.text);
      if (!option_names.insert(name).second) {
        return fail(key.pos, "option " + name + " is given twice");
      }
      if (!expect(Tok::Eq, "'=' after the option name " + name)) return false;
      std::string value;
      if (!option_value(value)) return false;
      c.options.emplace_back(std::move(name), std::move(value));
    } while (accept(Tok::Comma));
    if (!expect(Tok::RParen, "',' or ')' in WITH (...)")) return false;
    return end_of_statement("");
  }
  return end_of_statement("WITH (...)");
}

// ----------------------------------------------------------------------------- printing

bool plain_identifier(std::string_view s) {
  if (s.empty() || keyword_of(s) != Kw::None) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

void append_name(std::string& out, std::string_view s) {
  if (plain_identifier(s)) {
    out += s;
    return;
  }
  out += '`';
  for (char c : s) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
}

void append_literal(std::string& out, const Value& v) {
  if (v.is_string()) {
    out += '\'';
    for (char c : v.as_string()) {
      if (c == '\'') {
        out += "''";
      } else if (c == '\\') {
        // A backslash followed by one of the escape letters would be decoded; double it.
        out += "\\\\";
      } else {
        out += c;
      }
    }
    out += '\'';
    return;
  }
  if (v.is_null()) {
    out += "NULL";
    return;
  }
  if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
    return;
  }
  if (v.is_float()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v.as_float());  // shortest round-trip form
    std::string s(buf, r.ptr);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // stays a float
    out += s;
    return;
  }
  v.append_json(out);
}

void append_expr(std::string& out, const Expr& e);

void append_arg(std::string& out, const Expr& e, size_t i) {
  if (i < e.args.size() && e.args[i]) {
    append_expr(out, *e.args[i]);
  } else {
    out += "<missing>";
  }
}

bool is_number_literal(const Expr& e) {
  return e.kind == ExprKind::Literal && e.literal.is_number();
}

// A number as the base of .x or [i], or under a unary minus, is parenthesised: "5.x" would lex
// as a bad number, "-5[0]" and "--5" would read back differently.
void append_wrapped_arg(std::string& out, const Expr& e, size_t i) {
  const bool wrap = i < e.args.size() && e.args[i] && is_number_literal(*e.args[i]);
  if (wrap) out += '(';
  append_arg(out, e, i);
  if (wrap) out += ')';
}

void append_expr(std::string& out, const Expr& e) {
  switch (e.kind) {
    case ExprKind::Literal:
      append_literal(out, e.literal);
      return;
    case ExprKind::Field:
      if (!e.qualifier.empty()) {
        append_name(out, e.qualifier);
        out += '.';
      }
      append_name(out, e.name);
      return;
    case ExprKind::Member:
      append_wrapped_arg(out, e, 0);
      out += '.';
      append_name(out, e.name);
      return;
    case ExprKind::Index:
      append_wrapped_arg(out, e, 0);
      out += '[';
      append_arg(out, e, 1);
      out += ']';
      return;
    case ExprKind::Unary:
      out += e.unary_op == UnaryOp::Neg ? "(-" : "(NOT ";
      if (e.unary_op == UnaryOp::Neg) {
        append_wrapped_arg(out, e, 0);
      } else {
        append_arg(out, e, 0);
      }
      out += ')';
      return;
    case ExprKind::Binary:
      out += '(';
      append_arg(out, e, 0);
      out += ' ';
      out += binary_op_text(e.binary_op);
      out += ' ';
      append_arg(out, e, 1);
      out += ')';
      return;
    case ExprKind::Call:
      append_name(out, e.name);
      out += '(';
      if (e.star_arg) out += '*';
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        append_arg(out, e, i);
      }
      out += ')';
      if (!e.partition_by.empty() || e.over_when) {
        out += " OVER (";
        if (!e.partition_by.empty()) {
          out += "PARTITION BY ";
          for (size_t i = 0; i < e.partition_by.size(); ++i) {
            if (i) out += ", ";
            if (e.partition_by[i]) append_expr(out, *e.partition_by[i]);
          }
          if (e.over_when) out += ' ';
        }
        if (e.over_when) {
          out += "WHEN ";
          append_expr(out, *e.over_when);
        }
        out += ')';
      }
      return;
    case ExprKind::Case: {
      out += "CASE";
      size_t i = 0;
      if (e.case_operand) {
        out += ' ';
        append_arg(out, e, i++);
      }
      const size_t pairs_end = e.args.size() - (e.has_else && !e.args.empty() ? 1 : 0);
      for (; i + 1 < pairs_end; i += 2) {
        out += " WHEN ";
        append_arg(out, e, i);
        out += " THEN ";
        append_arg(out, e, i + 1);
      }
      if (e.has_else) {
        out += " ELSE ";
        append_arg(out, e, e.args.size() - 1);
      }
      out += " END";
      return;
    }
    case ExprKind::In:
      out += '(';
      append_arg(out, e, 0);
      out += e.negated ? " NOT IN (" : " IN (";
      for (size_t i = 1; i < e.args.size(); ++i) {
        if (i > 1) out += ", ";
        append_arg(out, e, i);
      }
      out += "))";
      return;
    case ExprKind::Between:
      out += '(';
      append_arg(out, e, 0);
      out += e.negated ? " NOT BETWEEN " : " BETWEEN ";
      append_arg(out, e, 1);
      out += " AND ";
      append_arg(out, e, 2);
      out += ')';
      return;
    case ExprKind::Like:
      out += '(';
      append_arg(out, e, 0);
      out += e.negated ? " NOT LIKE " : " LIKE ";
      append_arg(out, e, 1);
      out += ')';
      return;
    case ExprKind::IsNull:
      out += '(';
      append_arg(out, e, 0);
      out += e.negated ? " IS NOT NULL)" : " IS NULL)";
      return;
    case ExprKind::Star:
      if (!e.qualifier.empty()) {
        append_name(out, e.qualifier);
        out += '.';
      }
      out += '*';
      return;
  }
}

SqlError too_long(size_t n) {
  return SqlError{SourcePos{1, 1}, "statement too long: " + std::to_string(n) +
                                       " bytes (the limit is " + std::to_string(kMaxSqlBytes) +
                                       ")"};
}

}  // namespace

const char* binary_op_text(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add:
      return "+";
    case BinaryOp::Sub:
      return "-";
    case BinaryOp::Mul:
      return "*";
    case BinaryOp::Div:
      return "/";
    case BinaryOp::Mod:
      return "%";
    case BinaryOp::Eq:
      return "=";
    case BinaryOp::Ne:
      return "!=";
    case BinaryOp::Lt:
      return "<";
    case BinaryOp::Le:
      return "<=";
    case BinaryOp::Gt:
      return ">";
    case BinaryOp::Ge:
      return ">=";
    case BinaryOp::And:
      return "AND";
    case BinaryOp::Or:
      return "OR";
    case BinaryOp::Concat:
      return "||";
    case BinaryOp::BitAnd:
      return "&";
    case BinaryOp::BitOr:
      return "|";
    case BinaryOp::BitXor:
      return "^";
  }
  return "?";
}

Result<SelectStatement, SqlError> parse_select(std::string_view sql) {
  if (sql.size() > kMaxSqlBytes) return unexpected(too_long(sql.size()));
  Parser p(sql);
  SelectStatement s;
  if (!p.select(s)) return unexpected(p.error());
  return s;
}

Result<CreateStatement, SqlError> parse_create(std::string_view sql) {
  if (sql.size() > kMaxSqlBytes) return unexpected(too_long(sql.size()));
  Parser p(sql);
  CreateStatement c;
  if (!p.create(c)) return unexpected(p.error());
  return c;
}

Result<ExprPtr, SqlError> parse_expression(std::string_view text) {
  if (text.size() > kMaxSqlBytes) return unexpected(too_long(text.size()));
  Parser p(text);
  ExprPtr e;
  if (!p.expression_only(e)) return unexpected(p.error());
  return e;
}

std::string format_error(const SqlError& e) { return pos_text(e.pos) + ": " + e.message; }

std::string to_string(const Expr& e) {
  std::string out;
  append_expr(out, e);
  return out;
}

}  // namespace verge::rules

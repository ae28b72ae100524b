// Parses the rule language. Errors name the line and column and what was expected there, e.g.
// "2:17: expected an expression after '>', found 'FROM'".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "rules/ast.h"

namespace verge::rules {

// Positions in the tree: a Field, Call, Literal or Case sits at its first token (a negative
// number at its '-'); a Member at its member name; an Index at its '['; a Unary, Binary, In,
// Between, Like or IsNull at its operator keyword or symbol. `s.a` is always
// Member{a}(Field{s}): only the planner knows whether s names a stream. The grammar and its
// differences from eKuiper are in docs/rules/syntax.md.

// One SELECT statement (an optional trailing ';' is allowed). Keywords are case-insensitive;
// identifiers keep their case; `quoted` identifiers with backticks; strings in '...' or "...".
Result<SelectStatement, SqlError> parse_select(std::string_view sql);

// One CREATE STREAM or CREATE TABLE statement.
Result<CreateStatement, SqlError> parse_create(std::string_view sql);

// Parses one expression alone (templates and tests use it).
Result<ExprPtr, SqlError> parse_expression(std::string_view text);

// The operator as written in SQL ("+", "<=", "AND", ...), for printing and error messages.
const char* binary_op_text(BinaryOp op);

// "3:14: expected ..." (for CLI and logs).
std::string format_error(const SqlError& e);

// Limits that keep a hostile statement from exhausting memory or the stack: longer input, or an
// expression (or column type) nested deeper than this, is a syntax error.
inline constexpr size_t kMaxSqlBytes = 64 * 1024;
inline constexpr uint32_t kMaxSqlNesting = 200;

// Renders an expression back as SQL text with every operator parenthesised, e.g.
// "((a.b[0] + 1) > 2)", "count(*)", "lag(t) OVER (PARTITION BY id WHEN (t > 0))". Identifiers
// that are not plain words are quoted with backticks; strings with '...'. Used by tests, logs and
// default column names; parse_expression(to_string(e)) yields the same tree (unless the added
// parentheses take it over the nesting limit).
std::string to_string(const Expr& e);

}  // namespace verge::rules

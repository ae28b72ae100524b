// Parses the rule language. Errors name the line and column and what was expected there, e.g.
// "2:17: expected an expression after '>', found 'FROM'".
#pragma once

#include <string_view>

#include "core/result.h"
#include "rules/ast.h"

namespace verge::rules {

// One SELECT statement (an optional trailing ';' is allowed). Keywords are case-insensitive;
// identifiers keep their case; `quoted` identifiers with backticks; strings in '...' or "...".
Result<SelectStatement, SqlError> parse_select(std::string_view sql);

// One CREATE STREAM or CREATE TABLE statement.
Result<CreateStatement, SqlError> parse_create(std::string_view sql);

// Parses one expression alone (templates and tests use it).
Result<ExprPtr, SqlError> parse_expression(std::string_view text);

// "3:14: expected ..." (for CLI and logs).
std::string format_error(const SqlError& e);

}  // namespace verge::rules

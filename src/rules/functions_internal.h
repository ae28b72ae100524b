// Shared by the function library's files (functions_*.cc, aggregates, analytic): each file
// exports its table, functions_registry.cc joins them, and the helpers below keep argument
// checking and error messages uniform ("abs: expected a number, got string").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rules/functions.h"

namespace verge::rules::fn {

// The tables of each file, in registry order.
std::span<const ScalarFunction> math_functions();
std::span<const ScalarFunction> string_functions();
std::span<const ScalarFunction> convert_functions();
std::span<const ScalarFunction> time_functions();
std::span<const ScalarFunction> json_functions();
std::span<const ScalarFunction> hash_functions();
std::span<const AggregateFunction> aggregate_table();
std::span<const AnalyticFunction> analytic_table();

// Sets ctx.error to "<fn>: expected <what>, got <type of v>" and returns false.
bool type_error(CallContext& ctx, std::string_view fn, std::string_view what, const Value& v);
// Sets ctx.error to "<fn>: <message>" and returns false.
bool fail(CallContext& ctx, std::string_view fn, std::string_view message);

// True when any argument is null: most functions then return null.
inline bool any_null(std::span<const Value> args) {
  for (const auto& a : args) {
    if (a.is_null()) return true;
  }
  return false;
}

// An integer argument: an int, or a float holding an integer exactly (2.0 works, 2.5 does not).
std::optional<int64_t> integral(const Value& v);

// Values as SQL cast sees them; nullopt when there is no sensible conversion.
std::optional<double> to_float(const Value& v);
std::optional<int64_t> to_bigint(const Value& v);
std::optional<bool> to_boolean(const Value& v);
// Text of a value: strings as they are, everything else as compact JSON.
std::string to_text(const Value& v);

// Milliseconds since the epoch from an int, a float or a date-time string (RFC 3339 / ISO 8601,
// "2024-01-02T03:04:05Z", "2024-01-02 03:04:05.123", "+01:00" offsets; UTC when none).
std::optional<int64_t> to_datetime_ms(const Value& v);

}  // namespace verge::rules::fn

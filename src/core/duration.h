// Durations as people write them in configuration and APIs: "250ms", "1s", "90m", "12h", "30d",
// or a bare integer of milliseconds. One parser for the whole project.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"
#include "core/value.h"

namespace verge {

// Whole units, 0 .. 100 years. The error says what was expected: "expected a duration like
// 500ms, 10s, 5m, 2h or 1d, got 'ten'".
Result<int64_t> parse_duration_ms(std::string_view text);
// The same for a YAML/JSON value: a string as above, or a non-negative integer of milliseconds.
Result<int64_t> duration_ms_from_value(const Value& v);

}  // namespace verge

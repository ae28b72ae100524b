// Runs one rule over a recorded sequence of events with simulated time: the engine of
// `verge rule test` and of the rule case tests (tests/rules/*.case). Deterministic: processing
// time is the event's `at`, and windows close exactly when simulated time passes their end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "rules/ast.h"
#include "rules/program.h"

namespace verge::rules {

struct TimedEvent {
  int64_t at_ms = 0;      // processing time of arrival
  std::string topic;      // defaults to the stream's filter with wildcards replaced
  std::string payload;    // raw bytes (usually JSON)
  bool is_table = false;  // a row for table `table` instead of a stream event
  std::string table;
};

struct TimedRow {
  int64_t at_ms = 0;  // simulated time at which the row was emitted
  Value row;
};

struct OfflineResult {
  std::vector<TimedRow> rows;
  std::vector<Rejected> rejected;
  RuleCounters counters;
};

// `definitions` are CREATE STREAM/TABLE statements; `end_ms` is the time the run ends at
// (windows still open then are closed only if it is past their end). Errors: bad definitions or
// SQL, with line and column.
Result<OfflineResult, SqlError> run_offline(std::string_view sql,
                                            const std::vector<std::string>& definitions,
                                            const std::vector<TimedEvent>& events, int64_t end_ms,
                                            const RuleLimits& limits = {});

// Reads events from JSON lines: each line is either an envelope
//   {"at": 1000, "topic": "t/1", "payload": {...}}       (payload object or string)
//   {"at": 1000, "table": "limits", "payload": {...}}    (a table row)
// or a bare JSON object (a payload; `at` then advances by `step_ms` per line from 0). Blank
// lines and lines starting with '#' are skipped. Errors name the line.
Result<std::vector<TimedEvent>> read_events_jsonl(std::string_view text, int64_t step_ms = 1);

}  // namespace verge::rules

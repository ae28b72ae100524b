// `verge rule test`: runs one rule offline over recorded events (rules::run_offline) and prints
// each output row as a JSON line {"at": ms, "row": {...}} on stdout; rejected records and the
// rule's counters go to stderr. Exit 0 on success, 1 for a bad rule or definition (the error
// names "line:column: message"), 2 for unreadable input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace verge::cmd {

struct RuleTestOptions {
  std::string sql;       // --sql
  std::string sql_file;  // --sql-file (instead of --sql)
  // --define, repeatable: CREATE STREAM/TABLE statements. The FROM stream, when none of these
  // declares it, is a schemaless JSON stream.
  std::vector<std::string> defines;
  std::string input = "-";        // --input: JSON lines, "-" for stdin
  int64_t step_ms = 1;            // --step-ms: time between bare payload lines
  std::optional<int64_t> end_ms;  // --end-ms: default, the last event's time
};

int run_rule_test(const RuleTestOptions& options);

}  // namespace verge::cmd

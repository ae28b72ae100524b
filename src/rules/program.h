// A compiled rule with its state (windows, groups, analytic state): the part of the engine that
// turns input events into output rows. Single-threaded and clock-free: the caller passes the
// time, so the same code runs live on the engine thread, offline in `verge rule test`, and in
// the rule case tests with exact, repeatable timing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "rules/ast.h"
#include "rules/catalog.h"

namespace verge::rules {

// Bounds on a rule's state: none of them can grow without limit. Evictions are counted.
struct RuleLimits {
  size_t max_groups = 10000;        // GROUP BY keys alive in one window
  size_t max_window_rows = 100000;  // rows kept by one window (sliding, hopping, count, session)
  size_t max_partitions = 10000;    // analytic-function partitions (lag ... OVER PARTITION BY)
  int64_t allowed_lateness_ms = 0;  // event time: how far behind the watermark an event may be
};

// Per-rule counters, read by the manager for status and metrics (engine thread only).
struct RuleCounters {
  uint64_t records_in = 0;     // events offered to the rule
  uint64_t records_out = 0;    // rows emitted
  uint64_t filtered = 0;       // events WHERE rejected
  uint64_t decode_errors = 0;  // payload not a JSON object
  uint64_t eval_errors = 0;    // type mismatch, missing field of a schema, function error
  uint64_t late = 0;           // event time: behind the watermark by more than the lateness
  uint64_t evicted = 0;        // groups, rows or partitions dropped by a limit
  std::string last_error;
};

// A record the rule could not process, for the dead-letter topic.
struct Rejected {
  std::string reason;
  std::string payload;
};

struct RuleOutput {
  std::vector<Value> rows;  // each an object: column name -> value
  std::vector<Rejected> rejected;
};

class RuleProgram {
 public:
  // Parses, type-checks against `catalog` (stream schemas, function arities, aggregates only
  // where allowed) and plans. `tables` must outlive the program.
  static Result<std::unique_ptr<RuleProgram>, SqlError> compile(std::string_view sql,
                                                                const Catalog& catalog,
                                                                const TableStore* tables,
                                                                const RuleLimits& limits);
  virtual ~RuleProgram() = default;

  // The stream read, with its topic filter.
  virtual const StreamDef& source() const = 0;
  // Tables joined (names), so the manager can feed them.
  virtual const std::vector<std::string>& tables() const = 0;

  // One message of the source stream arriving at processing time `now_ms` (ms since the epoch).
  virtual void on_message(std::string_view topic, std::string_view payload, int64_t now_ms,
                          RuleOutput& out) = 0;
  // The same for a record that is already a Value (an object), e.g. a device sample.
  virtual void on_record(std::string_view topic, const Value& record, int64_t now_ms,
                         RuleOutput& out) = 0;
  // Processing time has reached `now_ms`: emits windows that closed by then.
  virtual void on_time(int64_t now_ms, RuleOutput& out) = 0;
  // The next time on_time has work to do; INT64_MAX when none is pending.
  virtual int64_t next_deadline_ms() const = 0;

  virtual const RuleCounters& counters() const = 0;
  // Rough bytes of state held (windows, groups, partitions), for status and the memory benchmark.
  virtual size_t state_bytes() const = 0;
};

}  // namespace verge::rules

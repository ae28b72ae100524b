// The rule engine of a node: rules and their actions, the streams and tables they read, and the
// engine thread that runs them. Messages arrive from the bus on broker threads and are queued to
// the engine thread in batches; every rule runs there, so rule state needs no locks.
//
// Every public method is thread-safe: it runs its work on the engine thread and waits for it
// (REST handlers and start-up call them; the work is short).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "core/value.h"
#include "rules/action.h"
#include "rules/ast.h"
#include "rules/program.h"

namespace verge::rules {

// A rule as declared (YAML or REST JSON):
//   {"id": "hot", "sql": "SELECT ...", "actions": [{"publish": {...}}, ...],
//    "options": {"dead_letter_topic": "...", "max_groups": 10000, "lateness_ms": 0, ...},
//    "enabled": true}
struct RuleSpec {
  std::string id;
  std::string sql;
  std::vector<Value> actions;  // action configurations, see make_action()
  RuleLimits limits;
  std::string dead_letter_topic;  // empty = none
  bool enabled = true;

  // Errors name the field at fault ("actions[1].publish.topic: missing").
  static Result<RuleSpec> from_value(const Value& v);
  Value to_value() const;
};

enum class RuleState : uint8_t { Running, Stopped, Failed };

struct ActionStatus {
  std::string kind;
  ActionCounters counters;
};

struct RuleStatus {
  std::string id;
  std::string sql;
  RuleState state = RuleState::Stopped;
  std::string error;  // why it failed
  RuleCounters counters;
  std::vector<ActionStatus> actions;
  // Event arrival (on the broker thread) to the end of its actions' emit(), in microseconds.
  uint64_t latency_count = 0;
  double latency_p50_us = 0, latency_p99_us = 0, latency_max_us = 0;
  size_t state_bytes = 0;
};

struct ManagerOptions {
  ActionServices services;  // services.loop is ignored: the manager owns the engine loop
  // Called for each rule's Value in `verge edge` to persist REST changes; may be empty.
  std::string persist_key;  // unused when no metadata store is given
};

class RuleManager {
 public:
  static Result<std::unique_ptr<RuleManager>> create(ManagerOptions options);
  ~RuleManager();  // stops the engine thread
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  // Streams and tables (CREATE STREAM / CREATE TABLE).
  Result<void, SqlError> define_stream(std::string_view create_sql);
  Result<void> drop_stream(std::string_view name);  // refused while a rule reads it
  std::vector<StreamDef> streams() const;

  // Parse and type errors with line and column; nothing is changed.
  Result<void, SqlError> validate(std::string_view sql) const;

  // Creates (id must be new) or replaces a rule. Replacing swaps the program between two
  // messages on the engine thread and keeps the subscriptions it shares with the old one, so no
  // message arriving meanwhile is lost.
  Result<RuleStatus> create(const RuleSpec& spec);
  Result<RuleStatus> update(const RuleSpec& spec);
  Result<void> remove(std::string_view id);
  Result<void> start(std::string_view id);
  Result<void> stop(std::string_view id);
  Result<RuleStatus> status(std::string_view id) const;
  std::vector<RuleStatus> list() const;
  Result<RuleSpec> spec(std::string_view id) const;

  // verge_rule_* families (per rule: records in/out/filtered/errors/late/evicted, action
  // sent/failed, latency histogram).
  void register_metrics(metrics::Registry& registry);

 private:
  struct Impl;
  explicit RuleManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::rules

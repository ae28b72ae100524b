// The rule engine of a node: rules and their actions, the streams and tables they read, and the
// engine thread that runs them. Messages arrive from the bus on broker threads and are queued to
// the engine thread in batches; every rule runs there, so rule state needs no locks.
//
// Every public method is thread-safe: it runs its work on the engine thread and waits for it
// (REST handlers and start-up call them; the work is short).
#pragma once

#include <cstdint>
#include <functional>
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
//    "options": {"dead_letter_topic": "...", "max_groups": 10000, "max_window_rows": 100000,
//                "max_partitions": 10000, "lateness_ms": 0},
//    "enabled": true}
// Ids are 1-128 characters of [A-Za-z0-9_.-] (they appear in URLs, metric labels and topics).
struct RuleSpec {
  std::string id;
  std::string sql;
  std::vector<Value> actions;  // action configurations, see make_action()
  RuleLimits limits;
  std::string dead_letter_topic;  // empty = none
  bool enabled = true;
  // Declared in the node's YAML configuration (set by the caller, never read from JSON): such a
  // rule is not written to the metadata store, and update/remove refuse it unless the caller
  // passes from_config too (REST cannot change what the configuration file declares).
  bool from_config = false;

  // Errors name the field at fault ("actions[1].publish.topic: missing").
  static Result<RuleSpec> from_value(const Value& v);
  Value to_value() const;
};

enum class RuleState : uint8_t { Running, Stopped, Failed };

struct ActionStatus {
  std::string kind;
  ActionCounters counters;
};

std::string_view rule_state_name(RuleState s);  // "running", "stopped", "failed"
// 1-128 characters of [A-Za-z0-9_.-].
bool rule_id_valid(std::string_view id);

// Why a manager call failed; `code` lets the REST layer choose the status (404, 409, 400).
enum class RuleErrc : uint8_t {
  Invalid,   // a bad spec or action configuration (400)
  Sql,       // a parse or type error: `sql` holds its position (400)
  NotFound,  // no such rule or stream (404)
  Exists,    // create of an id that exists (409)
  Conflict,  // refused in the current state: a stream read by rules, a config rule (409)
  Internal,  // the metadata store failed (500)
};

struct RuleError {
  std::string message;  // for Sql: "line:column: message"
  RuleErrc code = RuleErrc::Invalid;
  SqlError sql;  // meaningful when code == Sql
};

struct RuleStatus {
  std::string id;
  std::string sql;
  bool from_config = false;
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
  // When set, streams and rules created over REST (not from_config) are saved in its tables
  // `rule_streams` and `rules` and loaded again by create(). The manager opens its own
  // connection on meta->path() and uses it on the engine thread only, so the caller keeps using
  // `meta` on its own threads; `meta` must be migrated (schema 2 or later) and outlive create().
  store::MetadataStore* meta = nullptr;
  // Bytes of bus messages queued for the engine thread at most; beyond, new messages are shed
  // and counted (verge_rule_engine_overflow_total) instead of growing without bound.
  size_t max_queued_bytes = size_t{64} << 20;
};

class RuleManager {
 public:
  static Result<std::unique_ptr<RuleManager>> create(ManagerOptions options);
  ~RuleManager();  // stops the engine thread
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  // Streams and tables (CREATE STREAM / CREATE TABLE). A table is subscribed to from its
  // definition until it is dropped, so its rows are current whenever a rule starts joining it.
  // Redefining a stream that rules read is refused (Conflict) unless the statement is unchanged:
  // compiled rules keep references to their stream's definition. `from_config` streams are not
  // saved and cannot be dropped unless the caller passes from_config too.
  Result<void, RuleError> define_stream(std::string_view create_sql, bool from_config = false);
  Result<void, RuleError> drop_stream(std::string_view name, bool from_config = false);
  std::vector<StreamDef> streams() const;

  // Parse and type errors with line and column; nothing is changed.
  Result<void, SqlError> validate(std::string_view sql) const;

  // Creates (id must be new) or replaces a rule. A rule whose SQL or actions do not build is
  // refused with the error and changes nothing. Replacing swaps the program on the engine
  // thread between two messages: messages queued before the swap go to the old program, later
  // ones to the new. Across a filter change the new filter is subscribed before the old one is
  // left, so no message arriving meanwhile is lost; a message published while the new
  // subscription is being made and matching both filters may reach both programs (at most one
  // per publishing thread). Window state is not carried over. Counters carry over an update;
  // action counters restart (the actions are new).
  Result<RuleStatus, RuleError> create(const RuleSpec& spec);
  Result<RuleStatus, RuleError> update(const RuleSpec& spec);
  Result<void, RuleError> remove(std::string_view id, bool from_config = false);
  // Stopped rules hold no subscription and drop their window state; start() begins afresh.
  // The running/stopped choice of a REST rule is saved with it.
  Result<void, RuleError> start(std::string_view id);
  Result<void, RuleError> stop(std::string_view id);
  Result<void, RuleError> restart(std::string_view id);
  Result<RuleStatus, RuleError> status(std::string_view id) const;
  std::vector<RuleStatus> list() const;
  Result<RuleSpec, RuleError> spec(std::string_view id) const;

  // verge_rule_* families (per rule: records in/out/filtered/errors/late/evicted, action
  // sent/failed/retried/dropped, latency histogram) and verge_rules_loaded. The registry must
  // outlive the manager. The latency histogram of a removed rule stays in the registry (a
  // registry cannot forget a series) with its last values.
  void register_metrics(metrics::Registry& registry);

  // Runs `fn` on the engine thread and waits for it (tests; the integrator's start-up checks).
  void run_on_engine(const std::function<void()>& fn) const;

  struct Impl;  // private (rules/manager_impl.h); public only so its helpers can name it

 private:
  explicit RuleManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::rules

// Shared by the action implementations (action_*.cc): reading an action's configuration with
// errors that name the field, and one factory per kind. Not part of the rules module's API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "rules/action.h"
#include "rules/template.h"

namespace verge::rules {

// The members of one action's configuration object ({"topic": ..., "qos": 1} of "publish").
// Every getter marks its member as known; finish() then refuses the members nobody asked for,
// so a typo ("retian") is an error instead of a silently ignored option.
class ActionConfig {
 public:
  ActionConfig(std::string kind, const Value& object) : kind_(std::move(kind)), object_(object) {}

  const std::string& kind() const { return kind_; }
  // "<kind>.<field>: <what>", the form of every configuration error.
  Error error(std::string_view field, std::string_view what) const;

  const Value* get(std::string_view name);  // null when absent (or null)
  Result<std::string> string(std::string_view name);
  Result<std::optional<std::string>> opt_string(std::string_view name);
  Result<std::optional<bool>> opt_bool(std::string_view name);
  Result<std::optional<int64_t>> opt_int(std::string_view name, int64_t min, int64_t max);
  Result<Template> tmpl(std::string_view name);  // required template
  Result<std::optional<Template>> opt_tmpl(std::string_view name);
  Result<void> finish() const;

 private:
  std::string kind_;
  Value object_;
  std::vector<std::string> known_;
};

using ActionResult = Result<std::unique_ptr<Action>>;

ActionResult make_publish_action(ActionConfig& cfg, const ActionServices& services);
ActionResult make_alarm_action(ActionConfig& cfg, const ActionServices& services);
ActionResult make_device_action(ActionConfig& cfg, const ActionServices& services);
ActionResult make_uplink_action(ActionConfig& cfg, const ActionServices& services);
ActionResult make_tsdb_action(ActionConfig& cfg, const ActionServices& services);
ActionResult make_webhook_action(ActionConfig& cfg, const ActionServices& services);
ActionResult make_log_action(ActionConfig& cfg, const ActionServices& services);

// An MQTT topic name: 1..65535 bytes, no '+', '#' or NUL (the broker checks UTF-8).
Result<void> check_topic_name(std::string_view topic);

// The row as the record of an uplink stream or a log line: {"rule": id, "ts": now, "row": row}.
std::string row_envelope(const Value& row, std::string_view rule_id, int64_t now_ms);

}  // namespace verge::rules

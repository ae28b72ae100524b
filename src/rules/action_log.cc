// log: one logfmt line per row with the rule id and the row as JSON, for debugging rules.
#include "core/log.h"
#include "rules/action_internal.h"

namespace verge::rules {

namespace {

class LogAction final : public Action {
 public:
  explicit LogAction(LogLevel level) : level_(level) {}

  std::string_view kind() const override { return "log"; }

  void emit(const Value& row, std::string_view rule_id, int64_t /*now_ms*/) override {
    if (log_enabled(level_))
      log(level_, "rule output", {{"rule", rule_id}, {"row", row.to_json()}});
    ++counters_.sent;
  }

 private:
  LogLevel level_;
};

}  // namespace

ActionResult make_log_action(ActionConfig& cfg, const ActionServices& /*services*/) {
  auto level_name = cfg.opt_string("level");
  if (!level_name) return unexpected(level_name.error());
  LogLevel level = LogLevel::Info;
  if (level_name->has_value()) {
    auto l = parse_log_level(**level_name);
    if (!l || *l == LogLevel::Off) {
      return unexpected(cfg.error("level", "expected trace, debug, info, warn or error"));
    }
    level = *l;
  }
  return std::unique_ptr<Action>(std::make_unique<LogAction>(level));
}

}  // namespace verge::rules

// alarm: raises (or, with clear: true, clears) the alarm whose dedup key is templated from the
// row. Two rules make hysteresis: one raises WHERE temp > 30, another clears WHERE temp < 28.
//
// Updates of an active alarm are held by the service for up to a second, and a flapping key's
// end is found by AlarmService::flush() (alarms.h). With an engine loop, the action calls flush()
// a second after its raises and clears, and again each second while keys still flap, so neither
// waits for an owner's timer.
#include <chrono>
#include <optional>

#include "net/event_loop.h"
#include "net/timer_queue.h"
#include "rules/action_internal.h"
#include "rules/alarms.h"

namespace verge::rules {

namespace {

class AlarmAction final : public Action {
 public:
  AlarmAction(AlarmService& alarms, Template key, Severity severity, Template message, bool clear,
              net::EventLoop* loop)
      : alarms_(alarms),
        key_(std::move(key)),
        severity_(severity),
        message_(std::move(message)),
        clear_(clear) {
    if (loop != nullptr) timers_.emplace(*loop);
  }

  std::string_view kind() const override { return "alarm"; }

  void emit(const Value& row, std::string_view rule_id, int64_t now_ms) override {
    auto key = key_.render(row, Template::Missing::Error);
    if (!key) return fail("key: " + key.error().message);
    if (clear_) {
      auto cleared = alarms_.clear(*key, rule_id, now_ms);
      if (!cleared) return fail(cleared.error().message);
      if (*cleared) schedule_flush();  // a clear may start flapping, which flush() ends
    } else {
      auto message = message_.render(row);
      auto raised =
          alarms_.raise(*key, rule_id, severity_, message ? *message : std::string(), row, now_ms);
      if (!raised) return fail(raised.error().message);
      schedule_flush();
    }
    ++counters_.sent;
  }

 private:
  void fail(std::string why) {
    ++counters_.failed;
    counters_.last_error = std::move(why);
  }

  void schedule_flush() {
    if (!timers_ || flush_pending_) return;
    flush_pending_ = true;
    timers_->after(1000, [this] {
      flush_pending_ = false;
      const bool again = alarms_.flush(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
      if (again) schedule_flush();  // keys still flapping: check again until they settle
    });
  }

  AlarmService& alarms_;
  Template key_;
  Severity severity_;
  Template message_;
  bool clear_;
  std::optional<net::TimerQueue> timers_;  // with an engine loop: the delayed flush
  bool flush_pending_ = false;
};

}  // namespace

ActionResult make_alarm_action(ActionConfig& cfg, const ActionServices& services) {
  auto key = cfg.tmpl("key");
  if (!key) return unexpected(key.error());
  auto severity_name = cfg.opt_string("severity");
  if (!severity_name) return unexpected(severity_name.error());
  Severity severity = Severity::Major;
  if (severity_name->has_value()) {
    auto s = parse_severity(**severity_name);
    if (!s) {
      return unexpected(cfg.error("severity", "expected critical, major, minor, warning or info"));
    }
    severity = *s;
  }
  auto message = cfg.opt_tmpl("message");
  if (!message) return unexpected(message.error());
  auto clear = cfg.opt_bool("clear");
  if (!clear) return unexpected(clear.error());
  if (services.alarms == nullptr) {
    return unexpected(Error{"alarm action: no alarm service on this node"});
  }
  Template msg = message->has_value() ? std::move(**message) : *Template::parse("");
  return std::unique_ptr<Action>(
      std::make_unique<AlarmAction>(*services.alarms, std::move(*key), severity, std::move(msg),
                                    clear->value_or(false), services.loop));
}

}  // namespace verge::rules

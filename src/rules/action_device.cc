// device: writes a value to a device point through the device layer (DeviceWriter). The write is
// asynchronous; its result arrives on the engine thread and is counted. Writes waiting for their
// result are bounded (max_pending): beyond that a row is dropped and counted, so an unreachable
// device cannot make the engine hold unbounded commands.
#include "net/event_loop.h"
#include "rules/action_internal.h"
#include "rules/device_writer.h"

namespace verge::rules {

namespace {

class DeviceAction final : public Action {
 public:
  DeviceAction(DeviceWriter& writer, net::EventLoop* loop, Template device, Template point,
               std::optional<Template> value, std::string column, int64_t ttl_ms,
               size_t max_pending)
      : writer_(writer),
        loop_(loop),
        device_(std::move(device)),
        point_(std::move(point)),
        value_(std::move(value)),
        column_(std::move(column)),
        ttl_ms_(ttl_ms),
        max_pending_(max_pending) {}

  std::string_view kind() const override { return "device"; }

  void emit(const Value& row, std::string_view /*rule_id*/, int64_t /*now_ms*/) override {
    if (*pending_ >= max_pending_) {
      ++counters_.dropped;
      return;
    }
    DeviceWrite cmd;
    auto device = device_.render(row, Template::Missing::Error);
    if (!device) return fail("device: " + device.error().message);
    auto point = point_.render(row, Template::Missing::Error);
    if (!point) return fail("point: " + point.error().message);
    cmd.device = std::move(*device);
    cmd.point = std::move(*point);
    if (value_) {
      auto text = value_->render(row, Template::Missing::Error);
      if (!text) return fail("value: " + text.error().message);
      // "{{setpoint}}" renders 22.5 as text: read it back as JSON so the adapter gets a number;
      // text that is not JSON ("open") is a string.
      auto parsed = parse_json(*text);
      cmd.value = parsed ? std::move(*parsed) : Value(std::move(*text));
    } else {
      const Value* v = row.find(column_);
      if (v == nullptr || v->is_null()) {
        return fail("column '" + column_ + "' is missing or null in the row");
      }
      cmd.value = *v;
    }
    cmd.ttl_ms = ttl_ms_;
    ++*pending_;
    // The result is handled on this (the engine) thread, where the action is also destroyed:
    // the weak pointer tells whether it still exists. The device layer answers on its own
    // threads, so the result is posted to the engine loop (tests without a loop answer inline).
    std::weak_ptr<size_t> alive = pending_;
    net::EventLoop* loop = loop_;
    writer_.write(std::move(cmd), [this, alive, loop](Result<void> r) {
      auto finish = [this, alive, r = std::move(r)] {
        if (alive.expired()) return;
        --*pending_;
        if (r) {
          ++counters_.sent;
        } else {
          fail(r.error().message);
        }
      };
      if (loop != nullptr) {
        loop->post(std::move(finish));
      } else {
        finish();
      }
    });
  }

 private:
  void fail(std::string why) {
    ++counters_.failed;
    counters_.last_error = std::move(why);
  }

  DeviceWriter& writer_;
  net::EventLoop* loop_;  // the engine's loop; null in tests that answer inline
  Template device_, point_;
  std::optional<Template> value_;
  std::string column_;
  int64_t ttl_ms_;
  size_t max_pending_;
  std::shared_ptr<size_t> pending_ = std::make_shared<size_t>(0);  // writes awaiting a result
};

}  // namespace

ActionResult make_device_action(ActionConfig& cfg, const ActionServices& services) {
  auto device = cfg.tmpl("device");
  if (!device) return unexpected(device.error());
  auto point = cfg.tmpl("point");
  if (!point) return unexpected(point.error());
  auto value = cfg.opt_tmpl("value");
  if (!value) return unexpected(value.error());
  auto column = cfg.opt_string("column");
  if (!column) return unexpected(column.error());
  if (value->has_value() == column->has_value()) {
    return unexpected(cfg.error("value", "give either value (a template) or column (a name)"));
  }
  auto ttl = cfg.opt_int("ttl_ms", 0, 86'400'000);
  if (!ttl) return unexpected(ttl.error());
  auto max_pending = cfg.opt_int("max_pending", 1, 1'000'000);
  if (!max_pending) return unexpected(max_pending.error());
  if (services.devices == nullptr) {
    return unexpected(Error{"device action: no device layer on this node"});
  }
  return std::unique_ptr<Action>(std::make_unique<DeviceAction>(
      *services.devices, services.loop, std::move(*device), std::move(*point), std::move(*value),
      column->value_or(""), ttl->value_or(0), static_cast<size_t>(max_pending->value_or(1000))));
}

}  // namespace verge::rules

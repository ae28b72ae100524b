// publish: a row to a bus topic, topic and payload templated from the row.
#include "rules/action_internal.h"
#include "rules/bus.h"

namespace verge::rules {

namespace {

class PublishAction final : public Action {
 public:
  PublishAction(Bus& bus, Template topic, Template payload, uint8_t qos, bool retain)
      : bus_(bus),
        topic_(std::move(topic)),
        payload_(std::move(payload)),
        qos_(qos),
        retain_(retain) {}

  std::string_view kind() const override { return "publish"; }

  void emit(const Value& row, std::string_view /*rule_id*/, int64_t /*now_ms*/) override {
    topic_buf_.clear();
    if (auto r = topic_.render(row, topic_buf_, Template::Missing::Error); !r) {
      return fail("topic: " + r.error().message);
    }
    if (auto r = check_topic_name(topic_buf_); !r) return fail(r.error().message);
    payload_buf_.clear();
    (void)payload_.render(row, payload_buf_);  // Missing::Null never fails
    bus_.publish(topic_buf_, payload_buf_, qos_, retain_);
    ++counters_.sent;
  }

 private:
  void fail(std::string why) {
    ++counters_.failed;
    counters_.last_error = std::move(why);
  }

  Bus& bus_;
  Template topic_, payload_;
  uint8_t qos_;
  bool retain_;
  std::string topic_buf_, payload_buf_;  // reused: no allocation per row once warm
};

}  // namespace

ActionResult make_publish_action(ActionConfig& cfg, const ActionServices& services) {
  auto topic = cfg.tmpl("topic");
  if (!topic) return unexpected(topic.error());
  if (!topic->has_fields()) {
    if (auto r = check_topic_name(topic->source()); !r) {
      return unexpected(cfg.error("topic", r.error().message));
    }
  }
  auto payload = cfg.opt_tmpl("payload");
  if (!payload) return unexpected(payload.error());
  const Value* qos = cfg.get("qos");
  if (qos != nullptr && !(qos->is_int() && qos->as_int() >= 0 && qos->as_int() <= 2)) {
    return unexpected(cfg.error("qos", "expected 0, 1 or 2"));
  }
  auto retain = cfg.opt_bool("retain");
  if (!retain) return unexpected(retain.error());
  if (services.bus == nullptr) return unexpected(Error{"publish action: no bus on this node"});
  return std::unique_ptr<Action>(std::make_unique<PublishAction>(
      *services.bus, std::move(*topic),
      payload->has_value() ? std::move(**payload) : Template::whole_row(),
      static_cast<uint8_t>(qos != nullptr ? qos->as_int() : 0), retain->value_or(false)));
}

}  // namespace verge::rules

// MQTT devices: protocol "mqtt", addresses "<topic>#<json path>" (mqtt_settings.h).
#include "core/log.h"
#include "devices/adapters/builtin.h"
#include "devices/adapters/mqtt/mqtt_adapter.h"

namespace verge::devices {
namespace {

class MqttFactory final : public AdapterFactory {
 public:
  std::string_view protocol() const override { return "mqtt"; }
  bool polls() const override { return false; }

  // Writability needs the device's command_topic, which a profile cannot know: a write to a
  // device without one fails then ("no command_topic configured").
  Result<void> check_point(const PointSpec& point) const override {
    auto a = parse_mqtt_address(point.address);
    if (!a) return unexpected(a.error());
    return {};
  }

  Result<void> check_connection(const Value& connection) const override {
    auto c = parse_mqtt_connection(connection);
    if (!c) return unexpected(c.error());
    return {};
  }

  std::unique_ptr<Adapter> create(const AdapterContext& ctx) const override {
    auto a = MqttAdapter::create(ctx);
    if (!a) {
      // check_point and check_connection ran first, so this is a bug, not bad input.
      log_error("mqtt adapter not created",
                {{"device", ctx.device->id}, {"error", a.error().message}});
      return nullptr;
    }
    return std::move(*a);
  }
};

}  // namespace

std::unique_ptr<AdapterFactory> mqtt_adapter_factory() { return std::make_unique<MqttFactory>(); }

}  // namespace verge::devices

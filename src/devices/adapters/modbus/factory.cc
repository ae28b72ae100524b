// The Modbus TCP and RTU adapters as the device manager sees them: point and connection checks,
// and a ModbusClient over the device's link.
#include "core/log.h"
#include "devices/adapters/builtin.h"
#include "devices/adapters/modbus/client.h"
#include "devices/adapters/modbus/registers.h"
#include "devices/adapters/modbus/rtu_link.h"
#include "devices/adapters/modbus/settings.h"
#include "devices/adapters/modbus/tcp_line.h"

namespace verge::devices {

namespace {

using modbus::ClientOptions;
using modbus::CommonSettings;

ClientOptions client_options(const CommonSettings& c) {
  ClientOptions o;
  o.unit = c.unit;
  o.retries = c.retries;
  o.limits = c.limits;
  o.force_multiple_write = c.force_multiple_write;
  return o;
}

class ModbusFactory final : public AdapterFactory {
 public:
  explicit ModbusFactory(bool rtu) : rtu_(rtu) {}

  std::string_view protocol() const override { return rtu_ ? "modbus-rtu" : "modbus-tcp"; }
  bool polls() const override { return true; }

  Result<void> check_point(const PointSpec& point) const override {
    auto addr = modbus::parse_address(point.address);
    if (!addr) return unexpected(Error{"address: " + addr.error().message});
    // Its messages name their field: "type: ...", "length: ...", "access: ...".
    return modbus::check_point(point, *addr);
  }

  Result<void> check_connection(const Value& connection) const override {
    if (rtu_) {
      if (auto s = modbus::parse_rtu_settings(connection); !s) return unexpected(s.error());
    } else {
      if (auto s = modbus::parse_tcp_settings(connection); !s) return unexpected(s.error());
    }
    return {};
  }

  std::unique_ptr<Adapter> create(const AdapterContext& ctx) const override {
    if (rtu_) {
      auto s = modbus::parse_rtu_settings(ctx.device->connection);
      if (!s) return invalid(ctx, s.error().message);
      return std::make_unique<modbus::ModbusClient>(ctx, client_options(s->common),
                                                    modbus::make_rtu_link(*ctx.loop, *s));
    }
    auto s = modbus::parse_tcp_settings(ctx.device->connection);
    if (!s) return invalid(ctx, s.error().message);
    return std::make_unique<modbus::ModbusClient>(ctx, client_options(s->common),
                                                  modbus::make_tcp_link(*ctx.loop, *s));
  }

 private:
  // The manager checked the connection first; this only guards a caller that did not.
  static std::unique_ptr<Adapter> invalid(const AdapterContext& ctx, const std::string& why) {
    log_error("modbus device not started: bad connection",
              {{"device", ctx.device->id}, {"error", why}});
    return nullptr;
  }

  bool rtu_;
};

}  // namespace

std::unique_ptr<AdapterFactory> modbus_tcp_adapter_factory() {
  return std::make_unique<ModbusFactory>(false);
}

std::unique_ptr<AdapterFactory> modbus_rtu_adapter_factory() {
  return std::make_unique<ModbusFactory>(true);
}

}  // namespace verge::devices

#include "devices/adapters/http/push_factory.h"

#include <string>

namespace verge::devices {
namespace {

class PushFactory final : public AdapterFactory {
 public:
  explicit PushFactory(std::string_view protocol) : protocol_(protocol) {}

  std::string_view protocol() const override { return protocol_; }
  bool polls() const override { return false; }

  // Devices name their points in what they send, so the only address that makes sense is the
  // point's own name (or none).
  Result<void> check_point(const PointSpec& point) const override {
    if (!point.address.empty() && point.address != point.name) {
      return unexpected(Error{"address: " + std::string(protocol_) +
                              " devices send points by name; leave it empty or set it to '" +
                              point.name + "'"});
    }
    if (point.access != Access::Read) {
      return unexpected(Error{"access: " + std::string(protocol_) +
                              " devices push their readings and cannot be written (use r)"});
    }
    return {};
  }

  Result<void> check_connection(const Value& connection) const override {
    if (connection.is_null()) return {};
    if (connection.is_object() && connection.as_object().empty()) return {};
    return unexpected(Error{"connection: " + std::string(protocol_) +
                            " devices take no connection settings (leave it out or use {})"});
  }

  std::unique_ptr<Adapter> create(const AdapterContext&) const override { return nullptr; }

 private:
  std::string_view protocol_;
};

}  // namespace

std::unique_ptr<AdapterFactory> push_adapter_factory(std::string_view protocol) {
  return std::make_unique<PushFactory>(protocol);
}

}  // namespace verge::devices

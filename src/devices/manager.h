// The device layer of a node: profiles and devices (from YAML and REST), one adapter per
// device on the node's loops, the point pipeline (calibration, deadband, twin, bus, history),
// the twin's desired values and the durable command queue. docs/devices.md describes it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "devices/adapter.h"
#include "devices/ingest.h"
#include "rules/device_writer.h"

namespace verge::metrics {
class Registry;
}
namespace verge::net {
class LoopGroup;
}
namespace verge::store {
class Tsdb;
}

namespace verge::devices {

struct DeviceManagerOptions {
  net::LoopGroup* loops = nullptr;  // adapters run on these, spread round-robin
  rules::Bus* bus = nullptr;        // samples, status and command results are published here
  store::Tsdb* tsdb = nullptr;      // history (null: none)
  std::string meta_path;            // meta.db (profiles, devices, command queue); empty: memory
  const AdapterRegistry* adapters = nullptr;  // null: builtin_adapters()
  int64_t default_command_ttl_ms = 3'600'000;
  int64_t write_timeout_ms = 5'000;  // a write the adapter has not acknowledged by then fails
};

// Errors of the management calls, so REST can map them to statuses.
enum class DeviceErrorCode : uint8_t { Invalid, NotFound, Conflict, ReadOnly, Internal };
struct DeviceError {
  DeviceErrorCode code = DeviceErrorCode::Invalid;
  std::string message;  // names the field at fault: "points[2].type: unknown type 'flaot32'"
};
template <typename T>
using DeviceResult = Result<T, DeviceError>;

class DeviceManager : public rules::DeviceWriter, public IngestSink {
 public:
  static Result<std::unique_ptr<DeviceManager>> create(DeviceManagerOptions options);
  ~DeviceManager() override;  // stops every adapter

  // Profiles and devices. `from_config`: declared in the node's YAML, not changeable over REST.
  // A device whose profile changes restarts; nothing else does.
  DeviceResult<void> put_profile(const Value& doc, bool from_config);
  // Conflict while a device uses it. Items of the configuration (YAML, or the hub's desired
  // state) are ReadOnly unless `from_config` says the configuration itself removes them.
  DeviceResult<void> delete_profile(std::string_view name, bool from_config = false);
  DeviceResult<void> put_device(const Value& doc, bool from_config);
  DeviceResult<void> delete_device(std::string_view id, bool from_config = false);
  // Starts the adapters of every enabled device (call once the loops run, or before: the
  // starts are posted to the loops).
  void start();
  void stop();

  // JSON documents for the REST API (docs/devices.md lists the fields).
  Value list_profiles() const;
  std::optional<Value> profile(std::string_view name) const;
  Value list_devices() const;                              // each with its status
  std::optional<Value> device(std::string_view id) const;  // spec and status
  std::optional<Value> twin(std::string_view id) const;    // reported and desired
  std::optional<Value> commands(std::string_view id) const;

  // Desired values: one command per point, each written through the adapter or queued while
  // the device is offline (durably, until its TTL). `done` runs once every command of the call
  // finished or `wait_ms` passed, with one object per point
  // {"point", "command", "status": applied|failed|timeout|queued|expired, "error"?}; it may run
  // on any thread. Validation errors (unknown device or point, read-only, wrong type) come back
  // at once.
  using DesiredDone = std::function<void(Value results)>;
  DeviceResult<void> set_desired(std::string_view id, const Value& values, int64_t ttl_ms,
                                 int64_t wait_ms, DesiredDone done);

  // rules::DeviceWriter: a rule's device action.
  void write(rules::DeviceWrite cmd, Done done) override;
  // IngestSink: HTTP ingest and CoAP.
  IngestResult ingest(std::string_view protocol, std::span<const NamedReading> readings) override;

  void register_metrics(metrics::Registry& registry);

  struct Impl;  // devices/manager_impl.h: shared by the implementation files only

 private:
  DeviceManager() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::devices

// The one interface every protocol adapter implements (docs/devices.md, "Adding an adapter").
// An adapter serves one device: it polls it (Modbus) or receives what it pushes (MQTT), turns
// what it gets into Readings, and writes points. The device manager owns the adapters and gives
// each a DeviceSink; calibration, deadband, the twin, the bus and history are the manager's job,
// so an adapter only speaks its protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "devices/types.h"

namespace verge::net {
class EventLoop;
}
namespace verge::rules {
class Bus;
}

namespace verge::devices {

// Where an adapter delivers what it learns. Every call happens on the adapter's loop thread.
class DeviceSink {
 public:
  virtual ~DeviceSink() = default;
  // Readings of one poll cycle (or one message), in one call: they become one bus message.
  virtual void on_readings(std::span<const Reading> readings) = 0;
  // The link changed: online after a successful exchange, offline with the reason
  // ("connect: connection refused", "timeout after 3 tries").
  virtual void on_link(bool online, std::string_view reason) = 0;
  // A poll cycle finished: wall time from its first request to its last response, requests
  // sent, and how many of them failed (timeouts, exceptions, transport errors).
  virtual void on_poll(int64_t latency_us, uint32_t requests, uint32_t failed) = 0;
};

struct AdapterContext {
  const DeviceSpec* device = nullptr;  // outlives the adapter
  const Profile* profile = nullptr;    // outlives the adapter; points are indexed as in Reading
  net::EventLoop* loop = nullptr;      // the adapter's loop: sockets, timers and sink calls
  DeviceSink* sink = nullptr;
  rules::Bus* bus = nullptr;  // the node's bus (MQTT devices subscribe and publish through it)
};

class Adapter {
 public:
  using WriteDone = std::function<void(Result<void>)>;
  virtual ~Adapter() = default;
  // Both run on the adapter's loop thread (or on any thread once the loops have stopped).
  // After stop() returns no sink call and no callback happens; writes still pending are
  // completed with an error first.
  virtual void start() = 0;
  virtual void stop() = 0;
  // Writes one point. `raw` is already of the point's type, calibration undone, access checked.
  // `done` runs exactly once, on the loop thread: Ok when the device acknowledged the write.
  // Called on the loop thread.
  virtual void write(uint32_t point, const Value& raw, WriteDone done) = 0;
};

// What the manager knows about a protocol. One instance per protocol, registered once.
class AdapterFactory {
 public:
  virtual ~AdapterFactory() = default;
  virtual std::string_view protocol() const = 0;  // "modbus-tcp"
  // False for push protocols whose points have no poll interval (MQTT, HTTP, CoAP).
  virtual bool polls() const = 0;
  // Checks one point of a profile of this protocol (address syntax, type fit, writability).
  // The error text names the field at fault first, e.g. "address: unknown table 'holdng'
  // (coil, discrete, input, holding)"; the manager prefixes the point's path.
  virtual Result<void> check_point(const PointSpec& point) const = 0;
  // Checks a device's `connection` object, e.g. "port: expected 1..65535". Unknown keys are
  // errors.
  virtual Result<void> check_connection(const Value& connection) const = 0;
  // Push protocols that the manager feeds itself (HTTP ingest, CoAP) may return null.
  virtual std::unique_ptr<Adapter> create(const AdapterContext& ctx) const = 0;
};

// The adapters compiled in, by protocol name (devices/adapters/builtin.cc lists them; adding an
// adapter is a folder under adapters/ and one line there).
class AdapterRegistry {
 public:
  void add(std::unique_ptr<AdapterFactory> factory);
  const AdapterFactory* find(std::string_view protocol) const;
  std::vector<std::string_view> protocols() const;  // sorted, for error messages

 private:
  std::vector<std::unique_ptr<AdapterFactory>> factories_;
};

// Every adapter of this build.
const AdapterRegistry& builtin_adapters();

}  // namespace verge::devices

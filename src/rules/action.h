// Actions (sinks): what a rule does with each row it emits. Every action is asynchronous from
// the engine's point of view: emit() returns at once, slow work (HTTP, device writes, fsync) is
// queued with a bound, retried per the action's policy and counted, so one failing action never
// stalls other rules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/value.h"

namespace verge::net {
class EventLoop;
}
namespace verge::store {
class MetadataStore;
class Tsdb;
}  // namespace verge::store

namespace verge::rules {

class Bus;
class DeviceWriter;
class AlarmService;
class UplinkStreams;

struct ActionCounters {
  uint64_t sent = 0;     // rows the action completed
  uint64_t failed = 0;   // rows given up on after the retries
  uint64_t retried = 0;  // retry attempts
  uint64_t dropped = 0;  // rows refused because the action's queue was full
  std::string last_error;
};

// What actions may use. Pointers may be null when the node lacks the service (no tsdb in a unit
// test, no device layer yet): such an action fails at creation with a clear error.
struct ActionServices {
  Bus* bus = nullptr;
  AlarmService* alarms = nullptr;
  DeviceWriter* devices = nullptr;
  UplinkStreams* uplink = nullptr;
  store::Tsdb* tsdb = nullptr;
  net::EventLoop* loop = nullptr;  // the engine's loop: timers and async I/O for webhooks
};

class Action {
 public:
  virtual ~Action() = default;
  virtual std::string_view kind() const = 0;  // "publish", "alarm", ...
  // Engine thread. `row` is an object.
  virtual void emit(const Value& row, std::string_view rule_id, int64_t now_ms) = 0;
  const ActionCounters& counters() const { return counters_; }

 protected:
  ActionCounters counters_;
};

// Builds an action from its configuration: an object with exactly one member naming the kind,
// e.g. {"publish": {"topic": "alerts/{{deviceId}}", "qos": 1}}. Errors name the field at fault.
// Kinds: publish, alarm, device, uplink, tsdb, webhook, log (see docs/rules.md).
Result<std::unique_ptr<Action>> make_action(const Value& config, const ActionServices& services);

}  // namespace verge::rules

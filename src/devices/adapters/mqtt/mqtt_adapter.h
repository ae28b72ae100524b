// A device that publishes its readings over MQTT, on the node's own broker: the adapter
// subscribes (through the bus) to the topics of its profile's points, maps each message's JSON
// to readings, and writes points by publishing to the device's command topic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "devices/adapter.h"
#include "devices/adapters/mqtt/mqtt_decode.h"
#include "devices/adapters/mqtt/mqtt_settings.h"

namespace verge::net {
class TimerQueue;
}

namespace verge::devices {

class MqttAdapter final : public Adapter {
 public:
  // The profile's addresses and the device's connection have been checked by the factory.
  static Result<std::unique_ptr<MqttAdapter>> create(const AdapterContext& ctx);
  ~MqttAdapter() override;

  void start() override;
  void stop() override;
  void write(uint32_t point, const Value& raw, WriteDone done) override;

  struct Stats {
    uint64_t messages = 0;
    uint64_t bad_payloads = 0;  // not JSON where a point wanted a path into it
    uint64_t bad_values = 0;    // values that did not fit their point's type
    uint64_t bad_ts = 0;        // timestamps out of range: receipt time used, uncertain
    uint64_t dropped = 0;       // messages dropped because kMaxPending were waiting
  };
  // Messages decoded on the broker thread and not yet taken by the loop. A device flooding its
  // topic while the loop is busy would otherwise grow the loop's queue without bound.
  static constexpr size_t kMaxPending = 1000;
  Stats stats() const;

  // What the broker threads' handlers share with the adapter; outlives it while they run.
  struct Shared;
  void on_message(std::vector<Reading> readings);  // loop thread, from a posted delivery

 private:
  explicit MqttAdapter(const AdapterContext& ctx);
  void arm_offline_check(int64_t delay_ms);
  void check_offline();

  AdapterContext ctx_;
  std::shared_ptr<Shared> shared_;
  std::vector<uint64_t> subscriptions_;
  std::unique_ptr<net::TimerQueue> timers_;
  enum class Link : uint8_t { Unknown, Online, Offline };
  Link link_ = Link::Unknown;
  int64_t last_message_ms_ = 0;  // monotonic
};

}  // namespace verge::devices

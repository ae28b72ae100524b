// The node's message bus as the rule engine sees it: the broker in `verge edge`, an in-memory
// fake in tests. Lets the engine subscribe to topic filters and publish without depending on
// the broker's internals.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace verge::rules {

class Bus {
 public:
  // Called on a broker thread for every message matching the filter; must be fast and
  // thread-safe (the engine only queues the message for its own thread).
  using Handler = std::function<void(std::string_view topic, std::string_view payload)>;

  virtual ~Bus() = default;
  // Returns an id for unsubscribe; `filter` is an MQTT topic filter (no $share).
  virtual uint64_t subscribe(std::string_view filter, Handler handler) = 0;
  virtual void unsubscribe(uint64_t id) = 0;
  // Thread-safe.
  virtual void publish(std::string_view topic, std::string_view payload, uint8_t qos,
                       bool retain) = 0;
};

}  // namespace verge::rules

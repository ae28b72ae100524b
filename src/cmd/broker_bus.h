// The broker as the rule engine's bus: in-process subscriptions and publishes.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "mqtt/broker.h"
#include "rules/bus.h"

namespace verge::cmd {

class BrokerBus final : public rules::Bus {
 public:
  explicit BrokerBus(mqtt::Broker& broker) : broker_(broker) {}

  // Retained messages are handed over on subscribe: a table fed by retained thresholds is full
  // as soon as its rule starts.
  uint64_t subscribe(std::string_view filter, Handler handler) override {
    return broker_.subscribe_local(filter, std::move(handler), true);
  }
  void unsubscribe(uint64_t id) override { broker_.unsubscribe_local(id); }
  void publish(std::string_view topic, std::string_view payload, uint8_t qos,
               bool retain) override {
    broker_.publish(topic, payload, qos, retain);
  }

 private:
  mqtt::Broker& broker_;
};

}  // namespace verge::cmd

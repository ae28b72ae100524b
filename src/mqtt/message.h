// An application message inside the broker: created once when a PUBLISH (or a will) is accepted,
// immutable afterwards, and shared by reference between every session and thread it reaches.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/packet.h"
#include "net/shared_bytes.h"

namespace verge::mqtt {

// The v5 properties that travel with a message from publisher to subscribers (spec 3.3.2.3).
struct ForwardedProperties {
  std::optional<uint8_t> payload_format_indicator;
  std::optional<std::string> content_type;
  std::optional<std::string> response_topic;
  std::optional<std::string> correlation_data;
  std::vector<UserProperty> user_properties;
};

class Message {
 public:
  // Copies topic and payload into one shared block; props are copied only if present.
  static std::shared_ptr<const Message> make(std::string_view topic, std::string_view payload,
                                             uint8_t qos, bool retain, const Properties* props,
                                             uint64_t expiry_at_ms, uint64_t publisher_session);

  std::string_view topic() const { return topic_; }
  std::string_view payload() const { return payload_; }
  const net::SharedBytes& bytes() const { return bytes_; }  // keeps topic and payload alive
  uint8_t qos() const { return qos_; }
  bool retain() const { return retain_; }
  const ForwardedProperties* props() const { return props_.get(); }
  // Monotonic ms after which the message must not be delivered; 0 = never expires.
  uint64_t expiry_at_ms() const { return expiry_at_ms_; }
  uint64_t publisher_session() const { return publisher_session_; }  // for No Local

  // The complete QoS 0 PUBLISH (RETAIN 0, no per-subscriber properties) for `v`, encoded on first
  // use and then shared by every subscriber that gets exactly that packet: fan-out serialises a
  // message once per protocol version, whatever the number of subscribers. Thread-safe.
  const net::SharedBytes& qos0_packet(Version v) const;

 private:
  net::SharedBytes bytes_;
  std::string_view topic_;
  std::string_view payload_;
  std::shared_ptr<const ForwardedProperties> props_;
  uint64_t expiry_at_ms_ = 0;
  uint64_t publisher_session_ = 0;
  uint8_t qos_ = 0;
  bool retain_ = false;
  mutable std::once_flag encoded_once_[2];
  mutable net::SharedBytes encoded_[2];  // [0] v3.1.1, [1] v5
};

using MessageRef = std::shared_ptr<const Message>;

}  // namespace verge::mqtt

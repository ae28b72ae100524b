// The MQTT 3.1.1 and 5.0 control packets as plain values. The codec (codec.h) turns bytes into
// these and back; nothing here touches a socket.
//
// Lifetime: a decoded Publish holds string_views into the frame it was decoded from; everything
// else owns its strings. Copy what you keep before the frame buffer is reused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mqtt/reason.h"

namespace verge::mqtt {

enum class Version : uint8_t { V311 = 4, V5 = 5 };

enum class PacketType : uint8_t {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Pubrec = 5,
  Pubrel = 6,
  Pubcomp = 7,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Unsuback = 11,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
  Auth = 15,
};

struct UserProperty {
  std::string key;
  std::string value;
  bool operator==(const UserProperty&) const = default;
};

// MQTT 5.0 properties (spec 2.2.2.2). Absent optionals are not encoded. The codec rejects a
// property that is not allowed in the packet it appears in, and duplicates of single-valued ones.
struct Properties {
  std::optional<uint8_t> payload_format_indicator;  // 0x01
  std::optional<uint32_t> message_expiry_interval;  // 0x02
  std::optional<std::string> content_type;          // 0x03
  std::optional<std::string> response_topic;        // 0x08
  std::optional<std::string> correlation_data;      // 0x09 (binary)
  std::vector<uint32_t> subscription_identifiers;   // 0x0B (several allowed in PUBLISH to client)
  std::optional<uint32_t> session_expiry_interval;  // 0x11
  std::optional<std::string> assigned_client_identifier;     // 0x12
  std::optional<uint16_t> server_keep_alive;                 // 0x13
  std::optional<std::string> authentication_method;          // 0x15
  std::optional<std::string> authentication_data;            // 0x16 (binary)
  std::optional<uint8_t> request_problem_information;        // 0x17
  std::optional<uint32_t> will_delay_interval;               // 0x18
  std::optional<uint8_t> request_response_information;       // 0x19
  std::optional<std::string> response_information;           // 0x1A
  std::optional<std::string> server_reference;               // 0x1C
  std::optional<std::string> reason_string;                  // 0x1F
  std::optional<uint16_t> receive_maximum;                   // 0x21
  std::optional<uint16_t> topic_alias_maximum;               // 0x22
  std::optional<uint16_t> topic_alias;                       // 0x23
  std::optional<uint8_t> maximum_qos;                        // 0x24
  std::optional<uint8_t> retain_available;                   // 0x25
  std::vector<UserProperty> user_properties;                 // 0x26 (any number, order kept)
  std::optional<uint32_t> maximum_packet_size;               // 0x27
  std::optional<uint8_t> wildcard_subscription_available;    // 0x28
  std::optional<uint8_t> subscription_identifier_available;  // 0x29
  std::optional<uint8_t> shared_subscription_available;      // 0x2A

  bool operator==(const Properties&) const = default;
};

struct Will {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  Properties props;  // will properties (v5)
  bool operator==(const Will&) const = default;
};

struct Connect {
  Version version = Version::V5;
  bool clean_start = true;
  uint16_t keep_alive = 60;
  std::string client_id;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary
  std::optional<Will> will;
  Properties props;
  bool operator==(const Connect&) const = default;
};

struct Connack {
  bool session_present = false;
  Reason reason = Reason::Success;  // v3.1.1 return codes are mapped from/to these (see codec.cc)
  Properties props;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  std::string_view topic;  // may be empty in v5 when a topic alias is used
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  // only for qos > 0
  Properties props;
  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP: the same shape.
struct Ack {
  PacketType type = PacketType::Puback;
  uint16_t packet_id = 0;
  Reason reason = Reason::Success;
  Properties props;
  bool operator==(const Ack&) const = default;
};

struct TopicFilter {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false;             // v5
  bool retain_as_published = false;  // v5
  uint8_t retain_handling = 0;       // v5: 0 send, 1 send if new subscription, 2 never
  bool operator==(const TopicFilter&) const = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  std::vector<TopicFilter> topics;
  Properties props;
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  uint16_t packet_id = 0;
  std::vector<Reason> reasons;  // v3.1.1: 0x00-0x02 granted QoS, 0x80 failure
  Properties props;
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  std::vector<std::string> filters;
  Properties props;
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  uint16_t packet_id = 0;
  std::vector<Reason> reasons;  // v5 only; v3.1.1 has no payload
  Properties props;
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
  bool operator==(const Pingreq&) const = default;
};
struct Pingresp {
  bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
  Reason reason = Reason::Success;
  Properties props;
  bool operator==(const Disconnect&) const = default;
};

struct Auth {
  Reason reason = Reason::Success;
  Properties props;
  bool operator==(const Auth&) const = default;
};

using Packet = std::variant<Connect, Connack, Publish, Ack, Subscribe, Suback, Unsubscribe,
                            Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

}  // namespace verge::mqtt

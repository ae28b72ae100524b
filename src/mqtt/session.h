// The state of one MQTT session (spec 4.1): subscriptions, QoS 1/2 messages in flight and queued,
// and the will. Owned by the worker whose loop the client id hashes to; touched only there.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mqtt/message.h"
#include "mqtt/packet.h"
#include "mqtt/subscription_tree.h"

namespace verge::mqtt {

class MqttConnection;

// A message on its way to one session.
struct Outgoing {
  MessageRef msg;
  uint8_t qos = 0;
  bool retain = false;
  uint32_t subscription_id = 0;    // 0 = none
  std::vector<uint32_t> more_ids;  // rare: several subscriptions of the session matched
};

struct InflightOut {
  enum class State : uint8_t { AwaitPuback, AwaitPubrec, AwaitPubcomp };
  Outgoing out;
  uint16_t packet_id = 0;
  State state = State::AwaitPuback;
};

struct Session {
  uint64_t key = 0;  // unique per session incarnation; top 16 bits = owning worker
  std::string client_id;
  std::string username;  // as authenticated (for the ACL on delivery)
  bool authenticated = false;
  Version version = Version::V5;
  MqttConnection* conn = nullptr;  // null while offline
  uint32_t expiry_interval = 0;    // seconds; UINT32_MAX = never
  uint64_t expires_at_ms = 0;      // while offline; 0 = never
  std::unique_ptr<Will>
      will;                 // a pointer, not inline: most sessions have no will, and Will is large
  uint64_t will_at_ms = 0;  // a delayed will waiting to be published (0 = none)

  std::unordered_map<std::string, Subscription> subscriptions;  // by filter
  std::vector<InflightOut> inflight;                            // in send order
  std::unique_ptr<std::deque<Outgoing>> queued;                 // allocated on first use
  std::vector<uint16_t> awaiting_pubrel;                        // inbound QoS 2 packet ids
  uint16_t next_packet_id = 1;

  size_t queued_count() const { return queued ? queued->size() : 0; }
  // Next packet id not in flight (ids wrap at 65535 and skip 0).
  uint16_t take_packet_id() {
    for (;;) {
      const uint16_t id = next_packet_id;
      next_packet_id = static_cast<uint16_t>(next_packet_id == 65535 ? 1 : next_packet_id + 1);
      bool used = false;
      for (const auto& f : inflight) used = used || f.packet_id == id;
      if (!used) return id;
    }
  }
};

}  // namespace verge::mqtt

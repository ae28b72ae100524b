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
  uint64_t seq = 0;                // position in the session's journal; 0 = not journaled
};

struct InflightOut {
  enum class State : uint8_t { AwaitPuback, AwaitPubrec, AwaitPubcomp };
  Outgoing out;
  uint16_t packet_id = 0;
  State state = State::AwaitPuback;
};

// QoS 1/2 messages sent to the client and not yet fully acknowledged, in send order. Clients
// acknowledge in order almost always, so lookups start at the front and removal there is O(1):
// a removed entry becomes a tombstone (packet id 0, never a valid id) that the head skips.
class InflightWindow {
 public:
  size_t size() const { return live_; }
  void push_back(InflightOut f) {
    items_.push_back(std::move(f));
    ++live_;
  }
  InflightOut* find(uint16_t packet_id, InflightOut::State state) {
    for (size_t i = head_; i < items_.size(); ++i) {
      if (items_[i].packet_id == packet_id && items_[i].state == state) return &items_[i];
    }
    return nullptr;
  }
  bool contains(uint16_t packet_id) const {
    for (size_t i = head_; i < items_.size(); ++i) {
      if (items_[i].packet_id == packet_id) return true;
    }
    return false;
  }
  void erase(InflightOut* f) {
    *f = InflightOut{};
    --live_;
    while (head_ < items_.size() && items_[head_].packet_id == 0) ++head_;
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  template <class F>
  void for_each(F&& fn) {
    for (size_t i = head_; i < items_.size(); ++i) {
      if (items_[i].packet_id != 0) fn(items_[i]);
    }
  }

 private:
  std::vector<InflightOut> items_;
  size_t head_ = 0;
  size_t live_ = 0;
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
  InflightWindow inflight;
  std::unique_ptr<std::deque<Outgoing>> queued;  // allocated on first use
  std::vector<uint16_t> awaiting_pubrel;         // inbound QoS 2 packet ids
  uint16_t next_packet_id = 1;
  bool journaled = false;  // a persistent session: its changes are written to the journal
  uint64_t next_seq = 1;   // for the journal records of its QoS 1/2 messages

  size_t queued_count() const { return queued ? queued->size() : 0; }
  // Next packet id not in flight (ids wrap at 65535 and skip 0).
  uint16_t take_packet_id() {
    for (;;) {
      const uint16_t id = next_packet_id;
      next_packet_id = static_cast<uint16_t>(next_packet_id == 65535 ? 1 : next_packet_id + 1);
      if (!inflight.contains(id)) return id;
    }
  }
};

}  // namespace verge::mqtt

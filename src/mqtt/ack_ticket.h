// Acknowledgements that wait for the journal. A PUBACK/PUBREC promises that the message reaches
// every matching persistent session, so it is sent only once every journal that recorded the
// message has made it durable. Every holder of the message's AckTicket (the routing workers and
// the journals' pending batches) must let go before the acknowledgement leaves, and MQTT requires
// acknowledgements in the order the PUBLISH packets came (spec 4.6), hence the per-connection
// queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "net/event_loop.h"

namespace verge::mqtt {

class MqttConnection;

// Owned by one connection, touched only on its loop.
class AckQueue {
 public:
  explicit AckQueue(MqttConnection* conn) : conn_(conn) {}
  uint64_t push(uint16_t packet_id, uint8_t qos);
  // Any other acknowledgement (SUBACK, UNSUBACK), already encoded: sent as is, stored or not.
  uint64_t push_packet(std::string encoded);
  // Marks entry `index` finished and sends every acknowledgement now at the front, in order.
  void complete(uint64_t index, bool stored);
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  bool waiting_for(uint16_t packet_id) const;
  void detach() { conn_ = nullptr; }  // the connection closed: finished entries are dropped

 private:
  enum class State : uint8_t { Waiting, Stored, Failed };
  struct Entry {
    uint16_t packet_id;
    uint8_t qos;  // 0: `encoded` holds the packet
    State state;
    std::string encoded;
  };
  MqttConnection* conn_;
  std::deque<Entry> entries_;
  uint64_t head_ = 0;  // index of entries_.front()
};

class AckTicket {
 public:
  AckTicket(std::shared_ptr<AckQueue> queue, uint64_t index, net::EventLoop& loop)
      : queue_(std::move(queue)), index_(index), loop_(&loop) {}
  // The last holder lets go (any thread): the completion runs on the connection's loop.
  ~AckTicket() {
    if (loop_ == nullptr) return;
    loop_->post([q = std::move(queue_), i = index_, ok = !failed_.load()] { q->complete(i, ok); });
  }
  AckTicket(const AckTicket&) = delete;
  AckTicket& operator=(const AckTicket&) = delete;

  // A journal could not store the message: the acknowledgement reports the failure.
  void fail() { failed_.store(true, std::memory_order_relaxed); }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Nobody else ever held it: the owner completes it inline instead of posting.
  void disarm() { loop_ = nullptr; }

 private:
  std::shared_ptr<AckQueue> queue_;
  uint64_t index_;
  net::EventLoop* loop_;
  std::atomic<bool> failed_{false};
};

using TicketRef = std::shared_ptr<AckTicket>;

}  // namespace verge::mqtt

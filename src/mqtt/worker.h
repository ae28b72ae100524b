// One worker per event loop: the MQTT connections pinned to that loop, the sessions whose client
// ids hash to it, and delivery of messages to them. Other loops reach it only by posting.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mqtt/ack_ticket.h"
#include "mqtt/broker_core.h"
#include "mqtt/journal.h"
#include "mqtt/journal_codec.h"
#include "mqtt/session.h"
#include "net/event_loop.h"

namespace verge::mqtt {

class MqttConnection;

// A message routed to a session on some worker.
struct Delivery {
  MessageRef msg;
  Subscription sub;                // merged when several subscriptions of the session matched
  std::vector<uint32_t> more_ids;  // further subscription identifiers
  TicketRef ticket;                // held until the message is journaled for this session
};

struct RecoveredSession;
struct StoredMessage;

class Worker {
 public:
  Worker(BrokerCore& core, net::EventLoop& loop, unsigned index);
  ~Worker();  // after the loop has stopped: frees connections and sessions
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  net::EventLoop& loop() { return loop_; }
  unsigned index() const { return index_; }
  BrokerCore& core() { return core_; }
  WorkerStats& stats() { return stats_; }

  // A socket accepted on this loop.
  void accept(int fd, const Listener& listener);
  // A connection that finished CONNECT checks; moves it to the worker owning its session.
  void hand_over(MqttConnection* conn);
  // Called by a connection when its socket is closed; the connection is deleted after the batch.
  void connection_closed(MqttConnection* conn, bool publish_will);

  // Routes a message accepted on this loop to every matching subscription (any worker). The
  // ticket (may be null) is held until every persistent session has the message in its journal.
  void route(const MessageRef& msg, const TicketRef& ticket = nullptr);
  // Sets a retained message (an empty payload deletes it). With persistence the topic's worker
  // journals it while holding the ticket.
  void set_retained(const MessageRef& msg, const TicketRef& ticket = nullptr);
  // Sends retained messages matching a new subscription to its session (local).
  void send_retained(const std::string& filter, const Subscription& sub);
  // Moves queued QoS>0 messages into flight while the receive window allows.
  void pump(Session& s);
  // Subscribes/unsubscribes `s` (local), keeping the tree and the session in step.
  bool add_subscription(Session& s, const std::string& filter, const Subscription& sub);
  bool remove_subscription(Session& s, const std::string& filter);

  // Paused publishers (rate limit, back-pressure) are resumed by a timer and re-checked.
  void pause_publisher(MqttConnection* conn);
  // True while another worker has more deliveries from other loops waiting than it should: its
  // publishers here are not read until it catches up, so memory stays bounded under overload.
  bool peers_overloaded() const;

  // Sends DISCONNECT (v5: Server shutting down) to every client and closes it; then writes a
  // snapshot of the persistent state (in-flight packet ids included) and syncs it.
  void shutdown();
  // Sends DISCONNECT (Not authorized) to every client authenticated as `username` and closes it.
  void disconnect_user(const std::string& username);

  // ---- persistence (docs/mqtt.md) ----
  // Start-up, before the loop runs: a session and a retained message read back from disk.
  void restore(RecoveredSession&& r, const Clocks& clocks);
  static MessageRef restore_message(const StoredMessage& m, const Clocks& clocks);
  // Start-up: this worker's journal; its snapshot is written (not yet flushed).
  void set_journal(std::unique_ptr<Journal> journal);
  Journal* journal() { return journal_.get(); }
  // Journal records for a message of `s` that needs no more delivery / got PUBREC.
  void journal_done(Session& s, uint64_t seq);
  void journal_released(Session& s, uint64_t seq, uint16_t packet_id);

 private:
  friend class MqttConnection;
  void adopt(MqttConnection* conn);
  void attach_session(MqttConnection* conn);
  void end_session(Session* s);
  void publish_will_now(Session& s);
  void deliver(const Delivery& d);
  void enqueue(Session& s, Outgoing out);
  void flush_outboxes();
  void tick();
  void trim_heap_when_calm();
  void resume_paused();
  void remove_connection(MqttConnection* conn);
  Clocks clocks() const;
  void mark_durable(Session& s, bool durable);
  void journal_session(Journal& j, Session& s);
  void write_snapshot(Journal& j);
  void compact_journal_if_big();

  BrokerCore& core_;
  net::EventLoop& loop_;
  unsigned index_;
  WorkerStats stats_;
  std::vector<MqttConnection*> connections_;                            // each knows its index here
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;  // by client id
  std::unordered_map<uint64_t, Session*> by_key_;
  std::vector<std::vector<Delivery>> outboxes_;  // per target worker, posted after the batch
  bool outbox_scheduled_ = false;
  std::vector<Subscription> match_scratch_;
  std::vector<MqttConnection*> paused_publishers_;
  uint64_t last_traffic_ = 0;  // worker 0 only: for trim_heap_when_calm()
  bool heap_dirty_ = false;
  int calm_ticks_ = 0;
  // Deliveries posted to this worker by others and not yet processed (read by every worker).
  std::atomic<int64_t> inbox_{0};
  std::unique_ptr<Journal> journal_;  // with persistence only
  uint64_t compact_at_bytes_ = 0;     // the journal is rewritten as a snapshot past this size
};

}  // namespace verge::mqtt

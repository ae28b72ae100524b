// One simulated edge node of `verge sim edges`, on one event loop: it gets its credentials (saved
// ones from its state directory, or a token from the hub's REST API and the enrolment exchange
// of a real node, sync/edge_enrol.h), connects with mutual TLS, sends heartbeats, sends its
// telemetry records (sim/edges_records.h) in uplink batches with a window and the hub's acks, and
// answers each new desired-state version with a report.
//
// Loop thread only, except the atomics read by the simulator's main thread (counters, desired).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/event_loop.h"
#include "net/timer_queue.h"
#include "sim/edges_records.h"
#include "sync/edge_credentials.h"

namespace verge::mqtt {
class Client;
}
namespace verge::sync {
class EdgeEnrolment;
}

namespace verge::sim {

class HubApi;
class Pacer;

// Totals over every node (relaxed atomics: the main thread samples them once a second).
struct EdgeCounters {
  std::atomic<uint64_t> connected{0};       // connected now
  std::atomic<uint64_t> started{0};         // first connection attempt finished (either way)
  std::atomic<uint64_t> ever_connected{0};  // nodes connected at least once
  std::atomic<uint64_t> enrolled{0}, enrol_failed{0}, connect_failures{0};
  std::atomic<uint64_t> produced{0}, acked{0}, backlog_acked{0};
  std::atomic<uint64_t> batches_sent{0}, bytes_sent{0}, resends{0}, acks{0}, bad_acks{0};
  std::atomic<uint64_t> rebases{0}, reconnects{0}, heartbeats{0}, reports{0};
};

struct EdgeNodeConfig {
  std::string id, prefix;
  std::string host;  // the hub's edge listener
  uint16_t port = 0;
  std::string hub;        // "HOST:PORT" as given (stored with the credentials)
  std::string state_dir;  // this node's own directory
  size_t batch = 2000;    // records per batch at most
  size_t window = 4;      // batches awaiting their ack
  uint64_t linger_ms = 200;
  uint64_t ack_timeout_ms = 10000;
  uint64_t heartbeat_ms = 10000;
  uint64_t enrol_timeout_ms = 120000;
  int zstd_level = 1;
  RecordTimeline timeline;  // start_ms is set by go()
};

class EdgeNode {
 public:
  EdgeNode(net::EventLoop& loop, EdgeNodeConfig config, EdgeCounters& counters);
  ~EdgeNode();
  EdgeNode(const EdgeNode&) = delete;
  EdgeNode& operator=(const EdgeNode&) = delete;

  // Gets credentials and connects. Holds one slot of `pacer` until the first connection attempt
  // ends. `api` and `pacer` must outlive the node.
  void begin(HubApi& api, Pacer& pacer);
  // Live production starts at wall time `start_ms` (the same for every node).
  void go(int64_t start_ms);
  // Called every few tens of ms by the loop: produce, send, heartbeat, ack timeout.
  void tick(uint64_t now_ms);
  // Stops sending, saves the next sequence number, disconnects.
  void finish();

  const std::string& id() const { return cfg_.id; }
  // The newest desired version received (-1: none) and when (wall ms). Any thread.
  int64_t desired_version() const { return desired_version_.load(std::memory_order_acquire); }
  int64_t desired_received_ms() const { return desired_ms_.load(std::memory_order_acquire); }
  // Connected at least once (so the hub knows it). Any thread.
  bool has_connected() const { return has_connected_.load(std::memory_order_acquire); }
  // Why the node failed (enrolment), for the report; empty when it did not. Loop thread.
  const std::string& failure() const { return failure_; }

 private:
  void provision();
  void enrol(const std::string& token_text);
  void enrolled(sync::NodeCredentials creds);
  void fail(const std::string& why);
  void connect();
  void first_attempt_over();
  void on_connected();
  void on_disconnected();
  void on_message(std::string_view topic, std::string_view payload);
  void on_ack(std::string_view payload);
  void on_desired(std::string_view payload);
  void send_batches(uint64_t now_ms);
  void send_heartbeat(uint64_t now_ms);
  void resend_from_acked();
  void load_next_seq();
  void save_next_seq();

  net::EventLoop& loop_;
  EdgeNodeConfig cfg_;
  EdgeCounters& counters_;
  HubApi* api_ = nullptr;
  Pacer* pacer_ = nullptr;
  bool holds_slot_ = false;
  std::shared_ptr<net::TimerQueue> timers_;  // the loop's, shared by every node on it
  net::TimerQueue::Id enrol_timer_ = 0;
  std::unique_ptr<sync::EdgeEnrolment> enrolment_;
  std::optional<sync::NodeCredentials> creds_;
  std::unique_ptr<mqtt::Client> client_;
  bool connected_ = false, finished_ = false, started_ = false;
  std::string failure_;
  uint64_t connected_at_ms_ = 0, last_heartbeat_ms_ = 0;

  // Records (local indices, see edges_records.h): [0, acked_) acknowledged, [acked_, sent_)
  // in flight, [sent_, produced_) waiting. The wire sequence of local index i is base_ + i.
  uint64_t base_ = 0, produced_ = 0, sent_ = 0, acked_ = 0;
  std::deque<uint64_t> inflight_ends_;  // end (local) of each batch awaiting its ack
  uint64_t last_ack_progress_ms_ = 0;
  std::string topic_data_, topic_ack_, topic_desired_;

  std::atomic<int64_t> desired_version_{-1}, desired_ms_{0};
  std::atomic<bool> has_connected_{false};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for deferred callbacks
};

}  // namespace verge::sim

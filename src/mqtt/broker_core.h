// State shared by every worker of one broker (module-internal). Each member says how it is
// shared: immutable after start, internally locked, or atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "mqtt/acl.h"
#include "mqtt/auth_service.h"
#include "mqtt/broker.h"
#include "mqtt/message.h"
#include "mqtt/retained_store.h"
#include "mqtt/subscription_tree.h"
#include "net/acceptor.h"
#include "net/tls.h"

namespace verge::mqtt {

class Worker;

// A counter written by one thread and read by any (no locked RMW on the hot path).
class StatCounter {
 public:
  void inc(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct WorkerStats {
  StatCounter connections_opened, connections_closed, sessions_created, sessions_expired;
  StatCounter messages_received, messages_sent, bytes_received, bytes_sent;
  StatCounter publish_qos[3];
  StatCounter dropped_outbound_full, dropped_queue_full, dropped_expired, dropped_too_large,
      dropped_offline_qos0;
  StatCounter malformed_packets, protocol_errors, auth_failures, not_authorized_connect,
      acl_denied_publish, acl_denied_subscribe, rate_limited_publish, keepalive_timeouts, takeovers,
      connect_timeouts, connections_refused_limit, wills_published, backpressure_pauses;
  StatCounter journal_records, journal_compactions, publish_store_failed;
  std::atomic<int64_t> connections{0}, sessions{0};
};

struct Listener {
  std::string kind;  // mqtt, mqtts, ws, wss
  bool websocket = false;
  std::shared_ptr<net::TlsContext> tls;  // null for plain TCP
  bool allow_anonymous = false;
  std::unique_ptr<net::Acceptor> acceptor;
};

struct BrokerCore {
  explicit BrokerCore(EdgeConfig c) : cfg(std::move(c)) {}

  const EdgeConfig cfg;                              // immutable
  BrokerHooks hooks;                                 // immutable after create()
  SubscriptionTree subs;                             // internally locked
  RetainedStore retained;                            // internally locked
  std::unique_ptr<AuthService> auth;                 // null without a password file; thread-safe
  std::optional<Acl> acl;                            // immutable; none = everything allowed
  std::vector<std::unique_ptr<Worker>> workers;      // fixed after start
  std::vector<std::unique_ptr<Listener>> listeners;  // fixed after start
  std::atomic<uint32_t> connections{0};
  std::atomic<uint64_t> next_session{1};
  // In-process subscribers: their session keys use worker index kLocalWorker.
  static constexpr unsigned kLocalWorker = 0xFFFF;
  using LocalHandler = std::function<void(std::string_view, std::string_view)>;
  struct LocalSubscriber {
    std::string filter;
    std::shared_ptr<const LocalHandler> handler;
  };
  // Held only to look a handler up, never while it runs: a handler that runs long (or a flood of
  // deliveries) cannot starve unsubscribe_local.
  mutable std::mutex local_mutex;
  std::unordered_map<uint64_t, LocalSubscriber> local;  // guarded by local_mutex
  void deliver_local(uint64_t session, const Message& msg) const {
    std::shared_ptr<const LocalHandler> handler;
    {
      std::lock_guard lock(local_mutex);
      auto it = local.find(session);
      if (it == local.end()) return;
      handler = it->second.handler;
    }
    (*handler)(msg.topic(), msg.payload());
  }
  uint64_t start_ms = 0;
  bool persistent = false;  // every worker has a journal; fixed after start

  const BrokerLimits& limits() const { return cfg.limits; }
  // Session keys carry the owning worker in their top 16 bits.
  uint64_t new_session_key(unsigned worker) {
    return (uint64_t{worker} << 48) | next_session.fetch_add(1, std::memory_order_relaxed);
  }
  static unsigned worker_of(uint64_t session_key) {
    return static_cast<unsigned>(session_key >> 48);
  }
  unsigned worker_for_client(const std::string& client_id) const {
    return static_cast<unsigned>(std::hash<std::string>{}(client_id) % workers.size());
  }
  // With persistence, a retained topic is set and journaled by one worker only, so its history
  // is in one journal, in order.
  unsigned worker_for_topic(std::string_view topic) const {
    return static_cast<unsigned>(std::hash<std::string_view>{}(topic) % workers.size());
  }
};

}  // namespace verge::mqtt

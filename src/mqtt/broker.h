// The node's MQTT broker: listeners (TCP, TLS, WebSocket, secure WebSocket), authentication,
// authorisation, sessions and routing, running on the node's event loops.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/metrics.h"
#include "core/result.h"
#include "net/loop_group.h"

namespace verge::mqtt {

struct BrokerCore;

struct ListenerInfo {
  std::string kind;  // mqtt, mqtts, ws, wss
  ListenAddress address;
  bool allow_anonymous = false;
};

// Totals over every worker, for $SYS topics, metrics and tests.
struct BrokerSnapshot {
  uint64_t connections = 0, sessions = 0, subscriptions = 0, retained = 0;
  uint64_t connections_opened = 0, messages_received = 0, messages_sent = 0;
  uint64_t bytes_received = 0, bytes_sent = 0;
  uint64_t dropped = 0;
};

// What a CONNECT hook sees (the hub decides for its edge listener).
struct ConnectCheck {
  std::string_view listener;  // mqtt, mqtts, ws, wss
  std::string_view client_id;
  std::string_view cert_identity;         // CN of a verified client certificate; empty: none
  std::string_view cert_serial;           // its serial, lowercase hex (sync/pki.h serial_hex)
  const std::string* username = nullptr;  // null: none sent
  const std::string* password = nullptr;
};
struct ConnectDecision {
  enum class Verdict : uint8_t { Default, Allow, Refuse } verdict = Verdict::Default;
  std::string username;  // Allow: the identity the session gets (ACL %u)
};
struct BrokerHooks {
  // Runs on the loop thread at each CONNECT, before the password check; must be fast and
  // thread-safe. Default: the usual checks (password file, anonymous, certificate identity).
  // Allow: authenticated as `username`, no further checks. Refuse: CONNACK Not authorized.
  std::function<ConnectDecision(const ConnectCheck&)> on_connect;
};

class Broker {
 public:
  // Loads the password and ACL files and TLS material, binds every listener of `cfg` and
  // attaches to `loops` (which may already run). Errors name the file or address at fault.
  static Result<std::unique_ptr<Broker>> create(const EdgeConfig& cfg, net::LoopGroup& loops,
                                                BrokerHooks hooks = {});
  // Call after the loops have stopped.
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  const std::vector<ListenerInfo>& listeners() const { return listeners_; }

  // Thread-safe: publishes a message originating inside the node, as if a client had.
  void publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain);

  // In-process subscribers (the rule engine). Thread-safe. `handler` runs on the broker thread
  // that routes each matching message, so it must be fast and thread-safe; it sees topic and
  // payload only (no QoS, no journal: a local subscriber gets at most once). With
  // `with_retained`, retained messages matching `filter` are handed to it before this returns.
  // Returns 0 for an invalid filter ($share filters are not accepted).
  using LocalHandler = std::function<void(std::string_view topic, std::string_view payload)>;
  uint64_t subscribe_local(std::string_view filter, LocalHandler handler, bool with_retained);
  // After it returns, the handler is not running and will not be called again.
  void unsubscribe_local(uint64_t id);

  // Thread-safe and non-blocking (callable from a loop thread, e.g. an HTTP handler): every loop
  // closes its connections authenticated as `username` (DISCONNECT Not authorized) soon after.
  void disconnect_user(std::string_view username);

  // Exposes the broker's counters in `registry` (values are read at scrape time).
  void register_metrics(metrics::Registry& registry);

  BrokerSnapshot snapshot() const;

  // Thread-safe: tells every client the server is shutting down and closes it; returns when
  // every loop has done so. Call before stopping the loops.
  void shutdown();

 private:
  Broker() = default;
  std::unique_ptr<BrokerCore> core_;
  std::vector<ListenerInfo> listeners_;
};

}  // namespace verge::mqtt

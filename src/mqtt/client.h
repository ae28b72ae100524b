// An MQTT 5 client on one EventLoop: the edge's link to its hub, and the simulated nodes of
// `verge sim edges`. It connects (TCP or TLS), keeps the session alive (PINGREQ), subscribes,
// publishes at QoS 0 or 1 and hands received PUBLISH packets to the owner. When the connection is
// lost or refused it reconnects by itself with jittered exponential back-off, re-subscribing what
// was subscribed. Encoding and decoding use the broker's codec (mqtt/codec.h).
//
//   ClientOptions o; o.host = "hub"; o.port = 8883; o.client_id = "node-1"; o.tls = ctx;
//   Client c(loop, o, handlers);  // on the loop thread
//   c.start();
//   c.subscribe("verge/down/node-1/#", 1);
//   c.publish("verge/up/node-1/data/alarms", bytes, 1, false, [](PublishResult r) { ... });
//
// Threading: every method, the constructor and the destructor run on the loop's thread; handlers
// run there too. Use EventLoop::post to reach it from elsewhere.
//
// QoS 1: a publish is "done" when its PUBACK arrives (reason < 0x80: ok, else the reason). At
// most `max_inflight` QoS 1 publishes are outstanding; more wait in a queue. On a lost connection
// the outstanding and queued QoS 1 publishes are failed with "connection lost" (the owner resends
// from its own durable state: the uplink resends from its cursor); QoS 0 publishes are dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/event_loop.h"

namespace verge::net {
class TlsClientContext;
}

namespace verge::mqtt {

struct ClientOptions {
  std::string host;  // IPv4/IPv6 literal or a name (resolved off the loop thread)
  uint16_t port = 1883;
  std::shared_ptr<const net::TlsClientContext> tls;  // null: plain TCP
  std::string client_id;
  std::optional<std::string> username, password;
  uint16_t keep_alive_s = 30;
  bool clean_start = true;
  uint16_t max_inflight = 64;          // QoS 1 publishes awaiting PUBACK
  uint32_t max_packet_size = 1 << 24;  // announced in CONNECT; larger incoming packets close
  // Will: published by the server when the connection is lost without DISCONNECT.
  std::string will_topic, will_payload;
  bool will_retain = false;
  uint8_t will_qos = 0;
  // Reconnect back-off: the first retry after `backoff_min_ms`, doubling to `backoff_max_ms`,
  // each delay drawn uniformly from [d/2, d] (jitter, so many nodes do not reconnect in step).
  uint64_t backoff_min_ms = 500, backoff_max_ms = 30000;
  bool reconnect = true;                // false: stay down after the first loss (tests, enrolment)
  uint64_t connect_timeout_ms = 10000;  // TCP + TLS + CONNACK
};

struct ConnackInfo {
  uint8_t reason = 0;  // 0 = success; otherwise the v5 reason code the server sent
  bool session_present = false;
};

struct PublishResult {
  uint8_t reason = 0;  // PUBACK reason (0 = success); 0x80+ = refused by the server
  std::string error;   // non-empty: not delivered ("connection lost", "refused: not authorized")
  bool ok() const { return error.empty() && reason < 0x80; }
};

struct ClientHandlers {
  // Connected and CONNACK success (after every reconnect).
  std::function<void(const ConnackInfo&)> on_connected;
  // Lost, refused (CONNACK failure, TLS failure) or could not connect; `reason` says which, e.g.
  // "connect refused: not authorized (0x87)" or "tls: certificate verify failed".
  std::function<void(std::string_view reason)> on_disconnected;
  // An application message (QoS 0 or 1; QoS 1 is acknowledged once this returns).
  std::function<void(std::string_view topic, std::string_view payload, bool retain)> on_message;
};

struct ClientStats {
  uint64_t connects = 0, connect_failures = 0, disconnects = 0;
  uint64_t messages_sent = 0, messages_received = 0, bytes_sent = 0, bytes_received = 0;
  uint64_t publish_failed = 0;
};

class Client {
 public:
  Client(net::EventLoop& loop, ClientOptions options, ClientHandlers handlers);
  ~Client();  // closes without DISCONNECT handshakes; pending publishes are abandoned silently
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts connecting (and reconnecting, with options.reconnect).
  void start();
  // Sends DISCONNECT (no will) and closes; no reconnect afterwards.
  void stop();
  bool connected() const;

  // Remembered and re-sent after each reconnect; sent now when connected.
  void subscribe(std::string_view filter, uint8_t qos);
  // QoS 0: `done` (optional) runs once the bytes are queued, or with an error when not
  // connected. QoS 1: see the header comment. `done` never runs inside publish().
  using PublishDone = std::function<void(const PublishResult&)>;
  void publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain,
               PublishDone done = {});
  // QoS 1 publishes outstanding plus queued (for flow control by the owner).
  size_t pending() const;
  // Bytes queued on the socket not yet written (for flow control by the owner).
  size_t queued_bytes() const;

  const ClientStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::mqtt

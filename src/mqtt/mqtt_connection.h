// One client connection speaking MQTT (over TCP, TLS, WebSocket or secure WebSocket): decodes its
// packets, enforces the protocol and limits, and turns them into session and routing actions on
// its worker. Outbound PUBLISH bytes are written as a small per-subscriber header plus the shared
// payload of the message.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "mqtt/ack_ticket.h"
#include "mqtt/codec.h"
#include "mqtt/session.h"
#include "net/stream_connection.h"
#include "net/websocket.h"

namespace verge::mqtt {

class Worker;
struct Listener;

class MqttConnection final : public net::StreamConnection {
 public:
  enum class State : uint8_t { WsHandshake, AwaitConnect, Authenticating, Migrating, Active };

  MqttConnection(Worker& worker, std::unique_ptr<net::Transport> transport,
                 const Listener& listener);

  // Sends one PUBLISH to the client. False (and counted) when it is larger than the client's
  // Maximum Packet Size or already expired: the message is dropped for this client.
  bool send_publish(const Outgoing& out, uint16_t packet_id, bool dup);
  void send_packet(const Packet& p);
  // PUBACK, PUBREC, PUBREL or PUBCOMP (v3.1.1 drops the reason).
  void send_ack(PacketType type, uint16_t packet_id, Reason reason);
  // v5: DISCONNECT with `reason` (and a reason string), then close. v3.1.1: close.
  void disconnect(Reason reason, const char* why = nullptr);
  // The journal has the client's QoS 1/2 PUBLISH `packet_id` (or could not store it): sends the
  // PUBACK/PUBREC, in order (AckQueue).
  void finish_publish(uint16_t packet_id, uint8_t qos, bool stored);
  // Bytes of a packet encoded earlier (an acknowledgement that waited for the journal).
  void send_encoded(std::string_view bytes);

  State state() const { return state_; }
  Version version() const { return version_; }
  Session* session() const { return session_; }
  // How many QoS>0 messages may be in flight to the client.
  size_t receive_window() const;

 protected:
  size_t on_bytes(std::span<const uint8_t> data) override;
  void on_closed(std::string_view reason) override;
  void on_drained() override;

 private:
  friend class Worker;

  size_t on_handshake_bytes(std::span<const uint8_t> data);
  size_t on_ws_bytes(std::span<const uint8_t> data);
  size_t parse_packets(std::span<const uint8_t> data);
  // False: stop parsing (closed, paused or waiting for authentication).
  bool handle_frame(const FrameHeader& h, std::span<const uint8_t> frame);
  bool handle_connect(std::span<const uint8_t> frame);
  void continue_connect(bool authenticated);
  void on_auth_result(bool ok);
  void reject_connect(Reason reason);
  bool handle_publish(Publish& p);
  void handle_ack(const Ack& a);
  void handle_subscribe(const Subscribe& s);
  void handle_unsubscribe(const Unsubscribe& u);
  void handle_disconnect(const Disconnect& d);
  void send_when_journaled(const Packet& ack);
  bool journal_behind() const;
  void protocol_violation(Reason reason, const char* what);
  void emit(std::string_view bytes);  // wraps in a WebSocket frame when needed
  bool take_publish_token();

  Worker* worker_;
  const Listener& listener_;
  State state_;
  Version version_ = Version::V5;
  Session* session_ = nullptr;
  size_t slot_ = 0;  // index in the worker's connection list
  uint64_t created_ms_ = 0;
  uint64_t last_rx_ms_ = 0;
  uint16_t keep_alive_ = 0;
  bool publish_will_ = true;  // false after a normal DISCONNECT
  bool auth_pending_ = false;

  // Set between CONNECT and the session being attached.
  std::unique_ptr<Connect> connect_;
  bool assigned_id_ = false;
  uint16_t server_keep_alive_ = 0;
  std::string username_;  // authenticated identity (empty for anonymous)
  bool authenticated_ = false;

  // What the client announced in CONNECT (v5).
  uint32_t client_max_packet_ = 268435455;
  uint16_t client_receive_max_ = 65535;
  uint16_t client_alias_max_ = 0;
  std::vector<std::string> in_aliases_;  // topic alias - 1 -> topic (client to server)
  std::unique_ptr<std::unordered_map<std::string, uint16_t>> out_aliases_;  // server to client

  // Per-client publish rate limit (token bucket), when configured.
  double tokens_ = 0;
  uint64_t tokens_ms_ = 0;

  std::shared_ptr<AckQueue> acks_;  // with persistence: acknowledgements waiting for the journal
  std::unique_ptr<net::WsDecoder> ws_;  // WebSocket listeners only
  std::string ws_data_;                 // MQTT bytes unwrapped from frames, not yet parsed
};

}  // namespace verge::mqtt

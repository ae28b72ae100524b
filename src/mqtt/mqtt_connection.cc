#include "mqtt/mqtt_connection.h"

#include <sodium.h>

#include <algorithm>

#include "core/log.h"
#include "mqtt/topic.h"
#include "mqtt/worker.h"
#include "net/http.h"

namespace verge::mqtt {

namespace {

constexpr uint32_t kProtocolMaxPacket = 268435455;

std::string random_client_id() {
  unsigned char raw[12];
  randombytes_buf(raw, sizeof raw);
  static const char* hex = "0123456789abcdef";
  std::string id = "verge-";
  for (unsigned char b : raw) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

// v3.1.1 SUBACK knows only "granted QoS n" and 0x80 failure.
Reason suback_failure(Version v, Reason r) {
  return v == Version::V5 ? r : Reason::UnspecifiedError;
}

}  // namespace

MqttConnection::MqttConnection(Worker& worker, std::unique_ptr<net::Transport> transport,
                               const Listener& listener)
    : StreamConnection(worker.loop(), std::move(transport)),
      worker_(&worker),
      listener_(listener),
      state_(listener.websocket ? State::WsHandshake : State::AwaitConnect),
      created_ms_(worker.loop().now_ms()),
      last_rx_ms_(created_ms_) {}

size_t MqttConnection::receive_window() const {
  return std::min<size_t>(client_receive_max_, worker_->core().limits().max_inflight);
}

void MqttConnection::emit(std::string_view bytes) {
  if (ws_) {
    std::string frame;
    net::ws_encode_frame_header(net::kWsBinary, bytes.size(), frame);
    send(frame);
  }
  send(bytes);
}

void MqttConnection::send_packet(const Packet& p) {
  std::string out;
  encode(p, version_, out);
  worker_->stats().bytes_sent.inc(out.size());
  emit(out);
}

void MqttConnection::send_ack(PacketType type, uint16_t packet_id, Reason reason) {
  if (reason == Reason::Success || version_ == Version::V311) {
    // The common case is four fixed bytes (v5 allows omitting a Success reason): no encoder.
    const uint8_t flags = type == PacketType::Pubrel ? 0x02 : 0x00;
    const char bytes[4] = {static_cast<char>((static_cast<uint8_t>(type) << 4) | flags), 2,
                           static_cast<char>(packet_id >> 8), static_cast<char>(packet_id & 0xff)};
    worker_->stats().bytes_sent.inc(sizeof bytes);
    emit(std::string_view(bytes, sizeof bytes));
    return;
  }
  Ack a;
  a.type = type;
  a.packet_id = packet_id;
  a.reason = reason;
  send_packet(a);
}

void MqttConnection::disconnect(Reason reason, const char* why) {
  if (closed()) return;
  if (version_ == Version::V5 && state_ == State::Active) {
    Disconnect d;
    d.reason = reason;
    if (why != nullptr) d.props.reason_string = why;
    send_packet(d);
  }
  close();
}

void MqttConnection::protocol_violation(Reason reason, const char* what) {
  auto& st = worker_->stats();
  (reason == Reason::MalformedPacket ? st.malformed_packets : st.protocol_errors).inc();
  log_debug("closing client", {{"client", session_ ? session_->client_id : std::string("-")},
                               {"reason", reason_name(reason)},
                               {"detail", what}});
  disconnect(reason, what);
}

size_t MqttConnection::on_bytes(std::span<const uint8_t> data) {
  last_rx_ms_ = loop().now_ms();
  if (state_ == State::WsHandshake) return on_handshake_bytes(data);
  if (ws_) return on_ws_bytes(data);
  return parse_packets(data);
}

size_t MqttConnection::on_handshake_bytes(std::span<const uint8_t> data) {
  net::HttpRequest req;
  const char* error = nullptr;
  switch (net::parse_http_request(data, req, &error)) {
    case net::HttpParse::NeedMore:
      return 0;
    case net::HttpParse::Bad:
      send(
          net::http_response(400, "text/plain", std::string(error ? error : "bad request") + "\n"));
      close();
      return data.size();
    case net::HttpParse::Complete:
      break;
  }
  auto response = net::websocket_handshake_response(req);
  if (!response) {
    send(net::http_response(400, "text/plain", response.error().message + "\n"));
    close();
    return data.size();
  }
  send(*response);
  ws_ = std::make_unique<net::WsDecoder>(worker_->core().limits().max_packet_size + 16);
  ws_->set_reject_text(true);  // MQTT over WebSocket is binary frames only (spec 6.0)
  state_ = State::AwaitConnect;
  const size_t used = req.header_bytes;
  return used + on_ws_bytes(data.subspan(used));
}

size_t MqttConnection::on_ws_bytes(std::span<const uint8_t> data) {
  size_t used = 0;
  while (used < data.size() && !closed()) {
    size_t consumed = 0;
    const auto ev = ws_->feed(data.subspan(used), consumed, ws_data_);
    used += consumed;
    if (ev == net::WsDecoder::Event::Ping) {
      std::string pong;
      net::ws_encode_frame_header(net::kWsPong, ws_->control_payload().size(), pong);
      pong += ws_->control_payload();
      send(pong);
    } else if (ev == net::WsDecoder::Event::Close || ev == net::WsDecoder::Event::Error) {
      if (ev == net::WsDecoder::Event::Error) worker_->stats().malformed_packets.inc();
      std::string frame;
      net::ws_encode_frame_header(net::kWsClose, 2, frame);
      const uint16_t code =
          ev == net::WsDecoder::Event::Error ? ws_->close_code_to_send() : net::kWsCloseNormal;
      frame += static_cast<char>(code >> 8);
      frame += static_cast<char>(code & 0xff);
      send(frame);
      close();
      return data.size();
    }
    if (consumed == 0) break;
  }
  if (!ws_data_.empty() && !closed()) {
    const size_t n = parse_packets(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(ws_data_.data()), ws_data_.size()));
    if (!closed()) ws_data_.erase(0, n);
  }
  return closed() ? data.size() : used;
}

size_t MqttConnection::parse_packets(std::span<const uint8_t> data) {
  size_t pos = 0;
  const uint32_t max_packet = worker_->core().limits().max_packet_size;
  while (pos < data.size() && !closed()) {
    if (state_ == State::Authenticating || state_ == State::Migrating) break;
    FrameHeader h;
    const auto st = peek_frame(data.subspan(pos), h);
    if (st == FrameStatus::NeedMore) break;
    if (st == FrameStatus::Malformed) {
      protocol_violation(Reason::MalformedPacket, "remaining length longer than 4 bytes");
      break;
    }
    if (state_ == State::AwaitConnect && h.type() != PacketType::Connect) {
      worker_->stats().protocol_errors.inc();
      close();  // spec 3.1: the first packet must be CONNECT
      break;
    }
    if (h.total_size() > max_packet) {
      worker_->stats().dropped_too_large.inc();
      protocol_violation(Reason::PacketTooLarge, "packet exceeds maximum packet size");
      break;
    }
    if (data.size() - pos < h.total_size()) break;
    if (h.type() == PacketType::Publish && state_ == State::Active) {
      // Over the client's publish rate, another loop is behind with our deliveries, or the journal
      // is behind with our acknowledgements: leave the packet unread (TCP back-pressure reaches
      // the client) until the timer resumes us.
      const bool backlog = worker_->peers_overloaded() || journal_behind();
      if (backlog || !take_publish_token()) {
        (backlog ? worker_->stats().backpressure_pauses : worker_->stats().rate_limited_publish)
            .inc();
        pause_input();
        worker_->pause_publisher(this);
        break;
      }
    }
    const auto frame = data.subspan(pos, h.total_size());
    pos += h.total_size();
    worker_->stats().bytes_received.inc(frame.size());
    if (!handle_frame(h, frame)) break;
  }
  return closed() ? data.size() : pos;
}

bool MqttConnection::handle_frame(const FrameHeader& h, std::span<const uint8_t> frame) {
  if (state_ == State::AwaitConnect) return handle_connect(frame);
  auto decoded = decode(frame, version_);
  if (!decoded) {
    protocol_violation(decoded.error().reason, decoded.error().what);
    return false;
  }
  Packet& p = *decoded;
  switch (h.type()) {
    case PacketType::Publish:
      return handle_publish(std::get<Publish>(p));
    case PacketType::Puback:
    case PacketType::Pubrec:
    case PacketType::Pubrel:
    case PacketType::Pubcomp:
      handle_ack(std::get<Ack>(p));
      return !closed();
    case PacketType::Subscribe:
      handle_subscribe(std::get<Subscribe>(p));
      return !closed();
    case PacketType::Unsubscribe:
      handle_unsubscribe(std::get<Unsubscribe>(p));
      return !closed();
    case PacketType::Pingreq:
      send_packet(Pingresp{});
      return true;
    case PacketType::Disconnect:
      handle_disconnect(std::get<Disconnect>(p));
      return false;
    case PacketType::Auth:
      // No enhanced authentication method is configured, so CONNECT carried none and any AUTH
      // is a protocol error (spec 4.12).
      protocol_violation(Reason::ProtocolError, "AUTH without an authentication method");
      return false;
    case PacketType::Connect:
      protocol_violation(Reason::ProtocolError, "second CONNECT");
      return false;
    default:
      protocol_violation(Reason::ProtocolError, "packet type not sent by clients");
      return false;
  }
}

// ---- CONNECT -------------------------------------------------------------------------------

bool MqttConnection::handle_connect(std::span<const uint8_t> frame) {
  auto decoded = decode(frame, Version::V5);
  if (!decoded) {
    const DecodeError& e = decoded.error();
    if (e.reason == Reason::UnsupportedProtocolVersion) {
      // Answer in a form a v3.1.1 client understands (return code 1).
      version_ = Version::V311;
      Connack ack;
      ack.reason = Reason::UnsupportedProtocolVersion;
      send_packet(ack);
      worker_->stats().protocol_errors.inc();
      close();
      return false;
    }
    (e.reason == Reason::MalformedPacket ? worker_->stats().malformed_packets
                                         : worker_->stats().protocol_errors)
        .inc();
    close();
    return false;
  }
  auto* c = std::get_if<Connect>(&*decoded);
  if (c == nullptr) {
    close();
    return false;
  }
  version_ = c->version;
  const BrokerLimits& limits = worker_->core().limits();
  if (version_ == Version::V5) {
    client_receive_max_ = c->props.receive_maximum.value_or(65535);
    client_max_packet_ = c->props.maximum_packet_size.value_or(kProtocolMaxPacket);
    client_alias_max_ = c->props.topic_alias_maximum.value_or(0);
    if (c->props.authentication_method) {
      reject_connect(Reason::BadAuthenticationMethod);
      return false;
    }
  }
  if (c->client_id.empty()) {
    if (version_ == Version::V311 && !c->clean_start) {
      reject_connect(Reason::ClientIdentifierNotValid);
      return false;
    }
    c->client_id = random_client_id();
    assigned_id_ = true;
  }
  keep_alive_ = c->keep_alive;
  if (version_ == Version::V5 && (keep_alive_ > limits.max_keepalive)) {
    keep_alive_ = limits.max_keepalive;
    server_keep_alive_ = keep_alive_;
  }
  connect_ = std::make_unique<Connect>(std::move(*c));

  BrokerCore& core = worker_->core();
  const std::string identity = transport().peer_identity();
  if (core.hooks.on_connect) {
    const std::string serial = transport().peer_cert_serial();
    const ConnectCheck check{listener_.kind,
                             connect_->client_id,
                             identity,
                             serial,
                             connect_->username ? &*connect_->username : nullptr,
                             connect_->password ? &*connect_->password : nullptr};
    ConnectDecision d = core.hooks.on_connect(check);
    if (d.verdict == ConnectDecision::Verdict::Refuse) {
      worker_->stats().not_authorized_connect.inc();
      log_info(
          "connect refused by hook",
          {{"client", connect_->client_id}, {"listener", listener_.kind}, {"identity", identity}});
      reject_connect(Reason::NotAuthorized);
      return false;
    }
    if (d.verdict == ConnectDecision::Verdict::Allow) {
      username_ = std::move(d.username);
      continue_connect(true);
      return !closed() && state_ == State::Active;
    }
  }
  if (listener_.tls && core.cfg.tls.identity_from_cert && !identity.empty()) {
    username_ = identity;
    continue_connect(true);
  } else if (connect_->username && core.auth) {
    const std::string password = connect_->password.value_or("");
    if (core.auth->cached(*connect_->username, password)) {
      continue_connect(true);
    } else {
      state_ = State::Authenticating;
      auth_pending_ = true;
      pause_input();
      net::EventLoop* loop_ptr = &loop();
      core.auth->verify_async(*connect_->username, password, [this, loop_ptr](bool ok) {
        loop_ptr->post([this, ok] { on_auth_result(ok); });
      });
    }
  } else {
    continue_connect(false);
  }
  return !closed() && state_ == State::Active;
}

void MqttConnection::on_auth_result(bool ok) {
  auth_pending_ = false;
  if (closed()) {
    // The worker already let go of it (see Worker::connection_closed).
    loop().next_iteration([this] { delete this; });
    return;
  }
  continue_connect(ok);
  if (!closed() && state_ == State::Active) resume_input();
}

void MqttConnection::continue_connect(bool authenticated) {
  BrokerCore& core = worker_->core();
  auto& st = worker_->stats();
  if (connect_->username && core.auth && !authenticated) {
    st.auth_failures.inc();
    log_info("authentication failed",
             {{"client", connect_->client_id}, {"user", *connect_->username}});
    reject_connect(Reason::BadUserNameOrPassword);
    return;
  }
  if (!authenticated && !listener_.allow_anonymous) {
    st.not_authorized_connect.inc();
    reject_connect(Reason::NotAuthorized);
    return;
  }
  authenticated_ = authenticated;
  if (authenticated && username_.empty()) username_ = *connect_->username;
  if (connect_->will) {
    const AclSubject subject{username_, authenticated_, connect_->client_id};
    const std::string& topic = connect_->will->topic;
    if (topic.starts_with("$SYS") || (core.acl && !core.acl->may_publish(subject, topic))) {
      st.acl_denied_publish.inc();
      reject_connect(Reason::NotAuthorized);
      return;
    }
  }
  state_ = State::Migrating;  // parsing stops until the session is attached
  worker_->hand_over(this);
}

void MqttConnection::reject_connect(Reason reason) {
  Connack ack;
  ack.reason = reason;
  send_packet(ack);
  close();
}

// ---- PUBLISH -------------------------------------------------------------------------------

bool MqttConnection::take_publish_token() {
  const uint32_t rate = worker_->core().limits().max_publish_rate;
  if (rate == 0) return true;
  const uint64_t now = loop().now_ms();
  if (tokens_ms_ == 0) tokens_ = rate;
  tokens_ = std::min<double>(rate, tokens_ + static_cast<double>(now - tokens_ms_) * rate / 1000.0);
  tokens_ms_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool MqttConnection::handle_publish(Publish& p) {
  BrokerCore& core = worker_->core();
  auto& st = worker_->stats();
  Session& s = *session_;
  st.messages_received.inc();
  st.publish_qos[p.qos].inc();

  std::string_view topic = p.topic;
  if (p.props.topic_alias) {
    const uint16_t alias = *p.props.topic_alias;
    if (alias == 0 || alias > core.limits().max_topic_alias) {
      protocol_violation(Reason::TopicAliasInvalid, "topic alias out of range");
      return false;
    }
    if (!topic.empty()) {
      if (in_aliases_.size() < alias) in_aliases_.resize(alias);
      in_aliases_[alias - 1] = std::string(topic);
    } else if (alias > in_aliases_.size() || in_aliases_[alias - 1].empty()) {
      protocol_violation(Reason::ProtocolError, "unknown topic alias");
      return false;
    } else {
      topic = in_aliases_[alias - 1];
    }
  } else if (topic.empty()) {
    protocol_violation(Reason::ProtocolError, "empty topic without alias");
    return false;
  }

  auto ack = [&](PacketType type, Reason r) { send_ack(type, p.packet_id, r); };

  if (p.qos == 2) {
    if (std::find(s.awaiting_pubrel.begin(), s.awaiting_pubrel.end(), p.packet_id) !=
        s.awaiting_pubrel.end()) {
      ack(PacketType::Pubrec, Reason::Success);  // a retransmission: already stored and routed
      return true;
    }
    // A retransmission of one still on its way into the journal: its PUBREC follows.
    if (acks_ && acks_->waiting_for(p.packet_id)) return true;
    if (s.awaiting_pubrel.size() >= core.limits().max_inflight) {
      protocol_violation(Reason::ReceiveMaximumExceeded, "too many QoS 2 messages in flight");
      return false;
    }
  }

  const AclSubject subject{username_, authenticated_, s.client_id};
  const bool allowed =
      !topic.starts_with("$SYS") && (!core.acl || core.acl->may_publish(subject, topic));
  if (!allowed) {
    st.acl_denied_publish.inc();
    if (p.qos == 1) ack(PacketType::Puback, Reason::NotAuthorized);
    if (p.qos == 2) {
      // v3.1.1 has no way to refuse: complete the exchange and drop the message.
      if (version_ == Version::V311) s.awaiting_pubrel.push_back(p.packet_id);
      ack(PacketType::Pubrec, Reason::NotAuthorized);
    }
    return true;
  }

  const uint64_t now = loop().now_ms();
  const uint64_t expiry =
      p.props.message_expiry_interval ? now + uint64_t{*p.props.message_expiry_interval} * 1000 : 0;
  MessageRef msg = Message::make(topic, p.payload, p.qos, p.retain,
                                 version_ == Version::V5 ? &p.props : nullptr, expiry, s.key);
  if (p.qos == 0 || !core.persistent) {
    if (p.retain) worker_->set_retained(msg);
    worker_->route(msg);
    if (p.qos > 0) finish_publish(p.packet_id, p.qos, true);
    return true;
  }
  // Persistence: the acknowledgement promises delivery to every persistent subscription, so it
  // waits until each journal that took the message has made it durable (ack_ticket.h).
  if (!acks_) acks_ = std::make_shared<AckQueue>(this);
  const uint64_t index = acks_->push(p.packet_id, p.qos);
  auto ticket = std::make_shared<AckTicket>(acks_, index, loop());
  if (p.retain) worker_->set_retained(msg, ticket);
  worker_->route(msg, ticket);
  if (ticket.use_count() == 1) {  // no journal took it: acknowledge now, without a round trip
    ticket->disarm();
    acks_->complete(index, !ticket->failed());
  }
  return true;
}

bool MqttConnection::journal_behind() const {
  // Generous (8 windows), so group commit still gets full batches; it bounds what a 3.1.1 client,
  // which has no Receive Maximum, can pile up while the disk is slow.
  return acks_ && acks_->size() >= size_t{worker_->core().limits().max_inflight} * 8;
}

void MqttConnection::finish_publish(uint16_t packet_id, uint8_t qos, bool stored) {
  const PacketType type = qos == 1 ? PacketType::Puback : PacketType::Pubrec;
  if (stored) {
    // Only now: a retransmission on a later connection must not get a PUBREC for a message the
    // journal never had.
    if (qos == 2 && session_ != nullptr) session_->awaiting_pubrel.push_back(packet_id);
    send_ack(type, packet_id, Reason::Success);
    return;
  }
  worker_->stats().publish_store_failed.inc();
  if (version_ == Version::V311) {
    close();  // 3.1.1 cannot refuse a message: without an acknowledgement the client resends it
    return;
  }
  send_ack(type, packet_id, Reason::ImplementationSpecificError);
}

bool MqttConnection::send_publish(const Outgoing& out, uint16_t packet_id, bool dup) {
  const Message& m = *out.msg;
  auto& st = worker_->stats();
  if (out.qos == 0 && !out.retain && out.subscription_id == 0 && client_alias_max_ == 0 &&
      m.expiry_at_ms() == 0) {
    // Same bytes for every such subscriber: encoded once per message and protocol version.
    const net::SharedBytes& packet = m.qos0_packet(version_);
    if (packet.size() > client_max_packet_) {
      st.dropped_too_large.inc();
      return false;
    }
    if (ws_) {
      std::string frame;
      net::ws_encode_frame_header(net::kWsBinary, packet.size(), frame);
      send(frame);
    }
    send_shared(packet, packet.view());
    st.messages_sent.inc();
    st.bytes_sent.inc(packet.size());
    return true;
  }
  Publish p;
  p.topic = m.topic();
  p.payload = m.payload();
  p.qos = out.qos;
  p.retain = out.retain;
  p.dup = dup;
  p.packet_id = packet_id;
  uint16_t new_alias = 0;
  if (version_ == Version::V5) {
    if (const ForwardedProperties* fp = m.props()) {
      p.props.payload_format_indicator = fp->payload_format_indicator;
      p.props.content_type = fp->content_type;
      p.props.response_topic = fp->response_topic;
      p.props.correlation_data = fp->correlation_data;
      p.props.user_properties = fp->user_properties;
    }
    if (m.expiry_at_ms() != 0) {
      const uint64_t now = loop().now_ms();
      if (now >= m.expiry_at_ms()) {
        st.dropped_expired.inc();
        return false;
      }
      p.props.message_expiry_interval =
          static_cast<uint32_t>((m.expiry_at_ms() - now + 999) / 1000);
    }
    if (out.subscription_id != 0) p.props.subscription_identifiers.push_back(out.subscription_id);
    for (uint32_t id : out.more_ids) p.props.subscription_identifiers.push_back(id);
    if (client_alias_max_ > 0) {
      if (!out_aliases_)
        out_aliases_ = std::make_unique<std::unordered_map<std::string, uint16_t>>();
      auto it = out_aliases_->find(std::string(m.topic()));
      if (it != out_aliases_->end()) {
        p.props.topic_alias = it->second;
        p.topic = {};
      } else if (out_aliases_->size() < client_alias_max_) {
        new_alias = static_cast<uint16_t>(out_aliases_->size() + 1);
        p.props.topic_alias = new_alias;
      }
    }
  }
  thread_local std::string head;
  head.clear();
  encode_publish_header(p, version_, head);
  const size_t total = head.size() + p.payload.size();
  if (total > client_max_packet_) {
    st.dropped_too_large.inc();
    return false;
  }
  if (new_alias != 0) out_aliases_->emplace(std::string(m.topic()), new_alias);
  if (ws_) {
    std::string frame;
    net::ws_encode_frame_header(net::kWsBinary, total, frame);
    send(frame);
  }
  send(head);
  send_shared(m.bytes(), p.payload);
  st.messages_sent.inc();
  st.bytes_sent.inc(total);
  return true;
}

// ---- acknowledgements, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT ---------------------------------

void MqttConnection::handle_ack(const Ack& a) {
  Session& s = *session_;
  switch (a.type) {
    case PacketType::Puback: {
      if (InflightOut* f = s.inflight.find(a.packet_id, InflightOut::State::AwaitPuback)) {
        worker_->journal_done(s, f->out.seq);
        s.inflight.erase(f);
      }
      worker_->pump(s);
      return;
    }
    case PacketType::Pubrec: {
      InflightOut* f = s.inflight.find(a.packet_id, InflightOut::State::AwaitPubrec);
      if (f == nullptr) {
        send_ack(PacketType::Pubrel, a.packet_id, Reason::PacketIdentifierNotFound);
        return;
      }
      if (static_cast<uint8_t>(a.reason) >= 0x80) {  // the client refused the message
        worker_->journal_done(s, f->out.seq);
        s.inflight.erase(f);
        worker_->pump(s);
        return;
      }
      f->state = InflightOut::State::AwaitPubcomp;
      f->out.msg.reset();  // only the packet id matters from here on
      worker_->journal_released(s, f->out.seq, a.packet_id);
      send_ack(PacketType::Pubrel, a.packet_id, Reason::Success);
      return;
    }
    case PacketType::Pubrel: {
      auto it = std::find(s.awaiting_pubrel.begin(), s.awaiting_pubrel.end(), a.packet_id);
      if (it == s.awaiting_pubrel.end()) {
        send_ack(PacketType::Pubcomp, a.packet_id, Reason::PacketIdentifierNotFound);
        return;
      }
      s.awaiting_pubrel.erase(it);
      send_ack(PacketType::Pubcomp, a.packet_id, Reason::Success);
      return;
    }
    case PacketType::Pubcomp: {
      if (InflightOut* f = s.inflight.find(a.packet_id, InflightOut::State::AwaitPubcomp)) {
        worker_->journal_done(s, f->out.seq);
        s.inflight.erase(f);
      }
      worker_->pump(s);
      return;
    }
    default:
      return;
  }
}

void MqttConnection::handle_subscribe(const Subscribe& sub) {
  BrokerCore& core = worker_->core();
  Session& s = *session_;
  Suback ack;
  ack.packet_id = sub.packet_id;
  const uint32_t sub_id =
      sub.props.subscription_identifiers.empty() ? 0 : sub.props.subscription_identifiers.front();
  const AclSubject subject{username_, authenticated_, s.client_id};
  std::vector<std::pair<std::string, Subscription>> retained_for;
  for (const TopicFilter& t : sub.topics) {
    if (!valid_topic_filter(t.filter)) {
      ack.reasons.push_back(suback_failure(version_, Reason::TopicFilterInvalid));
      continue;
    }
    std::string_view group;
    std::string_view inner;
    const bool shared = split_shared(t.filter, group, inner);
    if (shared && t.no_local) {
      protocol_violation(Reason::ProtocolError, "no local on a shared subscription");
      return;
    }
    Acl::SubscribeDecision decision{true, false};
    if (core.acl) decision = core.acl->may_subscribe(subject, t.filter);
    if (!decision.allowed) {
      worker_->stats().acl_denied_subscribe.inc();
      ack.reasons.push_back(suback_failure(version_, Reason::NotAuthorized));
      continue;
    }
    Subscription entry;
    entry.session = s.key;
    entry.subscription_id = sub_id;
    entry.qos = t.qos;
    entry.no_local = t.no_local;
    entry.retain_as_published = t.retain_as_published;
    entry.acl_check = decision.needs_delivery_check;
    const bool is_new = worker_->add_subscription(s, t.filter, entry);
    ack.reasons.push_back(static_cast<Reason>(t.qos));
    if (!shared && (t.retain_handling == 0 || (t.retain_handling == 1 && is_new))) {
      retained_for.emplace_back(t.filter, entry);
    }
  }
  send_when_journaled(ack);
  for (const auto& [filter, entry] : retained_for) worker_->send_retained(filter, entry);
}

void MqttConnection::send_when_journaled(const Packet& ack) {
  Journal* journal = worker_->journal();
  if (journal == nullptr || !session_->journaled) {
    send_packet(ack);
    return;
  }
  // A SUBACK/UNSUBACK of a persistent session promises the change survives a crash: it leaves
  // once the journal batch holding the change is durable, in order with the PUBACKs.
  std::string bytes;
  encode(ack, version_, bytes);
  if (!acks_) acks_ = std::make_shared<AckQueue>(this);
  const uint64_t index = acks_->push_packet(std::move(bytes));
  journal->hold(std::make_shared<AckTicket>(acks_, index, loop()));
}

void MqttConnection::send_encoded(std::string_view bytes) {
  worker_->stats().bytes_sent.inc(bytes.size());
  emit(bytes);
}

void MqttConnection::handle_unsubscribe(const Unsubscribe& u) {
  Unsuback ack;
  ack.packet_id = u.packet_id;
  for (const std::string& f : u.filters) {
    const bool removed = worker_->remove_subscription(*session_, f);
    ack.reasons.push_back(removed ? Reason::Success : Reason::NoSubscriptionExisted);
  }
  send_when_journaled(ack);
}

void MqttConnection::handle_disconnect(const Disconnect& d) {
  Session& s = *session_;
  if (version_ == Version::V5 && d.props.session_expiry_interval) {
    if (s.expiry_interval == 0 && *d.props.session_expiry_interval != 0) {
      protocol_violation(Reason::ProtocolError, "session expiry set after connecting with 0");
      return;
    }
    s.expiry_interval =
        std::min(*d.props.session_expiry_interval, worker_->core().limits().max_session_expiry);
  }
  publish_will_ = d.reason == Reason::DisconnectWithWill;
  close();
}

// ---- lifecycle -----------------------------------------------------------------------------

void MqttConnection::on_closed(std::string_view reason) {
  if (acks_) acks_->detach();
  log_debug("connection closed",
            {{"client", session_ ? session_->client_id : std::string("-")}, {"reason", reason}});
  worker_->connection_closed(this, publish_will_);
}

void MqttConnection::on_drained() {
  if (session_ != nullptr && state_ == State::Active) worker_->pump(*session_);
}

}  // namespace verge::mqtt

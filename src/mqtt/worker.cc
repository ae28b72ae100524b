#include "mqtt/worker.h"

#include <malloc.h>

#include <algorithm>

#include "core/log.h"
#include "mqtt/mqtt_connection.h"
#include "mqtt/persistence.h"

namespace verge::mqtt {

namespace {
constexpr uint64_t kConnectTimeoutMs = 10000;
constexpr uint64_t kTickMs = 1000;
constexpr uint64_t kRateResumeMs = 20;
// Deliveries a worker may have waiting from other loops before their publishers are paused:
// about 64 K x ~100 bytes, a few MB, and enough to keep the loop busy for several milliseconds.
constexpr int64_t kInboxLimit = 65536;
}  // namespace

Worker::Worker(BrokerCore& core, net::EventLoop& loop, unsigned index)
    : core_(core), loop_(loop), index_(index) {
  loop_.post([this] {
    loop_.every(kTickMs, [this] { tick(); });
    loop_.every(kRateResumeMs, [this] { resume_paused(); });
  });
}

Worker::~Worker() {
  for (MqttConnection* c : connections_) delete c;
}

// ---- connections ---------------------------------------------------------------------------

void Worker::accept(int fd, const Listener& listener) {
  auto transport = listener.tls ? listener.tls->accept(fd) : net::make_tcp_transport(fd);
  if (!transport) return;
  auto* conn = new MqttConnection(*this, std::move(transport), listener);
  conn->slot_ = connections_.size();
  connections_.push_back(conn);
  stats_.connections_opened.inc();
  stats_.connections.fetch_add(1, std::memory_order_relaxed);
  conn->start();
}

void Worker::remove_connection(MqttConnection* conn) {
  const size_t slot = conn->slot_;
  if (slot >= connections_.size() || connections_[slot] != conn) return;
  connections_[slot] = connections_.back();
  connections_[slot]->slot_ = slot;
  connections_.pop_back();
  stats_.connections.fetch_sub(1, std::memory_order_relaxed);
  core_.connections.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::hand_over(MqttConnection* conn) {
  const unsigned target = core_.worker_for_client(conn->connect_->client_id);
  if (target == index_) {
    attach_session(conn);
    return;
  }
  // The session lives on another loop: move the connection there. Detach after this batch and
  // hand it over only in the next iteration, behind any deferred read of this loop, so nothing
  // here can touch it once the other loop has it.
  conn->pause_input();
  remove_connection(conn);
  core_.connections.fetch_add(1, std::memory_order_relaxed);  // still connected, just moving
  loop_.after_batch([this, conn, target] {
    conn->detach();
    loop_.next_iteration([this, conn, target] {
      Worker* to = core_.workers[target].get();
      to->loop().post([to, conn] { to->adopt(conn); });
    });
  });
}

void Worker::adopt(MqttConnection* conn) {
  conn->worker_ = this;
  conn->slot_ = connections_.size();
  connections_.push_back(conn);
  stats_.connections.fetch_add(1, std::memory_order_relaxed);
  // Join this loop first (input stays unparsed while Migrating), so everything below uses this
  // loop's clock and flush queue.
  conn->attach(loop_);
  if (conn->closed()) return;  // the peer left while moving; connection_closed() cleaned up
  attach_session(conn);
  conn->resume_input();
}

void Worker::attach_session(MqttConnection* conn) {
  Connect& c = *conn->connect_;
  const BrokerLimits& limits = core_.limits();
  auto found = sessions_.find(c.client_id);
  if (found != sessions_.end() && found->second->conn != nullptr) {
    stats_.takeovers.inc();
    found->second->conn->disconnect(Reason::SessionTakenOver, "another connection took over");
    found = sessions_.find(c.client_id);  // the old session may have ended with its connection
  }
  Session* s = found != sessions_.end() ? found->second.get() : nullptr;
  if (s != nullptr && c.clean_start) {
    end_session(s);
    s = nullptr;
  }
  const bool present = s != nullptr;
  if (s == nullptr) {
    auto fresh = std::make_unique<Session>();
    fresh->key = core_.new_session_key(index_);
    fresh->client_id = c.client_id;
    s = fresh.get();
    by_key_[s->key] = s;
    sessions_.emplace(c.client_id, std::move(fresh));
    stats_.sessions_created.inc();
    stats_.sessions.fetch_add(1, std::memory_order_relaxed);
  } else {
    // Reconnected before a delayed will fired: the will is cancelled (spec 3.1.3.2.2).
    s->will_at_ms = 0;
  }
  uint32_t expiry = 0;
  bool expiry_capped = false;
  if (c.version == Version::V5) {
    expiry = c.props.session_expiry_interval.value_or(0);
    if (expiry > limits.max_session_expiry) {
      expiry = limits.max_session_expiry;
      expiry_capped = true;
    }
  } else if (!c.clean_start) {
    expiry = limits.max_session_expiry;  // v3.1.1 persistent sessions: kept up to the cap
  }
  s->conn = conn;
  s->version = c.version;
  s->username = conn->username_;
  s->authenticated = conn->authenticated_;
  s->expiry_interval = expiry;
  s->expires_at_ms = 0;
  s->will = c.will ? std::make_unique<Will>(std::move(*c.will)) : nullptr;
  conn->session_ = s;
  if (journal_) {
    if (expiry > 0 && !s->journaled) {
      s->journaled = true;
      mark_durable(*s, true);
      journal_session(*journal_, *s);  // everything it has so far, from scratch
    } else if (expiry > 0) {
      journal_->put([s](std::string& b) {
        encode_session_put(b, s->client_id, false, s->expiry_interval, s->version, s->username,
                           s->authenticated, s->awaiting_pubrel);
      });
    } else if (s->journaled) {
      s->journaled = false;  // now lives only as long as its connection
      mark_durable(*s, false);
      journal_->put([s](std::string& b) { encode_session_end(b, s->client_id); });
    }
  }

  Connack ack;
  ack.session_present = present;
  if (c.version == Version::V5) {
    ack.props.receive_maximum = limits.max_inflight;
    ack.props.maximum_packet_size = limits.max_packet_size;
    if (limits.max_topic_alias > 0) ack.props.topic_alias_maximum = limits.max_topic_alias;
    if (conn->assigned_id_) ack.props.assigned_client_identifier = c.client_id;
    if (expiry_capped) ack.props.session_expiry_interval = expiry;
    if (conn->server_keep_alive_ != 0) ack.props.server_keep_alive = conn->server_keep_alive_;
  }
  conn->send_packet(ack);
  conn->state_ = MqttConnection::State::Active;
  if (log_enabled(LogLevel::Debug)) {
    log_debug("client connected", {{"client", s->client_id},
                                   {"version", static_cast<int>(c.version)},
                                   {"session_present", present ? "true" : "false"}});
  }
  conn->connect_.reset();  // `c` is gone from here on
  if (present) {
    // Resend what was in flight, in order (spec 4.4).
    s->inflight.for_each([conn](InflightOut& f) {
      if (f.state == InflightOut::State::AwaitPubcomp) {
        conn->send_ack(PacketType::Pubrel, f.packet_id, Reason::Success);
      } else {
        conn->send_publish(f.out, f.packet_id, true);
      }
    });
  }
  pump(*s);
}

void Worker::connection_closed(MqttConnection* conn, bool publish_will) {
  remove_connection(conn);
  stats_.connections_closed.inc();
  Session* s = conn->session_;
  if (s != nullptr && s->conn == conn) {
    s->conn = nullptr;
    if (publish_will && s->will) {
      const uint32_t delay =
          s->version == Version::V5 ? s->will->props.will_delay_interval.value_or(0) : 0;
      if (delay == 0 || s->expiry_interval == 0) {
        publish_will_now(*s);
      } else {
        s->will_at_ms = loop_.now_ms() + uint64_t{delay} * 1000;
      }
    } else {
      s->will.reset();
    }
    if (s->expiry_interval == 0) {
      end_session(s);
    } else {
      if (s->journaled) {  // DISCONNECT may have changed the expiry interval
        journal_->put([s](std::string& b) {
          encode_session_put(b, s->client_id, false, s->expiry_interval, s->version, s->username,
                             s->authenticated, s->awaiting_pubrel);
        });
      }
      s->expires_at_ms = s->expiry_interval == UINT32_MAX
                             ? 0
                             : loop_.now_ms() + uint64_t{s->expiry_interval} * 1000;
    }
  }
  conn->session_ = nullptr;
  if (conn->auth_pending_) return;  // deleted when the password check comes back
  // Not before the next iteration: a deferred read of this connection may still be queued.
  loop_.next_iteration([conn] { delete conn; });
}

void Worker::end_session(Session* s) {
  for (const auto& [filter, sub] : s->subscriptions) core_.subs.unsubscribe(filter, s->key);
  if (s->will && s->will_at_ms != 0) publish_will_now(*s);  // the session ends first
  if (s->journaled) {
    journal_->put([s](std::string& b) { encode_session_end(b, s->client_id); });
  }
  by_key_.erase(s->key);
  stats_.sessions.fetch_sub(1, std::memory_order_relaxed);
  sessions_.erase(s->client_id);
}

void Worker::publish_will_now(Session& s) {
  const Will& w = *s.will;
  const uint64_t expiry = w.props.message_expiry_interval
                              ? loop_.now_ms() + uint64_t{*w.props.message_expiry_interval} * 1000
                              : 0;
  MessageRef msg = Message::make(w.topic, w.payload, w.qos, w.retain,
                                 s.version == Version::V5 ? &w.props : nullptr, expiry, s.key);
  if (w.retain) set_retained(msg);
  stats_.wills_published.inc();
  s.will.reset();
  s.will_at_ms = 0;
  route(msg);
}

// ---- subscriptions -------------------------------------------------------------------------

bool Worker::add_subscription(Session& s, const std::string& filter, const Subscription& given) {
  Subscription sub = given;
  sub.durable = s.journaled;
  s.subscriptions[filter] = sub;
  if (s.journaled) {
    journal_->put([&](std::string& b) { encode_subscribe(b, s.client_id, filter, sub); });
  }
  return core_.subs.subscribe(filter, sub);
}

bool Worker::remove_subscription(Session& s, const std::string& filter) {
  if (s.subscriptions.erase(filter) == 0) return false;
  core_.subs.unsubscribe(filter, s.key);
  if (s.journaled) {
    journal_->put([&](std::string& b) { encode_unsubscribe(b, s.client_id, filter); });
  }
  return true;
}

void Worker::mark_durable(Session& s, bool durable) {
  for (auto& [filter, sub] : s.subscriptions) {
    if (sub.durable == durable) continue;
    sub.durable = durable;
    core_.subs.subscribe(filter, sub);  // replaces the entry
  }
}

void Worker::send_retained(const std::string& filter, const Subscription& sub) {
  std::vector<MessageRef> msgs;
  core_.retained.match(filter, loop_.now_ms(), msgs);
  for (MessageRef& m : msgs) {
    Delivery d{std::move(m), sub, {}, nullptr};
    d.sub.retain_as_published = true;  // retained messages for a new subscription keep RETAIN=1
    d.sub.no_local = false;
    deliver(d);
  }
}

// ---- routing and delivery ------------------------------------------------------------------

void Worker::route(const MessageRef& msg, const TicketRef& ticket) {
  std::vector<Subscription>& m = match_scratch_;
  m.clear();
  core_.subs.match(msg->topic(), m);
  if (m.size() > 1) {
    std::sort(m.begin(), m.end(),
              [](const Subscription& a, const Subscription& b) { return a.session < b.session; });
  }
  for (size_t i = 0; i < m.size();) {
    Delivery d{msg, m[i], {}, nullptr};
    size_t j = i + 1;
    // One session, several matching subscriptions: deliver once with the highest QoS and all
    // subscription identifiers (spec 3.3.4).
    for (; j < m.size() && m[j].session == m[i].session; ++j) {
      d.sub.qos = std::max(d.sub.qos, m[j].qos);
      if (m[j].subscription_id != 0) {
        if (d.sub.subscription_id == 0) {
          d.sub.subscription_id = m[j].subscription_id;
        } else {
          d.more_ids.push_back(m[j].subscription_id);
        }
      }
      d.sub.retain_as_published = d.sub.retain_as_published || m[j].retain_as_published;
      d.sub.no_local = d.sub.no_local && m[j].no_local;
      d.sub.acl_check = d.sub.acl_check || m[j].acl_check;
      d.sub.durable = d.sub.durable || m[j].durable;
    }
    i = j;
    if (d.sub.durable) d.ticket = ticket;  // only persistent sessions make the ack wait
    const unsigned target = BrokerCore::worker_of(d.sub.session);
    if (target == BrokerCore::kLocalWorker) {
      core_.deliver_local(d.sub.session, *msg);
      continue;
    }
    if (target == index_) {
      deliver(d);
      continue;
    }
    if (outboxes_.empty()) outboxes_.resize(core_.workers.size());
    outboxes_[target].push_back(std::move(d));
    if (!outbox_scheduled_) {
      outbox_scheduled_ = true;
      loop_.after_batch([this] { flush_outboxes(); });
    }
  }
}

void Worker::flush_outboxes() {
  outbox_scheduled_ = false;
  for (size_t t = 0; t < outboxes_.size(); ++t) {
    if (outboxes_[t].empty()) continue;
    Worker* to = core_.workers[t].get();
    const auto n = static_cast<int64_t>(outboxes_[t].size());
    to->inbox_.fetch_add(n, std::memory_order_relaxed);
    to->loop().post([to, n, batch = std::move(outboxes_[t])] {
      for (const Delivery& d : batch) to->deliver(d);
      to->inbox_.fetch_sub(n, std::memory_order_relaxed);
    });
    outboxes_[t] = {};
  }
}

void Worker::deliver(const Delivery& d) {
  auto it = by_key_.find(d.sub.session);
  if (it == by_key_.end()) return;  // the session ended meanwhile
  Session& s = *it->second;
  const Message& msg = *d.msg;
  if (msg.expiry_at_ms() != 0 && loop_.now_ms() >= msg.expiry_at_ms()) {
    stats_.dropped_expired.inc();
    return;
  }
  if (d.sub.no_local && msg.publisher_session() == s.key) return;
  if (d.sub.acl_check && core_.acl &&
      !core_.acl->may_receive(AclSubject{s.username, s.authenticated, s.client_id}, msg.topic())) {
    return;
  }
  Outgoing out{d.msg, std::min(msg.qos(), d.sub.qos), d.sub.retain_as_published && msg.retain(),
               d.sub.subscription_id, d.more_ids};
  if (out.qos == 0) {
    if (s.conn == nullptr || s.conn->state() != MqttConnection::State::Active) {
      stats_.dropped_offline_qos0.inc();
      return;
    }
    if (s.conn->queued_bytes() >= core_.limits().max_outbound_bytes) {
      stats_.dropped_outbound_full.inc();  // a slow subscriber: bounded memory, counted loss
      return;
    }
    s.conn->send_publish(out, 0, false);
    return;
  }
  if (s.journaled) {
    out.seq = s.next_seq++;
    journal_->put(
        [&](std::string& b) {
          encode_message(b, JournalType::Enqueue, s.client_id, out.seq, 0, out.qos, out.retain,
                         out.subscription_id, out.more_ids, out.msg.get(), clocks());
        },
        &d.ticket);
  }
  enqueue(s, std::move(out));
  pump(s);
}

void Worker::enqueue(Session& s, Outgoing out) {
  if (!s.queued) s.queued = std::make_unique<std::deque<Outgoing>>();
  if (s.queued->size() >= core_.limits().max_queued_messages) {
    // Drop the oldest: for telemetry the newest value matters most. (With a limit of 0 the
    // queue only holds a message on its way into flight.)
    if (!s.queued->empty()) {
      journal_done(s, s.queued->front().seq);
      s.queued->pop_front();
      stats_.dropped_queue_full.inc();
    }
  }
  s.queued->push_back(std::move(out));
}

void Worker::pump(Session& s) {
  if (s.conn == nullptr || s.conn->state() != MqttConnection::State::Active || !s.queued) return;
  const size_t window = s.conn->receive_window();
  const uint64_t now = loop_.now_ms();
  while (!s.queued->empty() && s.inflight.size() < window) {
    Outgoing out = std::move(s.queued->front());
    s.queued->pop_front();
    if (out.msg->expiry_at_ms() != 0 && now >= out.msg->expiry_at_ms()) {
      stats_.dropped_expired.inc();
      journal_done(s, out.seq);
      continue;
    }
    const uint16_t id = s.take_packet_id();
    if (!s.conn->send_publish(out, id, false)) {
      journal_done(s, out.seq);
      continue;
    }
    const auto state =
        out.qos == 1 ? InflightOut::State::AwaitPuback : InflightOut::State::AwaitPubrec;
    s.inflight.push_back(InflightOut{std::move(out), id, state});
  }
}

// ---- timers --------------------------------------------------------------------------------

void Worker::pause_publisher(MqttConnection* conn) { paused_publishers_.push_back(conn); }

bool Worker::peers_overloaded() const {
  for (const auto& w : core_.workers) {
    if (w.get() != this && w->inbox_.load(std::memory_order_relaxed) > kInboxLimit) return true;
  }
  return false;
}

void Worker::resume_paused() {
  if (paused_publishers_.empty()) return;
  std::vector<MqttConnection*> paused;
  paused.swap(paused_publishers_);
  for (MqttConnection* c : paused) {
    // A closed connection is deleted only after the batch, and it is then not in this list.
    if (std::find(connections_.begin(), connections_.end(), c) == connections_.end()) continue;
    if (!c->closed()) c->resume_input();
  }
}

void Worker::trim_heap_when_calm() {
  // glibc keeps memory freed by thread arenas until it is trimmed, so after a burst (hundreds of
  // MB of queued messages to slow subscribers) RSS would stay at the peak. Trim once traffic has
  // been calm for two ticks; never while busy, since the trim walks the heap under its locks.
  constexpr uint64_t kBusyPerTick = 10000;  // messages or connections per second
  uint64_t traffic = 0;
  for (const auto& w : core_.workers) {
    const WorkerStats& st = w->stats();
    traffic += st.messages_received.get() + st.messages_sent.get() + st.connections_opened.get();
  }
  const uint64_t delta = traffic - last_traffic_;
  last_traffic_ = traffic;
  if (delta > kBusyPerTick) {
    heap_dirty_ = true;
    calm_ticks_ = 0;
    return;
  }
  if (heap_dirty_ && ++calm_ticks_ >= 2) {
    malloc_trim(0);
    heap_dirty_ = false;
  }
}

void Worker::tick() {
  if (index_ == 0) trim_heap_when_calm();
  compact_journal_if_big();
  const uint64_t now = loop_.now_ms();
  std::vector<std::pair<MqttConnection*, bool>> victims;  // (connection, keepalive timeout?)
  for (MqttConnection* c : connections_) {
    if (c->state() == MqttConnection::State::Active) {
      if (c->keep_alive_ != 0 && now - c->last_rx_ms_ > uint64_t{c->keep_alive_} * 1500) {
        victims.emplace_back(c, true);
      }
    } else if (c->state() != MqttConnection::State::Authenticating &&
               c->state() != MqttConnection::State::Migrating &&
               now - c->created_ms_ > kConnectTimeoutMs) {
      victims.emplace_back(c, false);
    }
  }
  for (auto [c, keepalive] : victims) {
    if (keepalive) {
      stats_.keepalive_timeouts.inc();
      c->disconnect(Reason::KeepAliveTimeout, "keep alive timeout");
    } else {
      stats_.connect_timeouts.inc();
      c->close();
    }
  }
  std::vector<Session*> expired;
  for (auto& [id, s] : sessions_) {
    if (s->conn != nullptr) continue;
    if (s->will && s->will_at_ms != 0 && now >= s->will_at_ms) publish_will_now(*s);
    if (s->expires_at_ms != 0 && now >= s->expires_at_ms) expired.push_back(s.get());
  }
  for (Session* s : expired) {
    stats_.sessions_expired.inc();
    end_session(s);
  }
}

}  // namespace verge::mqtt

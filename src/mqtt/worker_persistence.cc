// The Worker's side of persistence: journaling retained messages and acknowledgements, snapshots
// (compaction and shutdown) and restoring sessions at start-up. See docs/mqtt.md, "Persistence".
#include <ctime>

#include "core/log.h"
#include "mqtt/mqtt_connection.h"
#include "mqtt/persistence.h"
#include "mqtt/worker.h"

namespace verge::mqtt {

namespace {
// The journal is rewritten once it is this much larger than its last snapshot (and at least
// kCompactMinBytes): write amplification from compaction stays below 1 / (factor - 1).
constexpr uint64_t kCompactMinBytes = 64ull << 20;
constexpr uint64_t kCompactFactor = 4;

uint64_t wall_now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool journaled_topic(std::string_view topic) { return !topic.starts_with("$SYS"); }
}  // namespace

Clocks Worker::clocks() const { return Clocks{loop_.now_ms(), wall_now_ms()}; }

void Worker::set_retained(const MessageRef& msg, const TicketRef& ticket) {
  // Memory first, here, so a client sees its own retained message at once; the journal record is
  // written by the topic's worker so that a topic's history is in one journal.
  core_.retained.set(msg->topic(), msg);
  if (!journal_ || !journaled_topic(msg->topic())) return;
  const unsigned owner = core_.worker_for_topic(msg->topic());
  if (owner == index_) {
    journal_->put([&](std::string& b) { encode_retain(b, *msg, clocks()); }, &ticket);
    return;
  }
  Worker* to = core_.workers[owner].get();
  to->loop().post([to, msg, ticket] {
    // What memory holds for the topic now, not `msg`: two loops may have set it in the other
    // order, and the journal must end where memory ended.
    MessageRef now = to->core_.retained.get(msg->topic());
    if (!now) now = Message::make(msg->topic(), "", 0, true, nullptr, 0, 0);  // deleted
    to->journal_->put([&](std::string& b) { encode_retain(b, *now, to->clocks()); }, &ticket);
  });
}

void Worker::journal_done(Session& s, uint64_t seq) {
  if (seq == 0 || !s.journaled) return;
  journal_->put([&](std::string& b) { encode_done(b, s.client_id, seq); });
}

void Worker::journal_released(Session& s, uint64_t seq, uint16_t packet_id) {
  if (seq == 0 || !s.journaled) return;
  journal_->put([&](std::string& b) { encode_released(b, s.client_id, seq, packet_id); });
}

void Worker::journal_session(Journal& j, Session& s) {
  const Clocks c = clocks();
  j.put([&](std::string& b) {
    encode_session_put(b, s.client_id, true, s.expiry_interval, s.version, s.username,
                       s.authenticated, s.awaiting_pubrel);
  });
  for (const auto& entry :
       s.subscriptions) {  // not a structured binding: clang 14 cannot capture it
    j.put([&](std::string& b) { encode_subscribe(b, s.client_id, entry.first, entry.second); });
  }
  s.inflight.for_each([&](InflightOut& f) {
    if (f.out.seq == 0) f.out.seq = s.next_seq++;
    if (f.state == InflightOut::State::AwaitPubcomp) {
      j.put([&](std::string& b) { encode_released(b, s.client_id, f.out.seq, f.packet_id); });
      return;
    }
    j.put([&](std::string& b) {
      encode_message(b, JournalType::Inflight, s.client_id, f.out.seq, f.packet_id, f.out.qos,
                     f.out.retain, f.out.subscription_id, f.out.more_ids, f.out.msg.get(), c);
    });
  });
  if (!s.queued) return;
  for (Outgoing& out : *s.queued) {
    if (out.seq == 0) out.seq = s.next_seq++;
    j.put([&](std::string& b) {
      encode_message(b, JournalType::Enqueue, s.client_id, out.seq, 0, out.qos, out.retain,
                     out.subscription_id, out.more_ids, out.msg.get(), c);
    });
  }
}

void Worker::write_snapshot(Journal& j) {
  for (auto& [id, s] : sessions_) {
    if (s->journaled) journal_session(j, *s);
  }
  std::vector<MessageRef> mine;
  core_.retained.for_each([&](const std::string& topic, const MessageRef& msg) {
    if (journaled_topic(topic) && core_.worker_for_topic(topic) == index_) mine.push_back(msg);
  });
  const Clocks c = clocks();
  for (const MessageRef& m : mine) j.put([&](std::string& b) { encode_retain(b, *m, c); });
}

void Worker::set_journal(std::unique_ptr<Journal> journal) {
  journal_ = std::move(journal);
  journal_->set_snapshot_writer([this](Journal& j) { write_snapshot(j); });
  write_snapshot(*journal_);
  journal_->attach(&loop_);
  compact_at_bytes_ = kCompactMinBytes;
}

void Worker::compact_journal_if_big() {
  if (!journal_ || journal_->disk_bytes() < compact_at_bytes_) return;
  auto r = journal_->compact([this](Journal& j) { write_snapshot(j); });
  if (!r) {
    log_warn("journal compaction failed", {{"worker", index_}, {"error", r.error().message}});
    compact_at_bytes_ = journal_->disk_bytes() + kCompactMinBytes;  // not again every tick
    return;
  }
  stats_.journal_compactions.inc();
  // Rewrite again once the journal is kCompactFactor times the live state (the snapshot).
  compact_at_bytes_ = std::max(kCompactMinBytes, *r * kCompactFactor);
}

MessageRef Worker::restore_message(const StoredMessage& m, const Clocks& clocks) {
  Properties props;
  if (m.has_props) {
    props.payload_format_indicator = m.props.payload_format_indicator;
    props.content_type = m.props.content_type;
    props.response_topic = m.props.response_topic;
    props.correlation_data = m.props.correlation_data;
    props.user_properties = m.props.user_properties;
  }
  return Message::make(m.topic, m.payload, m.qos, m.retain, m.has_props ? &props : nullptr,
                       clocks.to_mono(m.expiry_wall_ms), 0);
}

void Worker::restore(RecoveredSession&& r, const Clocks& clocks) {
  auto s = std::make_unique<Session>();
  s->key = core_.new_session_key(index_);
  s->client_id = r.client_id;
  s->username = std::move(r.username);
  s->authenticated = r.authenticated;
  s->version = r.version;
  s->expiry_interval = r.expiry_interval;
  // The offline period restarts with the node: the journal has no clock it could trust more.
  s->expires_at_ms =
      r.expiry_interval == UINT32_MAX ? 0 : clocks.mono_ms + uint64_t{r.expiry_interval} * 1000;
  s->awaiting_pubrel = std::move(r.awaiting_pubrel);
  s->journaled = true;
  for (auto& [filter, sub] : r.subscriptions) {
    Subscription entry = sub;
    entry.session = s->key;
    entry.durable = true;
    s->subscriptions[filter] = entry;
    core_.subs.subscribe(filter, entry);
  }
  for (auto& [seq, m] : r.messages) {
    s->next_seq = std::max(s->next_seq, seq + 1);
    Outgoing out;
    out.qos = m.out_qos;
    out.retain = m.out_retain;
    out.subscription_id = m.subscription_id;
    out.more_ids = std::move(m.more_ids);
    out.seq = seq;
    if (m.released) {
      s->inflight.push_back(
          InflightOut{std::move(out), m.packet_id, InflightOut::State::AwaitPubcomp});
      continue;
    }
    out.msg = restore_message(m.msg, clocks);
    if (m.packet_id != 0 && !s->inflight.contains(m.packet_id)) {
      const auto state =
          out.qos == 1 ? InflightOut::State::AwaitPuback : InflightOut::State::AwaitPubrec;
      s->inflight.push_back(InflightOut{std::move(out), m.packet_id, state});
      continue;
    }
    if (!s->queued) s->queued = std::make_unique<std::deque<Outgoing>>();
    s->queued->push_back(std::move(out));
  }
  by_key_[s->key] = s.get();
  stats_.sessions.fetch_add(1, std::memory_order_relaxed);
  sessions_.emplace(s->client_id, std::move(s));
}

void Worker::disconnect_user(const std::string& username) {
  std::vector<MqttConnection*> all = connections_;
  for (MqttConnection* c : all) {
    if (c->authenticated_ && c->username_ == username) {
      c->disconnect(Reason::NotAuthorized, "access revoked");
    }
  }
}

void Worker::shutdown() {
  std::vector<MqttConnection*> all = connections_;
  for (MqttConnection* c : all) c->disconnect(Reason::ServerShuttingDown, "server shutting down");
  if (!journal_) return;
  // A final snapshot records what only memory knows (packet ids in flight, inbound QoS 2 state),
  // so a clean restart resumes exactly; synchronously, since the loop is about to stop.
  journal_->attach(nullptr);
  auto r = journal_->compact([this](Journal& j) { write_snapshot(j); });
  if (!r)
    log_error("final journal snapshot failed", {{"worker", index_}, {"error", r.error().message}});
}

}  // namespace verge::mqtt

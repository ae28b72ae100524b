#include "mqtt/broker.h"
#include "mqtt/topic.h"

#include <unistd.h>

#include <future>
#include <thread>

#include "core/log.h"
#include "mqtt/broker_core.h"
#include "mqtt/persistence.h"
#include "mqtt/sys_topics.h"
#include "mqtt/worker.h"
#include "net/socket.h"

namespace verge::mqtt {

namespace {

uint64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t wall_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Replays the journals into the workers and starts a new generation with their snapshots
// (persistence.h). Runs before the loops do.
Result<void> open_persistence(BrokerCore& core) {
  const uint64_t t0 = monotonic_ms();
  const std::string dir = core.cfg.data_dir + "/mqtt";
  auto state = JournalGeneration::load(dir);
  if (!state) return unexpected(Error{"broker state in " + dir + ": " + state.error().message});
  const Clocks clocks{monotonic_ms(), wall_ms()};
  uint64_t messages = 0;
  const size_t sessions = state->sessions.size();
  for (auto& [id, rs] : state->sessions) {
    messages += rs.messages.size();
    core.workers[core.worker_for_client(id)]->restore(std::move(rs), clocks);
  }
  for (const auto& [topic, m] : state->retained) {
    MessageRef msg = Worker::restore_message(m, clocks);
    if (msg->expiry_at_ms() == 0 || msg->expiry_at_ms() > clocks.mono_ms) {
      core.retained.set(topic, msg);
    }
  }
  auto gen = JournalGeneration::create(dir, static_cast<unsigned>(core.workers.size()),
                                       core.cfg.durability, core.cfg.limits.max_packet_size);
  if (!gen) return unexpected(Error{"broker state in " + dir + ": " + gen.error().message});
  for (size_t i = 0; i < core.workers.size(); ++i) {
    core.workers[i]->set_journal(std::move(gen->journals()[i]));
    auto flushed = core.workers[i]->journal()->flush();
    if (!flushed)
      return unexpected(Error{"broker state in " + dir + ": " + flushed.error().message});
  }
  auto published = gen->publish();
  if (!published) {
    return unexpected(Error{"broker state in " + dir + ": " + published.error().message});
  }
  core.persistent = true;
  log_info("broker state recovered", {{"dir", dir},
                                      {"sessions", sessions},
                                      {"queued_messages", messages},
                                      {"retained", state->retained.size()},
                                      {"records", state->records},
                                      {"skipped_records", state->bad_records},
                                      {"ms", monotonic_ms() - t0}});
  return {};
}

}  // namespace

Result<std::unique_ptr<Broker>> Broker::create(const EdgeConfig& cfg, net::LoopGroup& loops,
                                               BrokerHooks hooks) {
  std::unique_ptr<Broker> broker(new Broker());
  broker->core_ = std::make_unique<BrokerCore>(cfg);
  BrokerCore& core = *broker->core_;
  core.hooks = std::move(hooks);
  core.start_ms = monotonic_ms();

  if (!cfg.password_file.empty()) {
    auto pw = PasswordFile::load(cfg.password_file);
    if (!pw) return unexpected(pw.error());
    log_info("password file loaded", {{"file", cfg.password_file}, {"users", pw->size()}});
    core.auth = std::make_unique<AuthService>(std::move(*pw));
  }
  if (!cfg.acl_file.empty()) {
    auto acl = Acl::load(cfg.acl_file);
    if (!acl) return unexpected(acl.error());
    log_info("acl loaded", {{"file", cfg.acl_file}, {"rules", acl->size()}});
    core.acl = std::move(*acl);
  }
  std::shared_ptr<net::TlsContext> tls;
  if (cfg.mqtts_listen || cfg.wss_listen) {
    auto ctx = net::TlsContext::create(cfg.tls);
    if (!ctx) return unexpected(ctx.error());
    tls = *ctx;
  }

  for (size_t i = 0; i < loops.size(); ++i) {
    core.workers.push_back(std::make_unique<Worker>(core, loops.loop(i), static_cast<unsigned>(i)));
  }
  if (cfg.persistence) {
    auto r = open_persistence(core);
    if (!r) return unexpected(r.error());
  }

  struct Spec {
    const char* kind;
    const std::optional<ListenAddress>& addr;
    bool websocket;
    bool secure;
  };
  const Spec specs[] = {{"mqtt", cfg.mqtt_listen, false, false},
                        {"mqtts", cfg.mqtts_listen, false, true},
                        {"ws", cfg.ws_listen, true, false},
                        {"wss", cfg.wss_listen, true, true}};
  for (const Spec& spec : specs) {
    if (!spec.addr) continue;
    auto sock = net::listen_tcp(*spec.addr);
    if (!sock)
      return unexpected(Error{std::string(spec.kind) + "-listen: " + sock.error().message});
    auto l = std::make_unique<Listener>();
    l->kind = spec.kind;
    l->websocket = spec.websocket;
    if (spec.secure) l->tls = tls;
    l->allow_anonymous = cfg.allow_anonymous.value_or(net::is_loopback_host(spec.addr->host));
    Listener* raw = l.get();
    BrokerCore* core_ptr = &core;
    l->acceptor = std::make_unique<net::Acceptor>(
        loops, *sock, cfg.limits.max_connect_rate, [core_ptr, raw](net::EventLoop& loop, int fd) {
          Worker& w = *core_ptr->workers[loop.index()];
          if (core_ptr->connections.fetch_add(1, std::memory_order_relaxed) >=
              core_ptr->limits().max_connections) {
            core_ptr->connections.fetch_sub(1, std::memory_order_relaxed);
            w.stats().connections_refused_limit.inc();
            ::close(fd);
            return;
          }
          w.accept(fd, *raw);
        });
    broker->listeners_.push_back(ListenerInfo{spec.kind, sock->address, l->allow_anonymous});
    log_info("listening", {{"listener", spec.kind},
                           {"addr", to_string(sock->address)},
                           {"anonymous", l->allow_anonymous ? "allowed" : "denied"}});
    if (l->allow_anonymous && !net::is_loopback_host(spec.addr->host)) {
      log_warn("anonymous clients are allowed on a non-loopback listener",
               {{"listener", spec.kind}, {"addr", to_string(sock->address)}});
    }
    core.listeners.push_back(std::move(l));
  }

  if (cfg.limits.sys_interval > 0) start_sys_topics(*core.workers[0]);
  return broker;
}

Broker::~Broker() {
  if (core_ && core_->auth) core_->auth->stop();
  if (core_) {
    core_->listeners.clear();  // acceptors first: no new connections
    core_->workers.clear();
  }
}

void Broker::publish(std::string_view topic, std::string_view payload, uint8_t qos, bool retain) {
  MessageRef msg = Message::make(topic, payload, qos, retain, nullptr, 0, 0);
  Worker* w = core_->workers[0].get();
  w->loop().post([w, msg] {
    if (msg->retain()) w->set_retained(msg);
    w->route(msg);
  });
}

uint64_t Broker::subscribe_local(std::string_view filter, LocalHandler handler,
                                 bool with_retained) {
  if (!valid_topic_filter(filter) || filter.starts_with("$share/")) return 0;
  const uint64_t key = core_->new_session_key(BrokerCore::kLocalWorker);
  {
    std::lock_guard lock(core_->local_mutex);
    core_->local[key] = BrokerCore::LocalSubscriber{
        std::string(filter), std::make_shared<const LocalHandler>(std::move(handler))};
  }
  Subscription sub;
  sub.session = key;
  core_->subs.subscribe(filter, sub);
  if (with_retained) {
    std::vector<MessageRef> msgs;
    core_->retained.match(filter, monotonic_ms(), msgs);
    for (const MessageRef& m : msgs) core_->deliver_local(key, *m);
  }
  return key;
}

void Broker::unsubscribe_local(uint64_t id) {
  std::string filter;
  std::shared_ptr<const LocalHandler> handler;
  {
    std::lock_guard lock(core_->local_mutex);
    auto it = core_->local.find(id);
    if (it == core_->local.end()) return;
    filter = std::move(it->second.filter);
    handler = std::move(it->second.handler);
    core_->local.erase(it);
  }
  core_->subs.unsubscribe(filter, id);
  // Deliveries that took the handler before the erase may still be running it: wait for them
  // (handlers only queue the message, so this is short).
  while (handler.use_count() > 1) std::this_thread::yield();
}

BrokerSnapshot Broker::snapshot() const {
  BrokerSnapshot s;
  s.subscriptions = core_->subs.size();
  s.retained = core_->retained.size();
  for (const auto& w : core_->workers) {
    WorkerStats& st = w->stats();
    s.connections += static_cast<uint64_t>(std::max<int64_t>(0, st.connections.load()));
    s.sessions += static_cast<uint64_t>(std::max<int64_t>(0, st.sessions.load()));
    s.connections_opened += st.connections_opened.get();
    s.messages_received += st.messages_received.get();
    s.messages_sent += st.messages_sent.get();
    s.bytes_received += st.bytes_received.get();
    s.bytes_sent += st.bytes_sent.get();
    s.dropped += st.dropped_outbound_full.get() + st.dropped_queue_full.get() +
                 st.dropped_expired.get() + st.dropped_too_large.get();
  }
  return s;
}

void Broker::register_metrics(metrics::Registry& registry) {
  BrokerCore* core = core_.get();
  registry.add_collector([core](metrics::Exposition& e) {
    auto sum = [core](auto field) {
      double total = 0;
      for (const auto& w : core->workers) total += static_cast<double>((w->stats().*field).get());
      return total;
    };
    auto counter = [&](const char* name, const char* help, auto field,
                       metrics::Labels labels = {}) { e.counter(name, help, labels, sum(field)); };
    double connections = 0;
    double sessions = 0;
    for (const auto& w : core->workers) {
      connections += static_cast<double>(w->stats().connections.load());
      sessions += static_cast<double>(w->stats().sessions.load());
    }
    e.gauge("verge_mqtt_connections", "Open MQTT connections", {}, connections);
    e.gauge("verge_mqtt_sessions", "MQTT sessions (online and offline)", {}, sessions);
    e.gauge("verge_mqtt_subscriptions", "Subscriptions in the topic tree", {},
            static_cast<double>(core->subs.size()));
    e.gauge("verge_mqtt_retained_messages", "Retained messages", {},
            static_cast<double>(core->retained.size()));
    counter("verge_mqtt_connections_opened_total", "Accepted MQTT connections",
            &WorkerStats::connections_opened);
    counter("verge_mqtt_messages_received_total", "PUBLISH packets received",
            &WorkerStats::messages_received);
    counter("verge_mqtt_messages_sent_total", "PUBLISH packets sent", &WorkerStats::messages_sent);
    counter("verge_mqtt_bytes_received_total", "MQTT bytes received", &WorkerStats::bytes_received);
    counter("verge_mqtt_bytes_sent_total", "MQTT bytes sent", &WorkerStats::bytes_sent);
    const char* dropped = "Messages not delivered, by reason";
    counter("verge_mqtt_dropped_messages_total", dropped, &WorkerStats::dropped_outbound_full,
            {{"reason", "outbound_full"}});
    counter("verge_mqtt_dropped_messages_total", dropped, &WorkerStats::dropped_queue_full,
            {{"reason", "queue_full"}});
    counter("verge_mqtt_dropped_messages_total", dropped, &WorkerStats::dropped_expired,
            {{"reason", "expired"}});
    counter("verge_mqtt_dropped_messages_total", dropped, &WorkerStats::dropped_too_large,
            {{"reason", "too_large"}});
    counter("verge_mqtt_dropped_messages_total", dropped, &WorkerStats::dropped_offline_qos0,
            {{"reason", "offline_qos0"}});
    const char* bad = "Connections closed for bad input, by reason";
    counter("verge_mqtt_bad_packets_total", bad, &WorkerStats::malformed_packets,
            {{"reason", "malformed"}});
    counter("verge_mqtt_bad_packets_total", bad, &WorkerStats::protocol_errors,
            {{"reason", "protocol_error"}});
    const char* denied = "Requests refused by authentication, authorisation or limits";
    counter("verge_mqtt_denied_total", denied, &WorkerStats::auth_failures,
            {{"reason", "bad_credentials"}});
    counter("verge_mqtt_denied_total", denied, &WorkerStats::not_authorized_connect,
            {{"reason", "anonymous"}});
    counter("verge_mqtt_denied_total", denied, &WorkerStats::acl_denied_publish,
            {{"reason", "acl_publish"}});
    counter("verge_mqtt_denied_total", denied, &WorkerStats::acl_denied_subscribe,
            {{"reason", "acl_subscribe"}});
    counter("verge_mqtt_denied_total", denied, &WorkerStats::rate_limited_publish,
            {{"reason", "publish_rate"}});
    counter("verge_mqtt_denied_total", denied, &WorkerStats::connections_refused_limit,
            {{"reason", "max_connections"}});
    double rate_limited = 0;
    double no_fds = 0;
    for (const auto& l : core->listeners) {
      rate_limited += static_cast<double>(l->acceptor->rate_limited());
      no_fds += static_cast<double>(l->acceptor->fd_exhausted());
    }
    e.counter("verge_mqtt_denied_total", denied, {{"reason", "connect_rate"}}, rate_limited);
    e.counter("verge_mqtt_denied_total", denied, {{"reason", "out_of_fds"}}, no_fds);
    const char* closed = "Connections closed by the server, by reason";
    counter("verge_mqtt_server_closes_total", closed, &WorkerStats::keepalive_timeouts,
            {{"reason", "keepalive"}});
    counter("verge_mqtt_server_closes_total", closed, &WorkerStats::connect_timeouts,
            {{"reason", "connect_timeout"}});
    counter("verge_mqtt_server_closes_total", closed, &WorkerStats::takeovers,
            {{"reason", "session_taken_over"}});
    counter("verge_mqtt_backpressure_pauses_total",
            "Times a publisher was not read because another loop was behind with deliveries",
            &WorkerStats::backpressure_pauses);
    counter("verge_mqtt_wills_published_total", "Will messages published",
            &WorkerStats::wills_published);
    counter("verge_mqtt_sessions_expired_total", "Sessions ended by expiry",
            &WorkerStats::sessions_expired);
    counter("verge_mqtt_publish_store_failures_total",
            "QoS 1/2 messages acknowledged with an error because the journal could not store them",
            &WorkerStats::publish_store_failed);
    counter("verge_mqtt_journal_compactions_total",
            "Journals rewritten as a snapshot of the live state",
            &WorkerStats::journal_compactions);
  });
  for (const auto& w : core->workers) {
    if (w->journal() != nullptr) {
      w->journal()->log().register_metrics(registry, "mqtt-w" + std::to_string(w->index()));
    }
  }
}

void Broker::shutdown() {
  std::vector<std::future<void>> done;
  for (auto& w : core_->workers) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    Worker* raw = w.get();
    raw->loop().post([raw, p] {
      raw->shutdown();
      // Report back only after the deferred deletions of the closed connections have run.
      raw->loop().next_iteration([p] { p->set_value(); });
    });
  }
  for (auto& f : done) f.wait();
}

void Broker::disconnect_user(std::string_view username) {
  for (auto& w : core_->workers) {
    Worker* raw = w.get();
    raw->loop().post([raw, user = std::string(username)] { raw->disconnect_user(user); });
  }
}

}  // namespace verge::mqtt

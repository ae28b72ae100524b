// The edge agent: enrolment, the mutual-TLS link to the hub, heartbeats, the devices list, the
// uplink (uplink_sender.h) and desired state (desired_apply.h). Everything that touches the MQTT
// client runs on loop 0; status() and the metrics read atomics and the sender's locked stats.
#include "sync/edge_agent.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>

#include "core/clock.h"
#include "core/log.h"
#include "devices/manager.h"
#include "mqtt/broker.h"
#include "mqtt/client.h"
#include "net/timer_queue.h"
#include "net/tls_client.h"
#include "rules/uplink.h"
#include "sync/desired_apply.h"
#include "sync/edge_credentials.h"
#include "sync/edge_enrol.h"
#include "sync/edge_files.h"
#include "sync/edge_status.h"
#include "sync/pki.h"
#include "sync/topics.h"
#include "sync/uplink_sender.h"

namespace verge::sync {

namespace {

constexpr uint64_t kTickMs = 20;        // sender ticks: linger, commits, ack timeouts
constexpr uint64_t kDiscoverMs = 1000;  // new uplink streams (rules create them on first append)
constexpr size_t kMaxQueuedBytes = size_t{8} << 20;  // on the socket: beyond, batches wait
constexpr uint64_t kStopWaitMs = 10'000;

uint64_t steady_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

Result<std::pair<std::string, uint16_t>> parse_hub(std::string_view hub) {
  const auto colon = hub.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == hub.size()) {
    return unexpected(Error{"hub: expected HOST:PORT, got '" + std::string(hub) + "'"});
  }
  std::string host(hub.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:8883
  }
  uint32_t port = 0;
  for (char c : hub.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      return unexpected(Error{"hub: bad port in '" + std::string(hub) + "'"});
    }
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) {
    return unexpected(Error{"hub: bad port in '" + std::string(hub) + "'"});
  }
  return std::make_pair(std::move(host), static_cast<uint16_t>(port));
}

}  // namespace

// Named (not anonymous) types: EdgeAgent::Impl, which has external linkage, holds them.

// The sender's link: the MQTT client to the hub, QoS 1 per batch.
class EdgeClientTransport final : public UplinkTransport {
 public:
  std::string node;
  mqtt::Client* client = nullptr;  // loop thread only
  std::atomic<uint64_t> publish_failed{0};

  bool ready() const override {
    return client != nullptr && client->connected() && client->queued_bytes() < kMaxQueuedBytes;
  }
  void send(const std::string& stream, uint64_t, uint64_t, std::string batch) override {
    // A failed publish needs nothing here: a lost link rewinds the sender, a refused batch is
    // sent again at the ack timeout.
    client->publish(topics::data(node, stream), batch, 1, false,
                    [this](const mqtt::PublishResult& r) {
                      if (!r.ok()) publish_failed.fetch_add(1, std::memory_order_relaxed);
                    });
  }
};

// What the metrics collector reads; outlives the agent if the registry does.
struct EdgeMetricsHook {
  std::mutex mu;
  EdgeAgent::Impl* impl = nullptr;
};

struct EdgeAgent::Impl {
  EdgeAgentOptions o;
  std::string sync_dir, host;
  uint16_t port = 0;
  net::EventLoop* loop = nullptr;
  std::string node_id, token_text;
  std::optional<EnrolToken> token;
  std::optional<NodeCredentials> creds;
  std::unique_ptr<DesiredApplier> applier;
  EdgeClientTransport transport;
  std::unique_ptr<UplinkSender> sender;
  std::unique_ptr<ProcessSampler> sampler;
  uint64_t started_steady_ms = 0;

  // Loop thread only.
  std::unique_ptr<net::TimerQueue> timers;
  std::unique_ptr<mqtt::Client> client;
  std::unique_ptr<EdgeEnrolment> enrolment;
  uint64_t last_heartbeat_ms = 0, last_discover_ms = 0;
  std::string last_devices;

  // Any thread.
  std::atomic<bool> connected{false}, enrolled{false}, stopping{false};
  std::atomic<int64_t> applied_version{0};
  std::atomic<uint64_t> connects{0}, heartbeats{0}, acks{0}, bad_acks{0}, desired_docs{0};
  std::shared_ptr<std::atomic<uint64_t>> append_errors = std::make_shared<std::atomic<uint64_t>>(0);
  uint64_t alarms_sub = 0, samples_sub = 0;
  mutable std::mutex mu;  // guards last_error, last_report
  std::string last_error;
  Value last_report;
  std::shared_ptr<EdgeMetricsHook> hook = std::make_shared<EdgeMetricsHook>();

  void set_error(std::string_view e) {
    std::lock_guard lock(mu);
    last_error = std::string(e);
  }

  // ---- loop thread ----
  void loop_start() {
    timers = std::make_unique<net::TimerQueue>(*loop);
    if (creds) {
      connect_main();
    } else {
      start_enrolment();
    }
    schedule_tick();
  }

  void schedule_tick() {
    timers->after(kTickMs, [this] {
      on_tick();
      if (timers) schedule_tick();
    });
  }

  void on_tick() {
    const uint64_t now = steady_ms();
    if (now >= last_discover_ms + kDiscoverMs) {
      last_discover_ms = now;
      discover_streams();
    }
    sender->tick(now);
    if (connected && now >= last_heartbeat_ms + o.heartbeat_ms) {
      send_heartbeat(now);
      send_devices();
    }
  }

  void discover_streams() {
    if (o.streams == nullptr) return;
    for (const auto& name : o.streams->names()) {
      if (sender->has_stream(name)) continue;
      auto log = o.streams->log(name);
      if (log) sender->add_stream(name, *log);
    }
  }

  void start_enrolment() {
    EnrolRequest req;
    req.host = host;
    req.port = port;
    req.hub = o.hub;
    req.token_text = token_text;
    req.token = *token;
    auto e = EdgeEnrolment::start(
        *loop, std::move(req), [this](Result<NodeCredentials> r) { on_enrolled(std::move(r)); },
        [this](std::string_view reason) { set_error(reason); });
    if (!e) {
      log_error("enrolment cannot start", {{"error", e.error().message}});
      set_error(e.error().message);
      return;
    }
    enrolment = std::move(*e);
  }

  void on_enrolled(Result<NodeCredentials> r) {
    // Inside the enrolment client's handler: it is released in the next iteration.
    loop->next_iteration([this] { enrolment.reset(); });
    if (!r) {
      // A refusal or a mismatched CA does not get better by retrying: the operator must act.
      log_error("enrolment failed", {{"node", node_id}, {"error", r.error().message}});
      set_error(r.error().message);
      return;
    }
    if (auto saved = save_credentials(sync_dir, *r); !saved) {
      log_error("cannot store the node's credentials", {{"error", saved.error().message}});
      set_error(saved.error().message);
      return;
    }
    log_info("enrolled with the hub", {{"node", node_id}, {"hub", o.hub}});
    creds = std::move(*r);
    enrolled = true;
    loop->next_iteration([this] {
      if (!stopping) connect_main();
    });
  }

  void connect_main() {
    net::TlsClientSettings tls;
    tls.ca_pem = creds->ca_pem;
    tls.cert_pem = creds->cert_pem;
    tls.key_pem = creds->key_pem;
    auto ctx = net::TlsClientContext::create(tls);
    if (!ctx) {
      log_error("the node's credentials cannot be used", {{"error", ctx.error().message}});
      set_error(ctx.error().message);
      return;
    }
    mqtt::ClientOptions co;
    co.host = host;
    co.port = port;
    co.tls = *ctx;
    co.client_id = node_id;
    co.will_topic = topics::status(node_id);
    co.will_payload = R"({"online":false})";
    co.will_qos = 1;
    mqtt::ClientHandlers h;
    h.on_connected = [this](const mqtt::ConnackInfo&) { on_connected(); };
    h.on_disconnected = [this](std::string_view reason) { on_disconnected(reason); };
    h.on_message = [this](std::string_view topic, std::string_view payload, bool) {
      on_message(topic, payload);
    };
    client = std::make_unique<mqtt::Client>(*loop, std::move(co), std::move(h));
    client->subscribe(topics::ack(node_id), 1);
    client->subscribe(topics::desired(node_id), 1);
    transport.client = client.get();
    client->start();
  }

  void on_connected() {
    connected = true;
    connects.fetch_add(1, std::memory_order_relaxed);
    set_error("");
    log_info("connected to the hub", {{"node", node_id}, {"hub", o.hub}});
    const uint64_t now = steady_ms();
    send_heartbeat(now);
    last_devices.clear();  // the hub may have lost it: send again
    send_devices();
    sender->pump(now);
  }

  void on_disconnected(std::string_view reason) {
    if (connected) log_warn("lost the hub", {{"node", node_id}, {"reason", reason}});
    connected = false;
    set_error(reason);
    sender->on_disconnected();
  }

  void on_message(std::string_view topic, std::string_view payload) {
    if (topic == topics::ack(node_id)) {
      on_ack(payload);
    } else if (topic == topics::desired(node_id)) {
      apply_desired(payload);
    }
  }

  void on_ack(std::string_view payload) {
    auto doc = parse_json(payload);
    const Value* stream = doc ? doc->find("stream") : nullptr;
    const Value* next = doc ? doc->find("next") : nullptr;
    if (stream == nullptr || !stream->is_string() || next == nullptr || !next->is_int() ||
        next->as_int() < 0) {
      bad_acks.fetch_add(1, std::memory_order_relaxed);
      log_warn("bad ack from the hub", {{"payload", payload.substr(0, 200)}});
      return;
    }
    acks.fetch_add(1, std::memory_order_relaxed);
    if (const Value* q = doc->find("quarantined");
        q != nullptr && q->is_array() && !q->as_array().empty()) {
      log_warn("the hub quarantined uplink records",
               {{"stream", stream->as_string()}, {"records", q->to_json()}});
    }
    sender->on_ack(stream->as_string(), static_cast<uint64_t>(next->as_int()), steady_ms());
  }

  void apply_desired(std::string_view payload) {
    if (payload.empty()) return;  // retained message cleared: keep what runs
    desired_docs.fetch_add(1, std::memory_order_relaxed);
    Value report;
    auto doc = parse_json(payload);
    if (!doc) {
      report = failure_report(0, "desired: not JSON: " + doc.error().message);
    } else {
      auto r = applier->apply(*doc);
      if (!r) {
        const Value* v = doc->find("version");
        report = failure_report(v != nullptr && v->is_int() ? v->as_int() : 0, r.error().message);
      } else {
        report = r->to_value();
        applied_version = applier->applied_version();
        for (const auto& f : r->failed) {
          log_warn("desired item not applied", {{"item", f.item}, {"error", f.error}});
        }
        log_info("desired state applied", {{"version", r->version},
                                           {"changed", r->applied.size()},
                                           {"failed", r->failed.size()}});
      }
    }
    {
      std::lock_guard lock(mu);
      last_report = report;
    }
    if (client) client->publish(topics::report(node_id), report.to_json(), 1, false);
  }

  static Value failure_report(int64_t version, const std::string& error) {
    log_warn("desired state refused", {{"error", error}});
    return Value(ValueObject{
        {"version", version},
        {"applied", ValueArray{}},
        {"unchanged", 0},
        {"failed", ValueArray{Value(ValueObject{{"item", "document"}, {"error", error}})}}});
  }

  void send_heartbeat(uint64_t now) {
    last_heartbeat_ms = now;
    if (!client) return;
    client->publish(topics::status(node_id), heartbeat().to_json(), 0, false);
    heartbeats.fetch_add(1, std::memory_order_relaxed);
  }

  Value heartbeat() {
    ValueObject doc{
        {"online", true},
        {"node", node_id},
        {"version", o.version},
        {"ts_ms", wall_ms()},
        {"uptime_s", static_cast<int64_t>((steady_ms() - started_steady_ms) / 1000)},
        {"desired_version", applied_version.load()},
    };
    const Value proc = sampler->sample();
    for (const auto& m : proc.as_object()) doc.push_back(m);
    doc.emplace_back("streams", streams_value());
    return Value(std::move(doc));
  }

  Value streams_value() const {
    ValueArray out;
    for (const auto& s : sender->stats(wall_ms())) out.push_back(s.to_value());
    return Value(std::move(out));
  }

  void send_devices() {
    if (o.devices == nullptr || !client) return;
    std::string list = o.devices->list_devices().to_json();
    if (list == last_devices) return;
    client->publish(topics::devices(node_id), list, 1, false);
    last_devices = std::move(list);
  }

  void teardown_on_loop() {
    sender->flush_commits(steady_ms());
    if (client) client->stop();
    transport.client = nullptr;
    client.reset();
    enrolment.reset();
    timers.reset();
    connected = false;
  }

  void collect(metrics::Exposition& e) const;
};

void EdgeAgent::Impl::collect(metrics::Exposition& e) const {
  e.gauge("verge_sync_connected", "1 while the node is connected to its hub", {},
          connected ? 1 : 0);
  e.gauge("verge_sync_enrolled", "1 once the node holds its certificate", {}, enrolled ? 1 : 0);
  e.counter("verge_sync_connects_total", "Connections made to the hub", {},
            static_cast<double>(connects.load()));
  e.counter("verge_sync_heartbeats_total", "Heartbeats sent", {},
            static_cast<double>(heartbeats.load()));
  e.counter("verge_sync_acks_total", "Acks received from the hub", {},
            static_cast<double>(acks.load()));
  e.counter("verge_sync_bad_acks_total", "Malformed acks from the hub", {},
            static_cast<double>(bad_acks.load()));
  e.counter("verge_sync_publish_failed_total", "Uplink batches the link did not deliver", {},
            static_cast<double>(transport.publish_failed.load()));
  e.counter("verge_sync_append_errors_total", "Alarms or samples not appended to their stream", {},
            static_cast<double>(append_errors->load()));
  e.gauge("verge_sync_desired_version", "The applied desired-state version", {},
          static_cast<double>(applied_version.load()));
  for (const auto& s : sender->stats(wall_ms())) {
    const metrics::Labels l = {{"stream", s.stream}};
    auto c = [&](std::string_view name, std::string_view help, uint64_t v) {
      e.counter(name, help, l, static_cast<double>(v));
    };
    c("verge_sync_batches_sent_total", "Uplink batches sent", s.batches_sent);
    c("verge_sync_records_sent_total", "Uplink records sent (resends included)", s.records_sent);
    c("verge_sync_records_acked_total", "Uplink records stored at the hub and committed",
      s.records_acked);
    c("verge_sync_records_resent_total", "Uplink records sent again", s.records_resent);
    c("verge_sync_records_quarantined_total", "Uplink records quarantined at the node",
      s.quarantined);
    c("verge_sync_records_dropped_total", "Uplink records dropped by retention before sending",
      s.dropped);
    c("verge_sync_bytes_produced_total", "Payload bytes appended to the uplink stream",
      s.bytes_produced);
    c("verge_sync_bytes_sent_total", "Encoded uplink bytes sent", s.bytes_sent);
    e.gauge("verge_sync_backlog_records", "Uplink records not yet acknowledged", l,
            static_cast<double>(s.backlog_records));
    e.gauge("verge_sync_backlog_bytes", "Uplink payload bytes not yet acknowledged (estimate)", l,
            static_cast<double>(s.backlog_bytes));
    e.gauge("verge_sync_oldest_age_seconds", "Age of the oldest unacknowledged record", l,
            static_cast<double>(s.oldest_age_ms) / 1000.0);
    e.gauge("verge_sync_drain_rate", "Records acknowledged per second (last 10 s)", l,
            s.drain_rate);
    if (s.eta_s >= 0) {
      e.gauge("verge_sync_eta_seconds", "Estimated time to drain the backlog", l, s.eta_s);
    }
  }
}

Result<std::unique_ptr<EdgeAgent>> EdgeAgent::start(EdgeAgentOptions options) {
  if (options.loops == nullptr || options.loops->size() == 0) {
    return unexpected(Error{"sync: no event loops"});
  }
  if (options.data_dir.empty()) return unexpected(Error{"sync: no data directory"});
  auto hub = parse_hub(options.hub);
  if (!hub) return unexpected(hub.error());

  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.o = std::move(options);
  m.host = hub->first;
  m.port = hub->second;
  m.loop = &m.o.loops->loop(0);
  m.sync_dir = m.o.data_dir + "/sync";
  m.started_steady_ms = steady_ms();
  if (auto r = make_private_dir(m.sync_dir); !r) return unexpected(r.error());

  auto creds = load_credentials(m.sync_dir);
  if (!creds) return unexpected(creds.error());
  if (*creds) {
    m.creds = std::move(**creds);
    m.node_id = m.creds->node_id;
    m.enrolled = true;
  } else {
    if (m.o.token.empty()) return unexpected(Error{"not enrolled: pass --token"});
    auto t = parse_enrol_token(m.o.token);
    if (!t) return unexpected(t.error());
    m.token = std::move(*t);
    m.token_text = m.o.token;
    m.node_id = m.token->node_id;
  }
  m.transport.node = m.node_id;

  // The last applied desired state runs before any connection: a node without its hub keeps
  // running what it ran.
  m.applier = std::make_unique<DesiredApplier>(m.sync_dir, m.o.devices, m.o.rules);
  auto restored = m.applier->restore();
  if (!restored) return unexpected(restored.error());
  for (const auto& f : restored->failed) {
    log_warn("restored desired item not applied", {{"item", f.item}, {"error", f.error}});
  }
  m.applied_version = m.applier->applied_version();
  if (m.applied_version > 0) {
    log_info("desired state restored",
             {{"version", m.applied_version.load()}, {"items", restored->applied.size()}});
  }

  m.sampler = std::make_unique<ProcessSampler>(m.o.data_dir);
  m.sender =
      std::make_unique<UplinkSender>(m.o.uplink, m.transport, m.sync_dir + "/quarantine.jsonl");
  if (m.o.streams != nullptr) {
    // Opened now so the sender serves them from the start.
    for (std::string_view name : {"alarms", "samples"}) {
      if ((name == "alarms" && !m.o.uplink_alarms) || (name == "samples" && !m.o.uplink_samples)) {
        continue;
      }
      if (auto log = m.o.streams->log(name)) m.sender->add_stream(std::string(name), *log);
    }
    m.discover_streams();
  }
  if (m.o.broker != nullptr && m.o.streams != nullptr) {
    auto subscribe = [&m](std::string_view filter, std::string stream) {
      rules::UplinkStreams* streams = m.o.streams;
      auto errors = m.append_errors;
      return m.o.broker->subscribe_local(
          filter,
          [streams, errors, stream](std::string_view, std::string_view payload) {
            if (payload.empty()) return;  // a cleared retained message
            streams->append(stream, payload, wall_ms(), [errors](Result<void> r) {
              if (!r) errors->fetch_add(1, std::memory_order_relaxed);
            });
          },
          false);
    };
    if (m.o.uplink_alarms) m.alarms_sub = subscribe("verge/alarms/#", "alarms");
    if (m.o.uplink_samples) m.samples_sub = subscribe("verge/devices/+/data", "samples");
  }

  {
    std::lock_guard lock(m.hook->mu);
    m.hook->impl = &m;
  }
  std::unique_ptr<EdgeAgent> agent(new EdgeAgent());
  agent->impl_ = std::move(impl);
  Impl* p = agent->impl_.get();
  p->loop->post([p] {
    if (!p->stopping) p->loop_start();
  });
  return agent;
}

EdgeAgent::~EdgeAgent() { stop(); }

void EdgeAgent::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  Impl& m = *impl_;
  if (m.o.broker != nullptr) {
    if (m.alarms_sub != 0) m.o.broker->unsubscribe_local(m.alarms_sub);
    if (m.samples_sub != 0) m.o.broker->unsubscribe_local(m.samples_sub);
  }
  {
    std::lock_guard lock(m.hook->mu);
    m.hook->impl = nullptr;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  Impl* p = &m;
  m.loop->post([p, done] {
    p->teardown_on_loop();
    done->set_value();
  });
  if (fut.wait_for(std::chrono::milliseconds(kStopWaitMs)) != std::future_status::ready) {
    // The loop is not running: the client cannot be released safely from here. Leak it rather
    // than free what the loop may still touch.
    log_error("sync agent: loop 0 did not answer stop(); call stop() before the loops stop");
    (void)impl_.release();
  }
}

Value EdgeAgent::status() const {
  if (!impl_) return Value(ValueObject{{"error", "stopped"}});  // leaked by a failed stop()
  const Impl& m = *impl_;
  std::string error;
  Value report;
  {
    std::lock_guard lock(m.mu);
    error = m.last_error;
    report = m.last_report;
  }
  return Value(ValueObject{
      {"node", m.node_id},
      {"hub", m.o.hub},
      {"enrolled", m.enrolled.load()},
      {"connected", m.connected.load()},
      {"applied_version", m.applied_version.load()},
      {"last_error", error.empty() ? Value() : Value(error)},
      {"last_report", report},
      {"streams", m.streams_value()},
  });
}

void EdgeAgent::register_metrics(metrics::Registry& registry) {
  if (!impl_) return;
  std::shared_ptr<EdgeMetricsHook> hook = impl_->hook;
  registry.add_collector([hook](metrics::Exposition& e) {
    std::lock_guard lock(hook->mu);
    if (hook->impl != nullptr) hook->impl->collect(e);
  });
}

}  // namespace verge::sync

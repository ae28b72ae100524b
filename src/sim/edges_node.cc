#include "sim/edges_node.h"

#include <algorithm>
#include <vector>

#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/value.h"
#include "mqtt/client.h"
#include "net/tls_client.h"
#include "sim/edges_api.h"
#include "sim/edges_pacer.h"
#include "sim/modbus_config.h"
#include "sync/batch.h"
#include "sync/edge_enrol.h"
#include "sync/pki.h"
#include "sync/topics.h"

namespace verge::sim {

namespace {

constexpr std::string_view kStream = "telemetry";

// 10,000 nodes failing the same way would print 10,000 lines: the first few say enough.
bool should_log() {
  static std::atomic<int> logged{0};
  return logged.fetch_add(1, std::memory_order_relaxed) < 20;
}

}  // namespace

EdgeNode::EdgeNode(net::EventLoop& loop, EdgeNodeConfig config, EdgeCounters& counters)
    : loop_(loop),
      cfg_(std::move(config)),
      counters_(counters),
      timers_(net::shared_timer_queue(loop)),
      topic_data_(sync::topics::data(cfg_.id, kStream)),
      topic_ack_(sync::topics::ack(cfg_.id)),
      topic_desired_(sync::topics::desired(cfg_.id)) {}

EdgeNode::~EdgeNode() {
  *alive_ = false;
  if (enrol_timer_ != 0) timers_->cancel(enrol_timer_);
  if (client_) client_->stop();
}

void EdgeNode::begin(HubApi& api, Pacer& pacer) {
  api_ = &api;
  pacer_ = &pacer;
  std::weak_ptr<bool> alive = alive_;
  pacer.acquire([this, alive] {
    if (alive.expired() || finished_) {
      if (!alive.expired()) pacer_->release();
      return;
    }
    holds_slot_ = true;
    auto saved = sync::load_credentials(cfg_.state_dir);
    if (saved && *saved) {
      creds_ = std::move(**saved);
      load_next_seq();
      connect();
      return;
    }
    if (!saved && should_log()) {
      log_warn("sim: saved credentials unusable, enrolling again",
               {{"node", cfg_.id}, {"error", saved.error().message}});
    }
    provision();
  });
}

void EdgeNode::provision() {
  std::weak_ptr<bool> alive = alive_;
  api_->create_node(cfg_.id, cfg_.prefix, [this, alive](const TokenAnswer& a) {
    if (alive.expired() || finished_) return;
    if (a.kind == TokenAnswer::Kind::Token) return enrol(a.text);
    if (a.kind == TokenAnswer::Kind::Failed) return fail("create node: " + a.text);
    // It exists (an earlier run) but its credentials are not here: a new token, if still pending.
    api_->new_token(cfg_.id, [this, alive](const TokenAnswer& t) {
      if (alive.expired() || finished_) return;
      if (t.kind == TokenAnswer::Kind::Token) return enrol(t.text);
      fail("new token: " + t.text);
    });
  });
}

void EdgeNode::enrol(const std::string& token_text) {
  auto token = sync::parse_enrol_token(token_text);
  if (!token) return fail(token.error().message);
  if (token->node_id != cfg_.id) return fail("the hub's token names " + token->node_id);
  sync::EnrolRequest req;
  req.host = cfg_.host;
  req.port = cfg_.port;
  req.hub = cfg_.hub;
  req.token_text = token_text;
  req.token = std::move(*token);
  std::weak_ptr<bool> alive = alive_;
  auto started = sync::EdgeEnrolment::start(
      loop_, std::move(req),
      [this, alive](Result<sync::NodeCredentials> r) {
        // Inside the enrolment's client handler: it is destroyed in the next iteration.
        loop_.next_iteration([this, alive, r = std::move(r)]() mutable {
          if (alive.expired() || finished_) return;
          enrolment_.reset();
          if (!r) return fail(r.error().message);
          enrolled(std::move(*r));
        });
      },
      nullptr);
  if (!started) return fail(started.error().message);
  enrolment_ = std::move(*started);
  enrol_timer_ = timers_->after(cfg_.enrol_timeout_ms, [this] {
    enrol_timer_ = 0;
    if (!enrolment_) return;
    enrolment_.reset();
    fail("enrolment timed out");
  });
}

void EdgeNode::enrolled(sync::NodeCredentials creds) {
  counters_.enrolled.fetch_add(1, std::memory_order_relaxed);
  if (auto saved = sync::save_credentials(cfg_.state_dir, creds); !saved && should_log()) {
    log_warn("sim: cannot save credentials (the next run enrols again)",
             {{"node", cfg_.id}, {"error", saved.error().message}});
  }
  creds_ = std::move(creds);
  base_ = 0;  // a new node: the hub expects sequence 0
  connect();
}

void EdgeNode::fail(const std::string& why) {
  failure_ = why;
  counters_.enrol_failed.fetch_add(1, std::memory_order_relaxed);
  if (should_log()) log_warn("sim: node failed", {{"node", cfg_.id}, {"error", why}});
  first_attempt_over();
}

void EdgeNode::connect() {
  net::TlsClientSettings tls;
  tls.ca_pem = creds_->ca_pem;
  tls.cert_pem = creds_->cert_pem;
  tls.key_pem = creds_->key_pem;
  auto ctx = net::TlsClientContext::create(tls);
  if (!ctx) return fail("credentials: " + ctx.error().message);
  mqtt::ClientOptions o;
  o.host = cfg_.host;
  o.port = cfg_.port;
  o.tls = *ctx;
  o.client_id = cfg_.id;
  o.keep_alive_s = 60;
  o.max_inflight = static_cast<uint16_t>(std::min<size_t>(cfg_.window + 4, 1000));
  o.will_topic = sync::topics::status(cfg_.id);
  o.will_payload = R"({"online":false})";
  o.will_qos = 1;
  o.backoff_min_ms = 1000;
  mqtt::ClientHandlers h;
  h.on_connected = [this](const mqtt::ConnackInfo&) { on_connected(); };
  h.on_disconnected = [this](std::string_view reason) {
    if (!connected_ && holds_slot_ && should_log()) {
      log_warn("sim: cannot connect", {{"node", cfg_.id}, {"reason", reason}});
    }
    on_disconnected();
  };
  h.on_message = [this](std::string_view topic, std::string_view payload, bool) {
    on_message(topic, payload);
  };
  client_ = std::make_unique<mqtt::Client>(loop_, std::move(o), std::move(h));
  client_->subscribe(topic_ack_, 1);
  client_->subscribe(topic_desired_, 1);
  client_->start();
}

void EdgeNode::first_attempt_over() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  counters_.started.fetch_add(1, std::memory_order_relaxed);
  pacer_->release();  // may start the next node's attempt right here
}

void EdgeNode::on_connected() {
  if (finished_) return;
  connected_ = true;
  counters_.connected.fetch_add(1, std::memory_order_relaxed);
  if (!has_connected_.exchange(true, std::memory_order_acq_rel)) {
    counters_.ever_connected.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
  }
  connected_at_ms_ = loop_.now_ms();
  first_attempt_over();
  // Whatever was in flight on the old connection is sent again (the hub drops duplicates).
  resend_from_acked();
  send_heartbeat(loop_.now_ms());
  send_batches(loop_.now_ms());
}

void EdgeNode::on_disconnected() {
  if (connected_) {
    connected_ = false;
    counters_.connected.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  if (holds_slot_) {
    counters_.connect_failures.fetch_add(1, std::memory_order_relaxed);
    first_attempt_over();  // the client keeps retrying on its own, unpaced
  }
}

void EdgeNode::on_message(std::string_view topic, std::string_view payload) {
  if (topic == topic_ack_) {
    on_ack(payload);
  } else if (topic == topic_desired_) {
    on_desired(payload);
  }
}

void EdgeNode::on_ack(std::string_view payload) {
  auto doc = parse_json(payload);
  const Value* stream = doc ? doc->find("stream") : nullptr;
  const Value* next = doc ? doc->find("next") : nullptr;
  if (stream == nullptr || !stream->is_string() || stream->as_string() != kStream ||
      next == nullptr || !next->is_int() || next->as_int() < 0) {
    counters_.bad_acks.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  counters_.acks.fetch_add(1, std::memory_order_relaxed);
  const auto wire_next = static_cast<uint64_t>(next->as_int());
  if (wire_next < base_) return;  // an ack from before a rebase
  const uint64_t local = wire_next - base_;
  if (local > sent_) {
    // The hub has records up to a sequence this run never sent: an earlier run without its
    // saved state. Continue numbering from where the hub is, resending what is unacknowledged.
    counters_.rebases.fetch_add(1, std::memory_order_relaxed);
    base_ = wire_next - acked_;
    resend_from_acked();
    return;
  }
  if (local > acked_) {
    const uint64_t k = cfg_.timeline.backlog;
    counters_.acked.fetch_add(local - acked_, std::memory_order_relaxed);
    counters_.backlog_acked.fetch_add(std::min(local, k) - std::min(acked_, k),
                                      std::memory_order_relaxed);
    acked_ = local;
    last_ack_progress_ms_ = loop_.now_ms();
  }
  while (!inflight_ends_.empty() && inflight_ends_.front() <= acked_) inflight_ends_.pop_front();
  send_batches(loop_.now_ms());
}

void EdgeNode::on_desired(std::string_view payload) {
  if (payload.empty()) return;
  auto doc = parse_json(payload);
  const Value* version = doc ? doc->find("version") : nullptr;
  if (version == nullptr || !version->is_int()) return;
  const int64_t v = version->as_int();
  if (v <= desired_version_.load(std::memory_order_relaxed)) return;
  // The time first: a reader that sees the new version sees its time.
  desired_ms_.store(wall_ms(), std::memory_order_relaxed);
  desired_version_.store(v, std::memory_order_release);
  ValueObject report{{"version", v},
                     {"applied", Value(ValueArray{})},
                     {"unchanged", 0},
                     {"failed", Value(ValueArray{})}};
  client_->publish(sync::topics::report(cfg_.id), Value(std::move(report)).to_json(), 1, false);
  counters_.reports.fetch_add(1, std::memory_order_relaxed);
}

void EdgeNode::go(int64_t start_ms) {
  cfg_.timeline.start_ms = start_ms;
  started_ = true;
}

void EdgeNode::tick(uint64_t now_ms) {
  if (finished_) return;
  if (connected_ && now_ms >= last_heartbeat_ms_ + cfg_.heartbeat_ms) send_heartbeat(now_ms);
  send_batches(now_ms);
}

void EdgeNode::send_batches(uint64_t now_ms) {
  if (finished_) return;
  const int64_t wall = wall_ms();
  if (started_) {
    const uint64_t due = records_due(cfg_.timeline, wall - cfg_.timeline.start_ms);
    if (due > produced_) {
      counters_.produced.fetch_add(due - produced_, std::memory_order_relaxed);
      produced_ = due;
    }
  }
  if (!connected_) return;
  if (!inflight_ends_.empty() && now_ms > last_ack_progress_ms_ + cfg_.ack_timeout_ms) {
    resend_from_acked();
  }
  thread_local std::vector<std::string> texts;
  thread_local std::vector<sync::BatchRecordIn> records;
  thread_local std::string wire;
  const sync::BatchEncodeOptions options{.zstd_level = cfg_.zstd_level};
  while (inflight_ends_.size() < cfg_.window && sent_ < produced_) {
    const uint64_t n = std::min<uint64_t>(cfg_.batch, produced_ - sent_);
    // A partial batch waits until its oldest record is `linger_ms` old (the backlog is older).
    if (n < cfg_.batch &&
        wall - record_ts(cfg_.timeline, sent_) < static_cast<int64_t>(cfg_.linger_ms)) {
      break;
    }
    texts.resize(n);
    records.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      texts[i] = make_record(cfg_.timeline, sent_ + i);
      records[i] = {record_ts(cfg_.timeline, sent_ + i), texts[i]};
    }
    wire.clear();
    sync::encode_batch(base_ + sent_, records, options, wire);
    client_->publish(topic_data_, wire, 1, false);
    counters_.batches_sent.fetch_add(1, std::memory_order_relaxed);
    counters_.bytes_sent.fetch_add(wire.size(), std::memory_order_relaxed);
    // The ack timeout runs from the first batch in flight (or the last progress).
    if (inflight_ends_.empty()) last_ack_progress_ms_ = now_ms;
    sent_ += n;
    inflight_ends_.push_back(sent_);
  }
}

void EdgeNode::resend_from_acked() {
  if (sent_ > acked_) counters_.resends.fetch_add(1, std::memory_order_relaxed);
  sent_ = acked_;
  inflight_ends_.clear();
  last_ack_progress_ms_ = loop_.now_ms();
}

void EdgeNode::send_heartbeat(uint64_t now_ms) {
  last_heartbeat_ms_ = now_ms;
  ValueObject stream{{"stream", kStream},
                     {"backlog_records", static_cast<int64_t>(produced_ - acked_)},
                     {"sent", static_cast<int64_t>(sent_)},
                     {"acked", static_cast<int64_t>(acked_)}};
  ValueObject doc{{"online", true},
                  {"node", cfg_.id},
                  {"version", "sim"},
                  {"ts_ms", wall_ms()},
                  {"uptime_s", static_cast<int64_t>((now_ms - connected_at_ms_) / 1000)},
                  {"desired_version", desired_version_.load(std::memory_order_relaxed)},
                  {"streams", Value(ValueArray{Value(std::move(stream))})}};
  client_->publish(sync::topics::status(cfg_.id), Value(std::move(doc)).to_json(), 0, false);
  counters_.heartbeats.fetch_add(1, std::memory_order_relaxed);
}

void EdgeNode::finish() {
  if (finished_) return;
  finished_ = true;
  if (creds_) save_next_seq();
  enrolment_.reset();
  if (client_) client_->stop();
  if (connected_) {
    connected_ = false;
    counters_.connected.fetch_sub(1, std::memory_order_relaxed);
  }
}

// <state-dir>/<node>/sim.json {"next_seq"}: where the hub is, so the next run continues there
// instead of sending sequences the hub already has (they would count as duplicates).
void EdgeNode::load_next_seq() {
  auto text = read_text_file(cfg_.state_dir + "/sim.json", "sim state", 4096);
  if (!text) return;
  auto doc = parse_json(*text);
  const Value* next = doc ? doc->find("next_seq") : nullptr;
  if (next != nullptr && next->is_int() && next->as_int() >= 0) {
    base_ = static_cast<uint64_t>(next->as_int());
  }
}

void EdgeNode::save_next_seq() {
  const std::string doc =
      Value(ValueObject{{"next_seq", static_cast<int64_t>(base_ + acked_)}}).to_json();
  if (auto r = write_file_atomically(cfg_.state_dir + "/sim.json", doc); !r && should_log()) {
    log_warn("sim: cannot save state", {{"node", cfg_.id}, {"error", r.error().message}});
  }
}

}  // namespace verge::sim

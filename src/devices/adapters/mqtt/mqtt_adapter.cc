#include "devices/adapters/mqtt/mqtt_adapter.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "core/clock.h"
#include "core/log.h"
#include "devices/adapters/http/ingest_counters.h"
#include "net/event_loop.h"
#include "net/timer_queue.h"
#include "rules/bus.h"

namespace verge::devices {
namespace {

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "30s", "5m", "1500ms": the duration as the configuration would write it.
std::string duration_text(int64_t ms) {
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

struct MqttAdapter::Shared {
  const Profile* profile = nullptr;
  MqttConnection connection;
  std::vector<TopicPoints> topics;
  net::EventLoop* loop = nullptr;
  // Set on the loop thread by stop(); posted deliveries check it there, so none reaches a
  // stopped (or destroyed) adapter.
  std::atomic<bool> stopped{false};
  MqttAdapter* owner = nullptr;
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bad_payloads{0};
  std::atomic<uint64_t> bad_values{0};
  std::atomic<uint64_t> bad_ts{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<size_t> pending{0};            // posted to the loop, not yet run there
  std::atomic<int64_t> last_drop_log_ms{0};  // monotonic; drops are logged once per 10 s
};

namespace {

// Broker thread: decode here, hand the readings to the loop (one post per message).
// A full queue: the message is dropped and counted; the log says so at most once per 10 s, so a
// flood cannot flood the log too.
void drop(MqttAdapter::Shared& s, const std::string& device) {
  const uint64_t dropped = s.dropped.fetch_add(1, std::memory_order_relaxed) + 1;
  mqtt_device_counters().dropped.inc();
  const int64_t now = monotonic_ms();
  int64_t last = s.last_drop_log_ms.load(std::memory_order_relaxed);
  if ((last == 0 || now - last >= 10'000) &&
      s.last_drop_log_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    log_warn("mqtt device: messages dropped, the delivery queue is full",
             {{"device", device},
              {"pending", std::to_string(MqttAdapter::kMaxPending)},
              {"dropped_total", std::to_string(dropped)}});
  }
}

void on_publish(const std::shared_ptr<MqttAdapter::Shared>& s, size_t topic_index,
                std::string_view payload, const std::string& device) {
  if (s->stopped.load(std::memory_order_acquire)) return;
  s->messages.fetch_add(1, std::memory_order_relaxed);
  MqttDeviceCounters& counters = mqtt_device_counters();
  counters.messages.inc();
  // Reserve a slot before decoding: a dropped message costs no parse.
  if (s->pending.fetch_add(1, std::memory_order_acq_rel) >= MqttAdapter::kMaxPending) {
    s->pending.fetch_sub(1, std::memory_order_acq_rel);
    drop(*s, device);
    return;
  }
  MqttDecodeStats st;
  std::vector<Reading> readings = decode_mqtt_message(
      *s->profile, s->topics[topic_index], s->connection.ts_path, payload, wall_ms(), st);
  if (st.bad_payload) {
    s->bad_payloads.fetch_add(1, std::memory_order_relaxed);
    counters.bad_payloads.inc();
  }
  if (st.bad_values > 0) {
    s->bad_values.fetch_add(st.bad_values, std::memory_order_relaxed);
    counters.bad_values.inc(st.bad_values);
  }
  if (st.bad_ts) {
    s->bad_ts.fetch_add(1, std::memory_order_relaxed);
    counters.bad_ts.inc();
  }
  s->loop->post([s, r = std::move(readings)]() mutable {
    s->pending.fetch_sub(1, std::memory_order_acq_rel);
    if (!s->stopped.load(std::memory_order_acquire)) s->owner->on_message(std::move(r));
  });
}

}  // namespace

Result<std::unique_ptr<MqttAdapter>> MqttAdapter::create(const AdapterContext& ctx) {
  auto connection = parse_mqtt_connection(ctx.device->connection);
  if (!connection) return unexpected(connection.error());
  std::unique_ptr<MqttAdapter> a(new MqttAdapter(ctx));
  a->shared_->connection = std::move(*connection);
  const Profile& profile = *ctx.profile;
  for (uint32_t i = 0; i < profile.points.size(); ++i) {
    auto address = parse_mqtt_address(profile.points[i].address);
    if (!address) return unexpected(address.error());
    const std::string topic = expand_topic(address->topic, ctx.device->id, "");
    auto& topics = a->shared_->topics;
    auto it = std::find_if(topics.begin(), topics.end(),
                           [&](const TopicPoints& t) { return t.topic == topic; });
    if (it == topics.end()) it = topics.insert(topics.end(), TopicPoints{topic, {}});
    it->points.emplace_back(i, std::move(address->path));
  }
  return a;
}

MqttAdapter::MqttAdapter(const AdapterContext& ctx)
    : ctx_(ctx), shared_(std::make_shared<Shared>()) {
  shared_->profile = ctx.profile;
  shared_->loop = ctx.loop;
  shared_->owner = this;
}

MqttAdapter::~MqttAdapter() { stop(); }

void MqttAdapter::start() {
  timers_ = std::make_unique<net::TimerQueue>(*ctx_.loop);
  last_message_ms_ = monotonic_ms();
  for (size_t i = 0; i < shared_->topics.size(); ++i) {
    std::weak_ptr<Shared> weak = shared_;
    subscriptions_.push_back(ctx_.bus->subscribe(
        shared_->topics[i].topic,
        [weak, i, device = ctx_.device->id](std::string_view, std::string_view payload) {
          if (auto s = weak.lock()) on_publish(s, i, payload, device);
        }));
  }
  if (shared_->connection.offline_after_ms > 0) {
    arm_offline_check(shared_->connection.offline_after_ms);
  }
}

void MqttAdapter::stop() {
  if (shared_->stopped.exchange(true)) return;
  // Unsubscribing waits for handlers still running, so none posts after this.
  for (uint64_t id : subscriptions_) ctx_.bus->unsubscribe(id);
  subscriptions_.clear();
  timers_.reset();
}

void MqttAdapter::write(uint32_t point, const Value& raw, WriteDone done) {
  const MqttConnection& c = shared_->connection;
  if (shared_->stopped.load()) return done(unexpected(Error{"adapter stopped"}));
  if (c.command_topic.empty()) return done(unexpected(Error{"no command_topic configured"}));
  if (point >= ctx_.profile->points.size()) return done(unexpected(Error{"unknown point"}));
  const std::string& name = ctx_.profile->points[point].name;
  std::string payload;
  if (c.command_format == CommandFormat::Json) {
    payload = Value(ValueObject{{name, raw}}).to_json();
  } else {
    payload = raw.is_string() ? raw.as_string() : raw.to_json();
  }
  ctx_.bus->publish(expand_topic(c.command_topic, ctx_.device->id, name), payload, 1, false);
  done({});
}

MqttAdapter::Stats MqttAdapter::stats() const {
  return Stats{shared_->messages.load(), shared_->bad_payloads.load(), shared_->bad_values.load(),
               shared_->bad_ts.load(), shared_->dropped.load()};
}

void MqttAdapter::on_message(std::vector<Reading> readings) {
  last_message_ms_ = monotonic_ms();
  if (link_ != Link::Online) {
    link_ = Link::Online;
    ctx_.sink->on_link(true, "");
  }
  if (!readings.empty()) ctx_.sink->on_readings(readings);
}

void MqttAdapter::arm_offline_check(int64_t delay_ms) {
  timers_->after(static_cast<uint64_t>(delay_ms), [this] { check_offline(); });
}

void MqttAdapter::check_offline() {
  const int64_t limit = shared_->connection.offline_after_ms;
  const int64_t silent = monotonic_ms() - last_message_ms_;
  if (silent >= limit) {
    if (link_ != Link::Offline) {
      link_ = Link::Offline;
      ctx_.sink->on_link(false, "no message for " + duration_text(limit));
    }
    arm_offline_check(limit);
  } else {
    arm_offline_check(limit - silent);
  }
}

}  // namespace verge::devices

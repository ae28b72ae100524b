#include "mqtt/sys_topics.h"

#include <string>

#include "mqtt/worker.h"

namespace verge::mqtt {

namespace {

void publish_sys(Worker& w, const std::string& topic, const std::string& value) {
  MessageRef msg = Message::make(topic, value, 0, true, nullptr, 0, 0);
  w.core().retained.set(topic, msg);
  w.route(msg);
}

void publish_all(Worker& w) {
  BrokerCore& core = w.core();
  uint64_t connected = 0, sessions = 0, received = 0, sent = 0, bytes_in = 0, bytes_out = 0;
  uint64_t dropped = 0, opened = 0;
  for (const auto& x : core.workers) {
    WorkerStats& st = x->stats();
    connected += static_cast<uint64_t>(std::max<int64_t>(0, st.connections.load()));
    sessions += static_cast<uint64_t>(std::max<int64_t>(0, st.sessions.load()));
    received += st.messages_received.get();
    sent += st.messages_sent.get();
    bytes_in += st.bytes_received.get();
    bytes_out += st.bytes_sent.get();
    opened += st.connections_opened.get();
    dropped += st.dropped_outbound_full.get() + st.dropped_queue_full.get() +
               st.dropped_expired.get() + st.dropped_too_large.get();
  }
  const uint64_t uptime = (w.loop().now_ms() - core.start_ms) / 1000;
  publish_sys(w, "$SYS/broker/version", std::string("verge ") + VERGE_VERSION_STRING);
  publish_sys(w, "$SYS/broker/uptime", std::to_string(uptime) + " seconds");
  publish_sys(w, "$SYS/broker/clients/connected", std::to_string(connected));
  publish_sys(w, "$SYS/broker/clients/total", std::to_string(sessions));
  publish_sys(w, "$SYS/broker/clients/disconnected",
              std::to_string(sessions > connected ? sessions - connected : 0));
  publish_sys(w, "$SYS/broker/connections/opened", std::to_string(opened));
  publish_sys(w, "$SYS/broker/messages/received", std::to_string(received));
  publish_sys(w, "$SYS/broker/messages/sent", std::to_string(sent));
  publish_sys(w, "$SYS/broker/messages/dropped", std::to_string(dropped));
  publish_sys(w, "$SYS/broker/bytes/received", std::to_string(bytes_in));
  publish_sys(w, "$SYS/broker/bytes/sent", std::to_string(bytes_out));
  publish_sys(w, "$SYS/broker/subscriptions/count", std::to_string(core.subs.size()));
  publish_sys(w, "$SYS/broker/retained messages/count", std::to_string(core.retained.size()));
}

}  // namespace

void start_sys_topics(Worker& w) {
  Worker* raw = &w;
  const uint64_t interval_ms = uint64_t{w.core().limits().sys_interval} * 1000;
  w.loop().post([raw, interval_ms] {
    publish_all(*raw);
    raw->loop().every(interval_ms, [raw] { publish_all(*raw); });
  });
}

}  // namespace verge::mqtt

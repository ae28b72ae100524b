// What nodes send to the hub: enrolment requests, heartbeats, device lists, apply reports and
// uplink batches. Handlers run on broker threads (Broker::subscribe_local), so they only parse and
// hand over: enrolment goes to the hub's worker thread, batches to the ingest store.
#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "sync/batch.h"
#include "sync/hub_impl.h"
#include "sync/topics.h"

namespace verge::sync {

namespace {

std::optional<Value> parse_object(std::string_view payload) {
  auto v = parse_json(payload);
  if (!v || v->type() != Value::Type::Object) return std::nullopt;
  return std::move(*v);
}

std::string string_field(const Value& v, std::string_view name) {
  const Value* f = v.find(name);
  return f && f->type() == Value::Type::String ? f->as_string() : std::string();
}

}  // namespace

void Hub::Impl::on_enroll(Hub& hub, std::string_view node_view, std::string_view payload) {
  if (!topics::valid_name(node_view)) return;
  std::string node(node_view);
  std::string body(payload);
  worker->post([this, &hub, node = std::move(node), body = std::move(body)] {
    auto reply = [&](Value v) {
      if (broker) broker->publish(topics::enroll_reply(node), v.to_json(), 1, false);
    };
    auto refuse = [&](const std::string& why) {
      hub.stats_.enrol_refused.fetch_add(1, std::memory_order_relaxed);
      log_warn("enrolment refused", {{"node", node}, {"error", why}});
      reply(Value(ValueObject{{"error", why}}));
    };
    auto req = parse_object(body);
    if (!req) return refuse("request: expected a JSON object {\"csr\": PEM}");
    std::string secret;
    if (auto token = parse_enrol_token(string_field(*req, "token")); token) {
      if (token->node_id != node) return refuse("token is for another node");
      secret = token->secret;
    } else {
      std::lock_guard lock(enrol_mu);
      auto it = enrol_secrets.find(node);
      if (it == enrol_secrets.end()) return refuse("no enrolment token presented");
      secret = it->second;
    }
    const int64_t now = wall_ms();
    // Sign first, consume second: a bad CSR must not burn the operator's token.
    auto cert = ca->sign_node_csr(string_field(*req, "csr"), node, now, options.cert_validity_ms);
    if (!cert) return refuse(cert.error().message);
    if (auto r = hub.registry_->consume_enrol_token(node, secret, now); !r) {
      return refuse(r.error().message);
    }
    if (auto r = hub.registry_->set_enrolled(node, cert->serial_hex, cert->not_after_ms, now); !r) {
      return refuse("registry: " + r.error().message);
    }
    {
      std::lock_guard lock(enrol_mu);
      enrol_secrets.erase(node);
    }
    // A re-enrolment retires the old certificate: a session still using it goes now.
    if (broker) broker->disconnect_user(node);
    hub.stats_.enrolments.fetch_add(1, std::memory_order_relaxed);
    log_info("node enrolled", {{"node", node}, {"serial", cert->serial_hex}});
    reply(Value(ValueObject{{"cert", cert->cert_pem}, {"ca", ca->ca_cert_pem()}}));
  });
}

void Hub::Impl::on_status(Hub& hub, std::string_view node, std::string_view payload) {
  auto doc = parse_object(payload);
  if (!doc) return;
  if (const Value* online = doc->find("online");
      online && online->type() == Value::Type::Bool && !online->as_bool()) {
    hub.registry_->set_offline(node);  // the will: the node's connection was lost
    return;
  }
  hub.stats_.heartbeats.fetch_add(1, std::memory_order_relaxed);
  hub.registry_->heartbeat(node, std::move(*doc), wall_ms());
}

void Hub::Impl::on_devices(Hub& hub, std::string_view node, std::string_view payload) {
  auto v = parse_json(payload);
  if (!v) return;
  hub.registry_->set_devices(node, std::move(*v));
}

void Hub::Impl::on_report(Hub& hub, std::string_view node, std::string_view payload) {
  auto doc = parse_object(payload);
  if (!doc) return;
  log_info("desired state applied", {{"node", node}, {"report", payload.substr(0, 400)}});
  hub.registry_->set_report(node, std::move(*doc));
}

void Hub::Impl::on_data(Hub& hub, std::string_view node_view, std::string_view stream_view,
                        std::string_view payload) {
  HubStats& st = hub.stats_;
  st.bytes_received.fetch_add(payload.size(), std::memory_order_relaxed);
  if (!topics::valid_name(stream_view)) {
    st.batch_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::string node(node_view), stream(stream_view);
  auto batch = decode_batch(payload);
  if (!batch) {
    // Not stored and not acknowledged: the node resends after its ack timeout. Keep the bytes
    // for a post-mortem (bounded: one file per stream, the last bad batch).
    st.batch_errors.fetch_add(1, std::memory_order_relaxed);
    log_warn("uplink batch refused",
             {{"node", node}, {"stream", stream}, {"error", batch.error().message}});
    std::error_code ec;
    const std::string dir = options.data_dir + "/quarantine";
    std::filesystem::create_directories(dir, ec);
    std::ofstream(dir + "/" + node + "." + stream + ".batch", std::ios::binary | std::ios::trunc)
        .write(payload.data(), static_cast<std::streamsize>(payload.size()));
    return;
  }
  st.batches.fetch_add(1, std::memory_order_relaxed);
  st.bytes_uncompressed.fetch_add(batch->body.size(), std::memory_order_relaxed);
  // Alarm documents also update the hub's alarm table; read them before the batch moves on.
  std::vector<std::pair<std::string, Value>> alarms;
  if (stream == "alarms") {
    for (const DecodedRecord& r : batch->records) {
      // The node sends what its alarm service publishes: {"event", "alarm": {"key", ...}}.
      auto doc = parse_object(r.payload);
      if (doc) {
        if (const Value* alarm = doc->find("alarm");
            alarm && alarm->type() == Value::Type::Object) {
          doc = *alarm;
        }
      }
      std::string key = doc ? string_field(*doc, "key") : std::string();
      if (key.empty()) {
        st.quarantined.fetch_add(1, std::memory_order_relaxed);
        log_warn("alarm record without a key (stored, not indexed)",
                 {{"node", node}, {"seq", r.seq}});
        continue;
      }
      alarms.emplace_back(std::move(key), std::move(*doc));
    }
  }
  hub.ingest_->store(
      node, stream, std::move(*batch),
      [this, &hub, node, stream, alarms = std::move(alarms)](Result<StoreOutcome> r) {
        if (!r) {
          hub.stats_.batch_errors.fetch_add(1, std::memory_order_relaxed);
          log_error("uplink store failed",
                    {{"node", node}, {"stream", stream}, {"error", r.error().message}});
          return;  // no ack: the node resends
        }
        hub.stats_.records.fetch_add(r->stored, std::memory_order_relaxed);
        hub.stats_.duplicates.fetch_add(r->duplicates, std::memory_order_relaxed);
        if (!alarms.empty() && r->stored > 0) {
          // This runs on the ingest store's writer thread: the registry's write (an fsync) must
          // not hold up every other stream's ingest.
          worker->post([&hub, node, alarms] {
            for (const auto& [key, doc] : alarms) {
              (void)hub.registry_->upsert_alarm(node, key, doc, wall_ms());
            }
          });
        }
        mqtt::Broker* b = broker;
        if (!b) return;
        Value ack(ValueObject{{"stream", stream}, {"next", static_cast<int64_t>(r->next_seq)}});
        b->publish(topics::ack(node), ack.to_json(), 0, false);
      });
}

void Hub::Impl::publish_desired(Hub& hub, std::string_view node) {
  if (!broker) return;
  std::lock_guard lock(publish_mu);
  Value doc = hub.registry_->effective_desired(node);
  broker->publish(topics::desired(node), doc.to_json(), 1, true);
  hub.stats_.desired_published.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace verge::sync

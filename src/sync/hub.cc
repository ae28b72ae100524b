#include "sync/hub.h"

#include <chrono>

#include "core/clock.h"
#include "core/log.h"
#include "sync/hub_impl.h"
#include "sync/topics.h"

namespace verge::sync {

HubWorker::HubWorker() : thread_([this] { run(); }) {}

HubWorker::~HubWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void HubWorker::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
    ++posted_;
  }
  cv_.notify_one();
}

void HubWorker::drain() {
  std::unique_lock lock(mu_);
  const size_t target = posted_;
  done_cv_.wait(lock, [&] { return done_ >= target; });
}

void HubWorker::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing left
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
    ++done_;
    done_cv_.notify_all();
  }
}

bool split_up_topic(std::string_view topic, std::string_view& node, std::string_view& rest) {
  if (!topic.starts_with(topics::kUpPrefix)) return false;
  topic.remove_prefix(topics::kUpPrefix.size());
  const size_t slash = topic.find('/');
  if (slash == std::string_view::npos) return false;
  node = topic.substr(0, slash);
  rest = topic.substr(slash + 1);
  return topics::valid_name(node);
}

Result<std::unique_ptr<Hub>> Hub::open(const HubOptions& options) {
  std::unique_ptr<Hub> hub(new Hub());
  hub->impl_ = std::make_unique<Impl>();
  hub->impl_->options = options;
  auto files = load_or_create_ca(options.data_dir + "/pki", options.server_names);
  if (!files) return unexpected(files.error());
  hub->ca_files_ = std::move(*files);
  auto ca = CertificateAuthority::load(options.data_dir + "/pki");
  if (!ca) return unexpected(ca.error());
  hub->impl_->ca = std::make_unique<CertificateAuthority>(std::move(*ca));

  RegistryOptions ro;
  ro.data_dir = options.data_dir;
  ro.storage = options.storage;
  ro.offline_after_ms = options.offline_after_ms;
  auto registry = Registry::open(ro);
  if (!registry) return unexpected(registry.error());
  hub->registry_ = std::move(*registry);

  IngestOptions io;
  io.data_dir = options.data_dir;
  io.storage = options.storage;
  auto ingest = IngestStore::open(io);
  if (!ingest) return unexpected(ingest.error());
  hub->ingest_ = std::move(*ingest);
  hub->impl_->worker = std::make_unique<HubWorker>();
  log_info("hub opened", {{"data_dir", options.data_dir},
                          {"storage", options.storage.empty() ? "embedded" : "postgres"},
                          {"ca_sha256", hub->ca_files_.ca_sha256}});
  return hub;
}

Hub::~Hub() { stop(); }

std::string Hub::broker_acl() {
  // First match wins. Nodes (identity = certificate CN) are confined to their own topics; an
  // enrolling session (username "enroll") only to its enrolment topics, named by its client id.
  return "# written by verge cloud: nodes may use only their own topics\n"
         "allow publish user:enroll verge/enroll/%c\n"
         "allow subscribe user:enroll verge/enroll/%c/reply\n"
         "deny all user:enroll #\n"
         "allow publish authenticated verge/up/%u/#\n"
         "allow subscribe authenticated verge/down/%u/#\n"
         "deny all any verge/up/#\n"
         "deny all any verge/down/#\n"
         "deny all any verge/enroll/#\n"
         "allow all any #\n";
}

mqtt::ConnectDecision Hub::check_connect(const mqtt::ConnectCheck& c) const {
  using Verdict = mqtt::ConnectDecision::Verdict;
  if (c.listener != "mqtts") {
    // Device listeners keep their own rules, but nobody there may take a node's name (the ACL
    // confines a user to verge/up/<username>/) or present a node certificate.
    const bool node_name =
        c.username && (*c.username == "enroll" || registry_->node(*c.username).has_value());
    if (node_name || !c.cert_identity.empty()) {
      stats_.enrol_refused.fetch_add(1, std::memory_order_relaxed);
      return {Verdict::Refuse, {}};
    }
    return {};
  }
  if (!c.cert_identity.empty()) {
    // The serial too: a node re-created or re-enrolled under the same id has a new certificate,
    // and the old one (a stolen or replaced gateway's) must not pass as the node.
    if (c.cert_identity != c.client_id ||
        !registry_->node_cert_valid(c.cert_identity, c.cert_serial)) {
      stats_.enrol_refused.fetch_add(1, std::memory_order_relaxed);
      return {Verdict::Refuse, {}};
    }
    return {Verdict::Allow, std::string(c.cert_identity)};
  }
  if (c.username && *c.username == "enroll" && c.password) {
    auto token = parse_enrol_token(*c.password);
    if (token && token->node_id == c.client_id &&
        registry_->enrol_token_valid(token->node_id, token->secret, wall_ms())) {
      std::lock_guard lock(impl_->enrol_mu);
      impl_->enrol_secrets[token->node_id] = token->secret;
      return {Verdict::Allow, "enroll"};
    }
  }
  stats_.enrol_refused.fetch_add(1, std::memory_order_relaxed);
  return {Verdict::Refuse, {}};
}

void Hub::attach(mqtt::Broker& broker, metrics::Registry& metrics) {
  impl_->broker = &broker;
  Impl* impl = impl_.get();
  impl->subscriptions.push_back(broker.subscribe_local(
      "verge/enroll/+",
      [this, impl](std::string_view topic, std::string_view payload) {
        impl->on_enroll(*this, topic.substr(topics::kEnrollPrefix.size()), payload);
      },
      false));
  impl->subscriptions.push_back(broker.subscribe_local(
      "verge/up/#",
      [this, impl](std::string_view topic, std::string_view payload) {
        std::string_view node, rest;
        if (!split_up_topic(topic, node, rest)) return;
        if (rest == "status") return impl->on_status(*this, node, payload);
        if (rest == "devices") return impl->on_devices(*this, node, payload);
        if (rest == "report") return impl->on_report(*this, node, payload);
        if (rest.starts_with("data/")) return impl->on_data(*this, node, rest.substr(5), payload);
      },
      false));
  for (const NodeInfo& n : registry_->nodes({})) {
    if (n.state != NodeState::Revoked) impl->publish_desired(*this, n.id);
  }
  impl->ticker = std::thread([this, impl] {
    std::unique_lock lock(impl->tick_mu);
    while (!impl->tick_cv.wait_for(lock, std::chrono::seconds(1), [&] { return impl->stopping; })) {
      registry_->expire_heartbeats(wall_ms());
    }
  });

  registry_->register_metrics(metrics);
  ingest_->register_metrics(metrics);
  metrics.add_collector([this](metrics::Exposition& e) {
    auto c = [&](const char* name, const char* help, const std::atomic<uint64_t>& v) {
      e.counter(name, help, {}, static_cast<double>(v.load(std::memory_order_relaxed)));
    };
    c("verge_hub_enrolments_total", "Nodes enrolled", stats_.enrolments);
    c("verge_hub_enrol_refused_total", "Node connections or enrolments refused",
      stats_.enrol_refused);
    c("verge_hub_uplink_batches_total", "Uplink batches received", stats_.batches);
    c("verge_hub_uplink_batch_errors_total", "Uplink batches that could not be decoded or stored",
      stats_.batch_errors);
    c("verge_hub_uplink_records_total", "Uplink records stored", stats_.records);
    c("verge_hub_uplink_duplicates_total", "Uplink records received again and dropped",
      stats_.duplicates);
    c("verge_hub_uplink_quarantined_total", "Uplink records quarantined", stats_.quarantined);
    c("verge_hub_uplink_wire_bytes_total", "Uplink bytes received (compressed batches)",
      stats_.bytes_received);
    c("verge_hub_uplink_body_bytes_total", "Uplink bytes after decompression",
      stats_.bytes_uncompressed);
    c("verge_hub_heartbeats_total", "Heartbeats received", stats_.heartbeats);
    c("verge_hub_desired_published_total", "Desired-state documents published to nodes",
      stats_.desired_published);
  });
}

void Hub::stop() {
  if (!impl_) return;
  if (impl_->broker) {
    for (uint64_t id : impl_->subscriptions) impl_->broker->unsubscribe_local(id);
    impl_->subscriptions.clear();
  }
  {
    std::lock_guard lock(impl_->tick_mu);
    impl_->stopping = true;
  }
  impl_->tick_cv.notify_all();
  if (impl_->ticker.joinable()) impl_->ticker.join();
  if (impl_->worker) impl_->worker->drain();
  if (ingest_) ingest_->flush();
  impl_->broker = nullptr;
}

Result<std::string> Hub::create_node(std::string_view id, std::string_view site,
                                     const Labels& labels) {
  if (!topics::valid_name(id) || id == "enroll") {
    return unexpected(Error{"id: expected 1-64 characters of A-Z a-z 0-9 _ - (not 'enroll')"});
  }
  // The hub deduplicates a node's records by (node, stream, sequence): a new node under the id
  // of a deleted one would start its sequences at 0 and see its records dropped as duplicates.
  if (!registry_->node(id) && !ingest_->streams(id).empty()) {
    return unexpected(Error{"id: '" + std::string(id) +
                            "' belonged to a deleted node whose records are kept; choose another"});
  }
  auto secret = registry_->create_node(id, site, labels, wall_ms());
  if (!secret) return unexpected(secret.error());
  if (impl_->broker) impl_->publish_desired(*this, id);
  return format_enrol_token(EnrolToken{std::string(id), *secret, ca_files_.ca_sha256});
}

Result<void> Hub::revoke_node(std::string_view id) {
  if (auto r = registry_->revoke_node(id, wall_ms()); !r) return r;
  if (impl_->broker) {
    impl_->broker->disconnect_user(id);
    // The retained desired state of a revoked node is no longer anybody's business.
    impl_->broker->publish(topics::desired(id), "", 1, true);
  }
  return {};
}

Result<void> Hub::delete_node(std::string_view id) {
  if (auto n = registry_->node(id); n && n->state != NodeState::Revoked) {
    if (auto r = revoke_node(id); !r) return r;
  }
  return registry_->delete_node(id);
}

Result<void> Hub::relabel_node(std::string_view id, std::string_view site, const Labels& labels) {
  auto changed = registry_->relabel(id, site, labels);
  if (!changed) return unexpected(changed.error());
  if (*changed && impl_->broker) impl_->publish_desired(*this, id);
  return {};
}

Result<std::vector<std::string>> Hub::put_desired(const DesiredScope& scope, Value doc) {
  auto changed = registry_->put_desired(scope, std::move(doc), wall_ms());
  if (!changed) return changed;
  if (impl_->broker) {
    for (const auto& id : *changed) impl_->publish_desired(*this, id);
  }
  return changed;
}

Result<std::vector<std::string>> Hub::delete_desired(const DesiredScope& scope) {
  auto changed = registry_->delete_desired(scope);
  if (!changed) return changed;
  if (impl_->broker) {
    for (const auto& id : *changed) impl_->publish_desired(*this, id);
  }
  return changed;
}

std::optional<Value> Hub::node_view(std::string_view id) const {
  auto n = registry_->node(id);
  if (!n) return std::nullopt;
  ValueObject labels;
  for (const auto& [k, v] : n->labels) labels.emplace_back(k, v);
  ValueObject streams;
  for (const auto& [stream, next] : ingest_->streams(id)) {
    streams.emplace_back(stream,
                         Value(ValueObject{{"stored_next_seq", static_cast<int64_t>(next)}}));
  }
  const Value* applied =
      n->report.type() == Value::Type::Object ? n->report.find("version") : nullptr;
  ValueObject o{
      {"id", n->id},
      {"site", n->site},
      {"labels", Value(std::move(labels))},
      {"state", std::string(to_string(n->state))},
      {"online", n->online},
      {"created_ms", n->created_ms},
      {"enrolled_ms", n->enrolled_ms},
      {"cert_serial", n->cert_serial},
      {"cert_not_after_ms", n->cert_not_after_ms},
      {"last_seen_ms", n->last_seen_ms},
      {"status", n->status},
      {"desired_version", n->desired_version},
      {"applied_version", applied ? *applied : Value()},
      {"report", n->report},
      {"stored_streams", Value(std::move(streams))},
  };
  return Value(std::move(o));
}

}  // namespace verge::sync

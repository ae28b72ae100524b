// The hub side of cloud-edge sync (`verge cloud`): the CA and enrolment, the registry, the
// ingest of uplink batches with exactly-once effect, and desired state published to nodes.
// It sits on the hub's MQTT broker: nodes connect to the broker's TLS listener (mutual TLS, or a
// one-time enrolment token), the hub reads their messages through in-process subscriptions and
// answers with broker publishes (docs/sync.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "core/value.h"
#include "mqtt/broker.h"
#include "sync/ingest_store.h"
#include "sync/pki.h"
#include "sync/registry.h"

namespace verge::sync {

struct HubOptions {
  std::string data_dir;
  std::string storage;                    // "" = embedded, or postgres://...
  std::vector<std::string> server_names;  // SANs of the edge listener's certificate
  int64_t cert_validity_ms = 365LL * 24 * 3600 * 1000;
  int64_t offline_after_ms = 90'000;
};

struct HubStats {
  std::atomic<uint64_t> enrolments{0}, enrol_refused{0};
  std::atomic<uint64_t> batches{0}, batch_errors{0}, records{0}, duplicates{0}, quarantined{0};
  std::atomic<uint64_t> bytes_received{0};      // uplink wire bytes (compressed)
  std::atomic<uint64_t> bytes_uncompressed{0};  // uplink bodies after decompression
  std::atomic<uint64_t> heartbeats{0}, desired_published{0};
};

class Hub {
 public:
  // Creates or loads the CA (<data-dir>/pki), opens the registry and the ingest store.
  static Result<std::unique_ptr<Hub>> open(const HubOptions& options);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  const CaFiles& ca() const { return ca_files_; }
  // The ACL the hub's broker needs (nodes confined to their own topics); write to a file.
  static std::string broker_acl();
  // The broker's CONNECT hook (thread-safe).
  mqtt::ConnectDecision check_connect(const mqtt::ConnectCheck& c) const;

  // Subscribes to the nodes' topics and publishes every node's desired state (retained).
  void attach(mqtt::Broker& broker, metrics::Registry& metrics);
  // Unsubscribes and flushes the ingest store. Call before the broker shuts down.
  void stop();

  Registry& registry() { return *registry_; }
  IngestStore& ingest() { return *ingest_; }
  const HubStats& stats() const { return stats_; }

  // Operations behind the REST API (the API audits them).
  // Returns the enrolment token text (vgt1.<node>.<secret>.<ca pin>).
  Result<std::string> create_node(std::string_view id, std::string_view site, const Labels& labels);
  Result<void> revoke_node(std::string_view id);  // closes its connection, refuses it from now on
  Result<void> delete_node(std::string_view id);  // revokes first
  // New site and labels; when they change which selector documents apply, the node gets its new
  // effective document at once.
  Result<void> relabel_node(std::string_view id, std::string_view site, const Labels& labels);
  // Stores the scope's document and publishes the effective document to every node it changed.
  Result<std::vector<std::string>> put_desired(const DesiredScope& scope, Value doc);
  Result<std::vector<std::string>> delete_desired(const DesiredScope& scope);
  // The registry's view plus the effective desired version and the uplink streams' next seqs.
  std::optional<Value> node_view(std::string_view id) const;

 private:
  struct Impl;
  Hub() = default;
  CaFiles ca_files_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<IngestStore> ingest_;
  mutable HubStats stats_;  // counters, also bumped by const checks
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::sync

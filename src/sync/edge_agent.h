// The edge side of cloud-edge sync, started by `verge edge --hub HOST:PORT [--token T]`:
//
// - Enrolment (once): with no certificate in <data-dir>/sync/, it makes a key and CSR
//   (sync/pki.h), connects to the hub's TLS listener verifying the hub by the CA pin in the token,
//   authenticates with the token (CONNECT client id = node id, username "enroll", password = the
//   token), publishes {"csr"} on verge/enroll/<node> and waits for {"cert","ca"} on its reply
//   topic. It stores node.key (0600), node.crt, ca.crt and node.json ({"id","hub"}) atomically.
// - From then on: mutual TLS to the hub, client id = node id; reconnect with jittered back-off.
// - Heartbeat every heartbeat_ms on verge/up/<node>/status: version, uptime, cpu %, memory,
//   disk, applied desired version, and per uplink stream: backlog records and bytes, oldest age,
//   sent, acked, drain rate (records/s) and the estimated time to drain; will = {"online":false}.
// - Devices: DeviceManager::list_devices() on verge/up/<node>/devices when it changes.
// - Uplink: every stream of rules::UplinkStreams is read from its durable cursor "hub", cut into
//   batches (max records, max bytes, linger), encoded (sync/batch.h, zstd) and published QoS 1 on
//   verge/up/<node>/data/<stream>, up to `window` batches in flight per stream. The hub's ack
//   {"stream","next"} commits the cursor (durable). Streams are served by priority (alarms first):
//   a lower-priority stream is sent only while no higher one has records waiting. On reconnect the
//   unacknowledged batches are sent again (the hub drops duplicates). A record too large for a
//   batch is quarantined (<data-dir>/sync/quarantine.jsonl with its reason) and skipped.
// - Alarms: with uplink_alarms, alarm documents published on verge/alarms/# are appended to the
//   "alarms" stream; with uplink_samples, device data on verge/devices/+/data to "samples".
// - Desired state: the retained verge/down/<node>/desired document is applied through
//   sync/desired_apply.h: only changed items are applied, the result is persisted atomically to
//   <data-dir>/sync/applied.json and reported on verge/up/<node>/report. At start the last
//   applied document is applied before any connection, so a node without its hub keeps running.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/metrics.h"
#include "core/result.h"
#include "core/value.h"
#include "net/loop_group.h"

namespace verge::mqtt {
class Broker;
}
namespace verge::rules {
class RuleManager;
class UplinkStreams;
}  // namespace verge::rules
namespace verge::devices {
class DeviceManager;
}

namespace verge::sync {

struct UplinkSendOptions {
  size_t batch_records = 2000;
  size_t batch_bytes = 256 * 1024;  // uncompressed
  uint64_t linger_ms = 50;          // wait this long for a batch to fill when the backlog is small
  size_t window = 8;                // batches in flight per stream
  // No ack for this long: resend from the last acked seq. Long, because on a live connection
  // QoS 1 loses nothing: a timeout only covers a hub that failed to store, and a short one
  // doubles the load of a hub that is merely behind (seen with 1,000 nodes draining at once).
  uint64_t ack_timeout_ms = 60000;
  int zstd_level = 1;
  // Lower sends first; streams not named get 100. Default: alarms 0, samples 200.
  std::map<std::string, int> priority = {{"alarms", 0}, {"samples", 200}};
};

struct EdgeAgentOptions {
  std::string data_dir;  // credentials and state go to <data_dir>/sync
  std::string hub;       // HOST:PORT of the hub's TLS listener
  std::string token;     // enrolment token (needed only until enrolled)
  std::string version;   // reported in heartbeats
  uint64_t heartbeat_ms = 10000;
  bool uplink_alarms = true;
  bool uplink_samples = false;
  UplinkSendOptions uplink;
  net::LoopGroup* loops = nullptr;  // the agent uses loop 0
  mqtt::Broker* broker = nullptr;   // the node's local bus (alarms, samples)
  rules::UplinkStreams* streams = nullptr;
  rules::RuleManager* rules = nullptr;
  devices::DeviceManager* devices = nullptr;
};

class EdgeAgent {
 public:
  // Loads the credentials and the last applied desired state and applies it (synchronously:
  // start-up reports its failures in the log), then connects from the loop. Errors: a node with no
  // credentials and no token ("not enrolled: pass --token"), a malformed token, unreadable files.
  static Result<std::unique_ptr<EdgeAgent>> start(EdgeAgentOptions options);
  ~EdgeAgent();  // stops
  EdgeAgent(const EdgeAgent&) = delete;
  EdgeAgent& operator=(const EdgeAgent&) = delete;

  // Disconnects (DISCONNECT, no will); returns once the loop has let go. Call before the loops
  // stop.
  void stop();
  // For GET /api/v1/sync on the node: node id, connected, enrolled, applied version, streams.
  Value status() const;
  void register_metrics(metrics::Registry& registry);

  struct Impl;

 private:
  EdgeAgent() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace verge::sync

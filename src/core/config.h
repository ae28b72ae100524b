// Configuration of a node. `verge edge` fills it from a YAML file (--config) and then from flags;
// flags win. The YAML keys are the flag names without the leading dashes, e.g.
//   mqtt-listen: 0.0.0.0:1883
// Unknown keys, bad values and unreadable files are errors that name the key (and line).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.h"
#include "core/result.h"
#include "core/value.h"

namespace verge {

struct ListenAddress {
  std::string host;   // "0.0.0.0", "127.0.0.1", "::", "::1"
  uint16_t port = 0;  // 0 = pick a free port (tests); the bound port is logged
  bool operator==(const ListenAddress&) const = default;
};

// Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (= 0.0.0.0). "off" yields nullopt (listener disabled).
Result<std::optional<ListenAddress>> parse_listen_address(std::string_view text);
std::string to_string(const ListenAddress& a);

struct BrokerLimits {
  uint32_t max_connections = 100000;  // max-connections
  uint16_t max_inflight = 128;        // max-inflight: Receive Maximum we announce and enforce
  uint32_t max_queued_messages =
      1000;  // max-queued-messages: per offline/slow session, oldest dropped
  uint32_t max_packet_size = 1048576;  // max-packet-size: bytes, both directions (v5 announces it)
  uint32_t max_outbound_bytes =
      1048576;  // max-outbound-bytes: unsent bytes per connection before QoS 0 is dropped
  uint32_t max_connect_rate =
      5000;  // max-connect-rate: new connections/s per listener (0 = unlimited)
  uint32_t max_publish_rate = 0;  // max-publish-rate: PUBLISH/s per client (0 = unlimited)
  uint16_t max_topic_alias = 64;  // max-topic-alias: Topic Alias Maximum we announce
  uint32_t max_session_expiry = 86400 * 7;  // max-session-expiry: seconds, caps what clients ask
  uint16_t max_keepalive = 65535;  // max-keepalive: seconds (v5 Server Keep Alive when lower)
  uint32_t sys_interval = 10;      // sys-interval: seconds between $SYS updates (0 = off)
  bool operator==(const BrokerLimits&) const = default;
};

struct TlsSettings {
  std::string cert_file;             // tls-cert: PEM server certificate (chain)
  std::string key_file;              // tls-key: PEM private key
  std::string ca_file;               // tls-ca: PEM CAs for client certificates
  bool require_client_cert = false;  // tls-require-client-cert
  bool identity_from_cert =
      false;  // tls-cert-identity: the client certificate subject CN is the username
  bool operator==(const TlsSettings&) const = default;
};

// How durable the broker's journal is before a PUBACK/PUBREC is sent (see docs/mqtt.md).
enum class JournalDurability : uint8_t {
  Batch,  // fdatasync each group of writes (default): an acknowledged message survives power loss
  Interval,  // written at once, synced every second: survives a crash of verge, not of the machine
  None,      // written at once, synced by the OS: for benchmarks and throwaway nodes
};

// Cloud-edge sync (docs/sync.md). On an edge node: the hub to connect to; on the hub (`verge
// cloud`): its storage and the names in its listener certificate.
struct SyncSettings {
  std::string hub;    // hub: HOST:PORT of the hub's TLS listener (edge); empty: standalone
  std::string token;  // token: one-time enrolment token (edge, until enrolled)
  bool uplink_samples = false;            // uplink-samples: send device data up on stream "samples"
  bool uplink_alarms = true;              // uplink-alarms: send alarm changes up on stream "alarms"
  int64_t heartbeat_ms = 10'000;          // heartbeat
  std::string storage;                    // storage: embedded (default) or postgres://... (hub)
  std::vector<std::string> server_names;  // server-names: SANs of the hub certificate (hub)
  std::string admin_token_file;  // admin-token-file: also write the first admin token here (hub)
  bool operator==(const SyncSettings&) const = default;
};

struct EdgeConfig {
  std::optional<ListenAddress> mqtt_listen = ListenAddress{"0.0.0.0", 1883};  // mqtt-listen
  std::optional<ListenAddress> mqtts_listen;                                  // mqtts-listen (TLS)
  std::optional<ListenAddress> ws_listen;                                     // ws-listen
  std::optional<ListenAddress> wss_listen;                                    // wss-listen
  std::optional<ListenAddress> http_listen = ListenAddress{"0.0.0.0", 8080};  // http-listen
  std::optional<ListenAddress> coap_listen;  // coap-listen: CoAP ingest (UDP), off by default
  std::string data_dir = "./verge-data";     // data-dir
  bool persistence = true;  // persistence: sessions and retained messages survive restarts
  JournalDurability durability = JournalDurability::Batch;  // durability
  LogLevel log_level = LogLevel::Info;                      // log-level
  TlsSettings tls;
  std::optional<bool>
      allow_anonymous;        // allow-anonymous; unset: only loopback listeners accept anonymous
  std::string password_file;  // password-file
  std::string acl_file;       // acl-file
  int64_t tsdb_retention_ms = 0;  // tsdb-retention: time-series points older are deleted; 0 = keep
  int64_t tsdb_downsample_after_ms = 0;  // tsdb-downsample-after: older kept as 1-minute rollups
  unsigned threads = 0;                  // threads: event loops; 0 = one per core
  BrokerLimits limits;
  SyncSettings sync;
  // YAML only (structured): `streams:` a list of CREATE STREAM / CREATE TABLE statements, and
  // `rules:` a list of rule objects (id, sql, actions, options; see docs/rules/api.md),
  // `profiles:` and `devices:` lists of device profiles and devices (docs/devices/model.md).
  std::vector<std::string> streams;
  std::vector<Value> rules;
  std::vector<Value> profiles;
  std::vector<Value> devices;
  bool operator==(const EdgeConfig&) const = default;
};

// Applies the keys of a YAML document to `cfg`. Errors read like
//   "config.yaml:7: unknown key 'mqtt-listn'" or "config.yaml:3: max-inflight: expected 1..65535".
Result<void> apply_yaml_file(const std::string& path, EdgeConfig& cfg);
Result<void> apply_yaml_text(std::string_view text, std::string_view name, EdgeConfig& cfg);

// A YAML document as a Value, with plain scalars typed as in the configuration (null, bool, int,
// float; quoted scalars stay strings). Errors read "name:LINE: invalid YAML: ...".
Result<Value> parse_yaml_value(std::string_view text, std::string_view name);

// Applies one key=value (the flag form, used by the CLI so flags and YAML share one validator).
// Errors read like "max-inflight: expected an integer 1..65535, got 'abc'" or "unknown key 'x'".
Result<void> apply_setting(std::string_view key, std::string_view value, EdgeConfig& cfg);

// Every key apply_setting accepts, in a stable order, with a one-line description (the CLI turns
// each into a --<key> flag, so the flags, the YAML keys and the validator cannot drift apart).
struct SettingInfo {
  std::string_view key;
  std::string_view help;
};
const std::vector<SettingInfo>& edge_settings();

}  // namespace verge

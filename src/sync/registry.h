// The hub's registry: nodes, enrolment tokens, API tokens, desired-state documents, alarms and the
// audit log. Durable rows live in SQLite (<data-dir>/hub.db, migrations in docs/formats/hub.md) or
// in PostgreSQL (storage = postgres://...); live status (online, last heartbeat, backlog, devices)
// is kept in memory and rebuilt from the nodes' next heartbeats after a restart.
//
// Thread-safe: every method may be called from any thread (one internal mutex; the durable writes
// are short single-row transactions). Heartbeats only touch memory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.h"
#include "core/result.h"
#include "core/value.h"

namespace verge::sync {

using Labels = std::map<std::string, std::string>;

// "k=v,k2=v2": every pair must match; "" matches every node. Errors name the bad part.
Result<Labels> parse_selector(std::string_view text);
bool selector_matches(const Labels& selector, const Labels& labels);

enum class NodeState : uint8_t { Pending, Active, Revoked };  // pending: created, not enrolled
std::string_view to_string(NodeState s);

struct NodeInfo {
  std::string id, site;
  Labels labels;
  NodeState state = NodeState::Pending;
  int64_t created_ms = 0, enrolled_ms = 0;
  std::string cert_serial;
  int64_t cert_not_after_ms = 0;
  // Live (memory only):
  bool online = false;
  int64_t last_seen_ms = 0;     // last heartbeat or message
  Value status;                 // the last heartbeat document (sync/topics.h: status)
  Value devices;                // the last devices report (a list)
  Value report;                 // the last apply report
  int64_t desired_version = 0;  // version of the effective desired document
};

enum class Role : uint8_t { Viewer, Operator, Admin };
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

struct ApiToken {
  std::string id;  // public id (the first 8 characters of the token, to list and delete)
  std::string name;
  Role role = Role::Viewer;
  int64_t created_ms = 0;
};

struct AuditEntry {
  int64_t id = 0, ts_ms = 0;
  std::string who;     // the API token's name
  std::string action;  // e.g. "node.create", "node.revoke", "desired.put", "token.create"
  std::string target;  // e.g. "node:pump-1", "selector:site=hydro"
  Value detail;
};

// Where a desired-state document applies: one node, or every node matching a selector.
struct DesiredScope {
  enum class Kind : uint8_t { Node, Selector } kind = Kind::Node;
  std::string value;        // node id, or selector text
  std::string key() const;  // "node:<id>" / "selector:<text>"
};

struct DesiredDoc {
  DesiredScope scope;
  Value doc;             // {"profiles":{...}, "devices":{...}, "streams":{...}, "rules":{...}}
  int64_t revision = 0;  // +1 per put of this scope
  int64_t updated_ms = 0;
};

struct AlarmRecord {
  std::string node, key;
  Value doc;  // as the node reported it (rules' alarm document)
  int64_t updated_ms = 0;
};

struct RegistryOptions {
  std::string data_dir;  // hub.db lives here (embedded)
  std::string storage;   // "" or "embedded": SQLite; "postgres://...": PostgreSQL
  int64_t enrol_token_ttl_ms = 24LL * 3600 * 1000;
  int64_t offline_after_ms = 90'000;  // no heartbeat for this long: offline
};

class Registry {
 public:
  static Result<std::unique_ptr<Registry>> open(const RegistryOptions& options);
  virtual ~Registry() = default;

  // Nodes. create_node returns the one-time enrolment token (only its hash is stored); a node
  // that exists and is pending gets a new token (the old one stops working); an active or revoked
  // node is an error ("node 'x' exists (active)").
  virtual Result<std::string> create_node(std::string_view id, std::string_view site,
                                          const Labels& labels, int64_t now_ms) = 0;
  // Re-enrolment: a new one-time token for an ACTIVE node (the old token stops working), for a
  // node whose enrolment reply was lost or whose key must be replaced. When it is used,
  // set_enrolled records the new certificate's serial and the old certificate is refused
  // (node_cert_valid). Errors: unknown node, "node 'x' is pending" / "... is revoked".
  virtual Result<std::string> reissue_enrol_token(std::string_view id, int64_t now_ms) = 0;
  // Consumes a token: ok once, then "token already used"; "token expired"; "unknown token".
  virtual Result<void> consume_enrol_token(std::string_view node_id, std::string_view secret,
                                           int64_t now_ms) = 0;
  // True when the token would be accepted now (the broker's CONNECT check; does not consume).
  virtual bool enrol_token_valid(std::string_view node_id, std::string_view secret,
                                 int64_t now_ms) const = 0;
  virtual Result<void> set_enrolled(std::string_view id, std::string_view cert_serial,
                                    int64_t not_after_ms, int64_t now_ms) = 0;
  virtual Result<void> revoke_node(std::string_view id, int64_t now_ms) = 0;
  virtual Result<void> delete_node(std::string_view id) = 0;
  virtual Result<void> set_labels(std::string_view id, std::string_view site,
                                  const Labels& labels) = 0;
  // set_labels that tells whether the node's effective desired document changed (its version went
  // up: labels decide which selector documents apply), so the caller can publish it.
  virtual Result<bool> relabel(std::string_view id, std::string_view site,
                               const Labels& labels) = 0;
  virtual std::optional<NodeInfo> node(std::string_view id) const = 0;
  virtual std::vector<NodeInfo> nodes(const Labels& selector) const = 0;
  // For the broker's CONNECT check of certificate identities: active and not revoked.
  virtual bool node_active(std::string_view id) const = 0;
  // The broker's CONNECT check of node certificates: the node is active and `serial` is the
  // serial of its current certificate (the last set_enrolled); an older certificate is refused.
  virtual bool node_cert_valid(std::string_view id, std::string_view serial) const = 0;

  // Live status (memory).
  virtual void heartbeat(std::string_view id, Value status, int64_t now_ms) = 0;
  virtual void set_offline(std::string_view id) = 0;
  virtual void set_devices(std::string_view id, Value devices) = 0;
  virtual void set_report(std::string_view id, Value report) = 0;
  // Marks nodes offline whose last heartbeat is older than offline_after_ms; returns how many.
  virtual size_t expire_heartbeats(int64_t now_ms) = 0;

  // Desired state. put_desired validates (sync/desired.h) and stores the scope's document;
  // it returns the ids of the nodes whose effective document changed (their version went up).
  virtual Result<std::vector<std::string>> put_desired(const DesiredScope& scope, Value doc,
                                                       int64_t now_ms) = 0;
  virtual Result<std::vector<std::string>> delete_desired(const DesiredScope& scope) = 0;
  virtual std::vector<DesiredDoc> desired_docs() const = 0;
  // The node's effective document: selector documents (oldest first) merged item by item, then
  // the node's own; with "version" set to the node's desired version.
  virtual Value effective_desired(std::string_view node_id) const = 0;

  // API tokens. create returns the token text once; check returns its entry for a valid token.
  virtual Result<std::string> create_api_token(std::string_view name, Role role,
                                               int64_t now_ms) = 0;
  virtual std::optional<ApiToken> check_api_token(std::string_view token) const = 0;
  virtual std::vector<ApiToken> api_tokens() const = 0;
  virtual Result<void> delete_api_token(std::string_view id) = 0;
  virtual bool has_api_tokens() const = 0;

  // Audit log (append-only).
  virtual Result<void> audit(std::string_view who, std::string_view action, std::string_view target,
                             const Value& detail, int64_t now_ms) = 0;
  virtual std::vector<AuditEntry> audit_log(int64_t after_id, size_t limit) const = 0;

  // Alarms reported by nodes (the "alarms" uplink stream), latest document per (node, key).
  virtual Result<void> upsert_alarm(std::string_view node, std::string_view key, const Value& doc,
                                    int64_t now_ms) = 0;
  virtual std::vector<AlarmRecord> alarms(std::string_view node) const = 0;  // "" = all

  virtual void register_metrics(metrics::Registry& registry) = 0;
};

}  // namespace verge::sync

// The registry's durable storage, behind one interface with an SQLite and a PostgreSQL
// implementation (schema: docs/formats/hub.md). The registry keeps its model in memory and writes
// through: every change is a list of row operations committed in one transaction before the
// change becomes visible in memory. Not thread-safe: the registry calls it under its mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"
#include "sync/registry.h"

namespace verge::sync::registry_internal {

// A node's durable fields (NodeInfo's live fields are ignored when writing).
struct NodeRow {
  NodeInfo node;  // id, site, labels, state, created/enrolled, cert, desired_version
};
struct NodeDelete {  // the node, its enrolment token, its own desired document and its alarms
  std::string id;
};
struct EnrolTokenRow {  // at most one per node: a new one replaces the old
  std::string node_id, hash;
  int64_t expires_ms = 0;
  bool used = false;
};
struct DesiredRow {
  DesiredDoc doc;        // doc.doc without "version"
  int64_t position = 0;  // creation order of the scope (merge order of selector documents)
};
struct DesiredDelete {
  std::string scope_key;
};
struct VersionsUpdate {  // desired_version of many nodes (one selector change may touch 10,000)
  std::vector<std::pair<std::string, int64_t>> versions;
};
struct ApiTokenRow {
  ApiToken token;
  std::string hash;
};
struct ApiTokenDelete {
  std::string id;
};
struct AlarmRow {
  AlarmRecord alarm;
};

using Op = std::variant<NodeRow, NodeDelete, EnrolTokenRow, DesiredRow, DesiredDelete,
                        VersionsUpdate, ApiTokenRow, ApiTokenDelete, AlarmRow>;

// Everything durable except the audit log (which is read on demand, it only grows).
struct Snapshot {
  std::vector<NodeInfo> nodes;
  std::vector<EnrolTokenRow> enrol_tokens;
  std::vector<DesiredRow> desired;
  std::vector<ApiTokenRow> api_tokens;
  std::vector<AlarmRecord> alarms;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<Snapshot> load() = 0;
  // All or nothing.
  virtual Result<void> commit(const std::vector<Op>& ops) = 0;
  virtual Result<void> append_audit(const AuditEntry& entry) = 0;  // entry.id is assigned
  virtual Result<std::vector<AuditEntry>> read_audit(int64_t after_id, size_t limit) = 0;
};

// <data_dir>/hub.db, migrated on open. `full_sync`: fsync every commit (the hub always does;
// tests that create thousands of nodes may not).
Result<std::unique_ptr<Backend>> open_sqlite_backend(const std::string& data_dir,
                                                     bool full_sync = true);
// A postgres:// URL; tables created (and migrated) on open.
Result<std::unique_ptr<Backend>> open_postgres_backend(const std::string& url);

// Registry::open with a given backend (tests choose one).
Result<std::unique_ptr<Registry>> open_registry(const RegistryOptions& options,
                                                std::unique_ptr<Backend> backend);

}  // namespace verge::sync::registry_internal

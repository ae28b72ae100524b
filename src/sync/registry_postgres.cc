// The registry's PostgreSQL backend (storage = postgres://...; docs/formats/hub.md).
#include <charconv>
#include <optional>
#include <string_view>
#include <variant>

#include "store/postgres.h"
#include "sync/registry_backend.h"
#include "sync/registry_labels.h"

namespace verge::sync::registry_internal {

namespace {

// Append only, like the SQLite list: a released entry is never edited. The version lives in
// schema_version (one row per component, so other components can share the database).
constexpr std::string_view kMigrations[] = {
    // 1: nodes, enrolment tokens, desired documents, API tokens, audit log, alarms.
    R"sql(
CREATE TABLE IF NOT EXISTS nodes (
  id                text PRIMARY KEY,
  site              text NOT NULL,
  labels            text NOT NULL,
  state             text NOT NULL,
  created_ms        bigint NOT NULL,
  enrolled_ms       bigint NOT NULL,
  cert_serial       text NOT NULL,
  cert_not_after_ms bigint NOT NULL,
  desired_version   bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS enrol_tokens (
  node_id    text PRIMARY KEY,
  token_hash text NOT NULL,
  expires_ms bigint NOT NULL,
  used       boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS desired_docs (
  scope_kind  text NOT NULL,
  scope_value text NOT NULL,
  position    bigint NOT NULL UNIQUE,
  document    text NOT NULL,
  revision    bigint NOT NULL,
  updated_ms  bigint NOT NULL,
  PRIMARY KEY (scope_kind, scope_value)
);
CREATE TABLE IF NOT EXISTS api_tokens (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  role       text NOT NULL,
  token_hash text NOT NULL,
  created_ms bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id     bigserial PRIMARY KEY,
  ts_ms  bigint NOT NULL,
  who    text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  detail text NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
  node       text NOT NULL,
  key        text NOT NULL,
  document   text NOT NULL,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (node, key)
);
)sql",
};

constexpr std::string_view kComponent = "registry";

using Params = std::vector<std::optional<std::string>>;
using Row = std::vector<std::optional<std::string>>;

std::string num(int64_t v) { return std::to_string(v); }

std::string_view text(const Row& row, size_t col) {
  return col < row.size() && row[col] ? std::string_view(*row[col]) : std::string_view();
}

// Columns are bigint, so the text always parses; anything else reads as 0.
int64_t integer(const Row& row, size_t col) {
  const std::string_view t = text(row, col);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

Result<Value> json(const Row& row, size_t col, std::string_view what) {
  auto v = parse_json(text(row, col));
  if (!v) {
    return unexpected(Error{"postgres: " + std::string(what) + ": bad JSON: " + v.error().message});
  }
  return *v;
}

// A PostgreSQL array literal of text elements: {"a","b"} with " and \ escaped.
std::string text_array(const std::vector<std::pair<std::string, int64_t>>& items) {
  std::string out = "{";
  for (const auto& [s, unused] : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string int_array(const std::vector<std::pair<std::string, int64_t>>& items) {
  std::string out = "{";
  for (const auto& [unused, v] : items) {
    if (out.size() > 1) out += ',';
    out += num(v);
  }
  return out + "}";
}

std::string scope_kind_text(DesiredScope::Kind k) {
  return k == DesiredScope::Kind::Node ? "node" : "selector";
}

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(std::unique_ptr<store::Postgres> pg) : pg_(std::move(pg)) {}

  Result<void> migrate() {
    if (auto r = pg_->begin(); !r) return r;
    auto r = migrate_in_transaction();
    if (!r) {
      (void)pg_->rollback();
      return r;
    }
    return pg_->commit();
  }

  Result<Snapshot> load() override {
    Snapshot s;
    auto nodes = pg_->query(
        "SELECT id, site, labels, state, created_ms, enrolled_ms, cert_serial, cert_not_after_ms, "
        "desired_version FROM nodes ORDER BY id");
    if (!nodes) return unexpected(nodes.error());
    for (const Row& row : nodes->rows) {
      NodeInfo& n = s.nodes.emplace_back();
      n.id = text(row, 0);
      n.site = text(row, 1);
      auto labels = labels_from_json(text(row, 2));
      if (!labels)
        return unexpected(Error{"postgres: node " + n.id + ": " + labels.error().message});
      n.labels = std::move(*labels);
      n.state = node_state_from(text(row, 3));
      n.created_ms = integer(row, 4);
      n.enrolled_ms = integer(row, 5);
      n.cert_serial = text(row, 6);
      n.cert_not_after_ms = integer(row, 7);
      n.desired_version = integer(row, 8);
    }
    auto tokens = pg_->query("SELECT node_id, token_hash, expires_ms, used FROM enrol_tokens");
    if (!tokens) return unexpected(tokens.error());
    for (const Row& row : tokens->rows) {
      s.enrol_tokens.push_back(EnrolTokenRow{std::string(text(row, 0)), std::string(text(row, 1)),
                                             integer(row, 2), text(row, 3) == "t"});
    }
    auto desired = pg_->query(
        "SELECT scope_kind, scope_value, position, document, revision, updated_ms FROM "
        "desired_docs ORDER BY position");
    if (!desired) return unexpected(desired.error());
    for (const Row& row : desired->rows) {
      DesiredRow& r = s.desired.emplace_back();
      r.doc.scope.kind =
          text(row, 0) == "node" ? DesiredScope::Kind::Node : DesiredScope::Kind::Selector;
      r.doc.scope.value = text(row, 1);
      r.position = integer(row, 2);
      auto doc = json(row, 3, "desired " + r.doc.scope.key());
      if (!doc) return unexpected(doc.error());
      r.doc.doc = std::move(*doc);
      r.doc.revision = integer(row, 4);
      r.doc.updated_ms = integer(row, 5);
    }
    auto api =
        pg_->query("SELECT id, name, role, token_hash, created_ms FROM api_tokens ORDER BY id");
    if (!api) return unexpected(api.error());
    for (const Row& row : api->rows) {
      ApiTokenRow& r = s.api_tokens.emplace_back();
      r.token.id = text(row, 0);
      r.token.name = text(row, 1);
      r.token.role = parse_role(text(row, 2)).value_or(Role::Viewer);  // fails closed
      r.hash = text(row, 3);
      r.token.created_ms = integer(row, 4);
    }
    auto alarms =
        pg_->query("SELECT node, key, document, updated_ms FROM alarms ORDER BY node, key");
    if (!alarms) return unexpected(alarms.error());
    for (const Row& row : alarms->rows) {
      AlarmRecord& a = s.alarms.emplace_back();
      a.node = text(row, 0);
      a.key = text(row, 1);
      auto doc = json(row, 2, "alarm " + a.node + "/" + a.key);
      if (!doc) return unexpected(doc.error());
      a.doc = std::move(*doc);
      a.updated_ms = integer(row, 3);
    }
    return s;
  }

  Result<void> commit(const std::vector<Op>& ops) override {
    pg_->ensure_connected();
    if (auto r = pg_->begin(); !r) return r;
    for (const Op& op : ops) {
      auto r = std::visit([this](const auto& o) { return apply(o); }, op);
      if (!r) {
        (void)pg_->rollback();
        return r;
      }
    }
    return pg_->commit();
  }

  Result<void> append_audit(const AuditEntry& e) override {
    pg_->ensure_connected();
    return run("INSERT INTO audit (ts_ms, who, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
               {num(e.ts_ms), e.who, e.action, e.target, e.detail.to_json()});
  }

  Result<std::vector<AuditEntry>> read_audit(int64_t after_id, size_t limit) override {
    pg_->ensure_connected();
    auto rows = pg_->query(
        "SELECT id, ts_ms, who, action, target, detail FROM audit WHERE id > $1 ORDER BY id "
        "LIMIT $2",
        {num(after_id), num(static_cast<int64_t>(limit))});
    if (!rows) return unexpected(rows.error());
    std::vector<AuditEntry> out;
    out.reserve(rows->rows.size());
    for (const Row& row : rows->rows) {
      AuditEntry& e = out.emplace_back();
      e.id = integer(row, 0);
      e.ts_ms = integer(row, 1);
      e.who = text(row, 2);
      e.action = text(row, 3);
      e.target = text(row, 4);
      auto detail = json(row, 5, "audit.detail");
      if (!detail) return unexpected(detail.error());
      e.detail = std::move(*detail);
    }
    return out;
  }

 private:
  Result<void> run(std::string_view sql, const Params& params) {
    auto r = pg_->exec_params(sql, params);
    if (!r) return unexpected(r.error());
    return {};
  }

  Result<void> migrate_in_transaction() {
    // Two hubs starting on one database: the second waits here, then sees the new version.
    if (auto r = pg_->query("SELECT pg_advisory_xact_lock(hashtext('verge.registry.migrate'))");
        !r) {
      return unexpected(r.error());
    }
    if (auto r = pg_->exec(
            "CREATE TABLE IF NOT EXISTS schema_version (component text PRIMARY KEY, version "
            "bigint NOT NULL)");
        !r) {
      return r;
    }
    auto cur = pg_->query("SELECT version FROM schema_version WHERE component = $1",
                          {std::string(kComponent)});
    if (!cur) return unexpected(cur.error());
    const int64_t version = cur->rows.empty() ? 0 : integer(cur->rows[0], 0);
    const auto known = static_cast<int64_t>(std::size(kMigrations));
    if (version > known) {
      return unexpected(Error{"postgres: the registry's schema version is " + num(version) +
                              ", this verge knows up to " + num(known) +
                              ": upgrade verge or restore a backup"});
    }
    for (int64_t v = version; v < known; ++v) {
      if (auto r = pg_->exec(kMigrations[static_cast<size_t>(v)]); !r) {
        return unexpected(Error{"registry migration " + num(v + 1) + ": " + r.error().message});
      }
    }
    if (version == known) return {};
    return run(
        "INSERT INTO schema_version (component, version) VALUES ($1, $2) ON CONFLICT (component) "
        "DO UPDATE SET version = EXCLUDED.version",
        {std::string(kComponent), num(known)});
  }

  Result<void> apply(const NodeRow& r) {
    const NodeInfo& n = r.node;
    return run(
        "INSERT INTO nodes (id, site, labels, state, created_ms, enrolled_ms, cert_serial, "
        "cert_not_after_ms, desired_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (id) DO UPDATE SET site = EXCLUDED.site, labels = EXCLUDED.labels, "
        "state = EXCLUDED.state, created_ms = EXCLUDED.created_ms, enrolled_ms = "
        "EXCLUDED.enrolled_ms, cert_serial = EXCLUDED.cert_serial, cert_not_after_ms = "
        "EXCLUDED.cert_not_after_ms, desired_version = EXCLUDED.desired_version",
        {n.id, n.site, labels_to_json(n.labels), std::string(to_string(n.state)), num(n.created_ms),
         num(n.enrolled_ms), n.cert_serial, num(n.cert_not_after_ms), num(n.desired_version)});
  }
  Result<void> apply(const NodeDelete& r) {
    for (std::string_view sql :
         {"DELETE FROM nodes WHERE id = $1", "DELETE FROM enrol_tokens WHERE node_id = $1",
          "DELETE FROM alarms WHERE node = $1",
          "DELETE FROM desired_docs WHERE scope_kind = 'node' AND "
          "scope_value = $1"}) {
      if (auto x = run(sql, {r.id}); !x) return x;
    }
    return {};
  }
  Result<void> apply(const EnrolTokenRow& r) {
    return run(
        "INSERT INTO enrol_tokens (node_id, token_hash, expires_ms, used) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (node_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_ms = "
        "EXCLUDED.expires_ms, used = EXCLUDED.used",
        {r.node_id, r.hash, num(r.expires_ms), std::string(r.used ? "true" : "false")});
  }
  Result<void> apply(const DesiredRow& r) {
    const DesiredDoc& d = r.doc;
    return run(
        "INSERT INTO desired_docs (scope_kind, scope_value, position, document, revision, "
        "updated_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope_kind, scope_value) DO "
        "UPDATE SET position = EXCLUDED.position, document = EXCLUDED.document, revision = "
        "EXCLUDED.revision, updated_ms = EXCLUDED.updated_ms",
        {scope_kind_text(d.scope.kind), d.scope.value, num(r.position), d.doc.to_json(),
         num(d.revision), num(d.updated_ms)});
  }
  Result<void> apply(const DesiredDelete& r) {
    const bool node = r.scope_key.starts_with("node:");
    return run(
        "DELETE FROM desired_docs WHERE scope_kind = $1 AND scope_value = $2",
        {std::string(node ? "node" : "selector"), r.scope_key.substr(r.scope_key.find(':') + 1)});
  }
  // One statement for any number of nodes: a round trip per node would take seconds for 10,000.
  Result<void> apply(const VersionsUpdate& r) {
    if (r.versions.empty()) return {};
    return run(
        "UPDATE nodes SET desired_version = v.version FROM unnest($1::text[], $2::bigint[]) AS "
        "v(id, version) WHERE nodes.id = v.id",
        {text_array(r.versions), int_array(r.versions)});
  }
  Result<void> apply(const ApiTokenRow& r) {
    const ApiToken& t = r.token;
    return run(
        "INSERT INTO api_tokens (id, name, role, token_hash, created_ms) VALUES ($1, $2, $3, $4, "
        "$5) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role, "
        "token_hash = EXCLUDED.token_hash, created_ms = EXCLUDED.created_ms",
        {t.id, t.name, std::string(to_string(t.role)), r.hash, num(t.created_ms)});
  }
  Result<void> apply(const ApiTokenDelete& r) {
    return run("DELETE FROM api_tokens WHERE id = $1", {r.id});
  }
  Result<void> apply(const AlarmRow& r) {
    const AlarmRecord& a = r.alarm;
    return run(
        "INSERT INTO alarms (node, key, document, updated_ms) VALUES ($1, $2, $3, $4) ON CONFLICT "
        "(node, key) DO UPDATE SET document = EXCLUDED.document, updated_ms = EXCLUDED.updated_ms",
        {a.node, a.key, a.doc.to_json(), num(a.updated_ms)});
  }

  std::unique_ptr<store::Postgres> pg_;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_postgres_backend(const std::string& url) {
  auto pg = store::Postgres::connect(url);
  if (!pg) return unexpected(pg.error());
  auto backend = std::make_unique<PostgresBackend>(std::move(*pg));
  if (auto r = backend->migrate(); !r) return unexpected(r.error());
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace verge::sync::registry_internal

// The registry's SQLite backend: <data_dir>/hub.db (docs/formats/hub.md).
#include <initializer_list>
#include <string_view>
#include <variant>

#include "store/migrations.h"
#include "store/sqlite.h"
#include "sync/registry_backend.h"
#include "sync/registry_labels.h"

namespace verge::sync::registry_internal {

namespace {

// Append only: a released entry is never edited (docs/formats/hub.md, "Migrations").
constexpr std::string_view kMigrations[] = {
    // 1: nodes, enrolment tokens, desired documents, API tokens, audit log, alarms.
    R"sql(
CREATE TABLE nodes (
  id                TEXT PRIMARY KEY,
  site              TEXT NOT NULL,
  labels            TEXT NOT NULL,
  state             TEXT NOT NULL,
  created_ms        INTEGER NOT NULL,
  enrolled_ms       INTEGER NOT NULL,
  cert_serial       TEXT NOT NULL,
  cert_not_after_ms INTEGER NOT NULL,
  desired_version   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE enrol_tokens (
  node_id    TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  used       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE desired_docs (
  scope_kind  TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  position    INTEGER NOT NULL UNIQUE,
  document    TEXT NOT NULL,
  revision    INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  PRIMARY KEY (scope_kind, scope_value)
) WITHOUT ROWID;
CREATE TABLE api_tokens (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  role       TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE audit (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms  INTEGER NOT NULL,
  who    TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE TABLE alarms (
  node       TEXT NOT NULL,
  key        TEXT NOT NULL,
  document   TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (node, key)
) WITHOUT ROWID;
)sql",
};

using Param = std::variant<int64_t, std::string_view>;

Result<void> bind_all(store::Statement& st, std::initializer_list<Param> params) {
  int i = 1;
  for (const Param& p : params) {
    auto r = std::holds_alternative<int64_t>(p) ? st.bind_int(i, std::get<int64_t>(p))
                                                : st.bind_text(i, std::get<std::string_view>(p));
    if (!r) return r;
    ++i;
  }
  return {};
}

Result<void> run(store::Database& db, std::string_view sql, std::initializer_list<Param> params) {
  auto st = db.prepare(sql);
  if (!st) return unexpected(st.error());
  if (auto r = bind_all(*st, params); !r) return r;
  return st->run();
}

Result<Value> json_column(const store::Statement& st, int col, std::string_view what) {
  auto v = parse_json(st.column_text(col));
  if (!v)
    return unexpected(Error{"hub.db: " + std::string(what) + ": bad JSON: " + v.error().message});
  return *v;
}

std::string_view scope_kind_text(DesiredScope::Kind k) {
  return k == DesiredScope::Kind::Node ? "node" : "selector";
}

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(std::unique_ptr<store::Database> db) : db_(std::move(db)) {}

  Result<Snapshot> load() override {
    Snapshot s;
    if (auto r = load_nodes(s); !r) return unexpected(r.error());
    if (auto r = load_tokens(s); !r) return unexpected(r.error());
    if (auto r = load_desired(s); !r) return unexpected(r.error());
    if (auto r = load_api_tokens(s); !r) return unexpected(r.error());
    if (auto r = load_alarms(s); !r) return unexpected(r.error());
    return s;
  }

  Result<void> commit(const std::vector<Op>& ops) override {
    auto tx = store::Transaction::begin(*db_);
    if (!tx) return unexpected(tx.error());
    for (const Op& op : ops) {
      if (auto r = std::visit([this](const auto& o) { return apply(o); }, op); !r) return r;
    }
    return tx->commit();
  }

  Result<void> append_audit(const AuditEntry& e) override {
    return run(*db_,
               "INSERT INTO audit (ts_ms, who, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
               {e.ts_ms, e.who, e.action, e.target, e.detail.to_json()});
  }

  Result<std::vector<AuditEntry>> read_audit(int64_t after_id, size_t limit) override {
    auto st = db_->prepare(
        "SELECT id, ts_ms, who, action, target, detail FROM audit WHERE id > ?1 ORDER BY id "
        "LIMIT ?2");
    if (!st) return unexpected(st.error());
    if (auto r = bind_all(*st, {after_id, static_cast<int64_t>(limit)}); !r) {
      return unexpected(r.error());
    }
    std::vector<AuditEntry> out;
    while (true) {
      auto row = st->step();
      if (!row) return unexpected(row.error());
      if (!*row) break;
      AuditEntry& e = out.emplace_back();
      e.id = st->column_int(0);
      e.ts_ms = st->column_int(1);
      e.who = st->column_text(2);
      e.action = st->column_text(3);
      e.target = st->column_text(4);
      auto detail = json_column(*st, 5, "audit.detail");
      if (!detail) return unexpected(detail.error());
      e.detail = std::move(*detail);
    }
    return out;
  }

 private:
  Result<void> apply(const NodeRow& r) {
    const NodeInfo& n = r.node;
    return run(*db_,
               "INSERT OR REPLACE INTO nodes (id, site, labels, state, created_ms, enrolled_ms, "
               "cert_serial, cert_not_after_ms, desired_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
               "?7, ?8, ?9)",
               {n.id, n.site, labels_to_json(n.labels), to_string(n.state), n.created_ms,
                n.enrolled_ms, n.cert_serial, n.cert_not_after_ms, n.desired_version});
  }
  Result<void> apply(const NodeDelete& r) {
    for (std::string_view sql :
         {"DELETE FROM nodes WHERE id = ?1", "DELETE FROM enrol_tokens WHERE node_id = ?1",
          "DELETE FROM alarms WHERE node = ?1"}) {
      if (auto x = run(*db_, sql, {r.id}); !x) return x;
    }
    return run(*db_, "DELETE FROM desired_docs WHERE scope_kind = 'node' AND scope_value = ?1",
               {r.id});
  }
  Result<void> apply(const EnrolTokenRow& r) {
    return run(*db_,
               "INSERT OR REPLACE INTO enrol_tokens (node_id, token_hash, expires_ms, used) "
               "VALUES (?1, ?2, ?3, ?4)",
               {r.node_id, r.hash, r.expires_ms, int64_t{r.used ? 1 : 0}});
  }
  Result<void> apply(const DesiredRow& r) {
    const DesiredDoc& d = r.doc;
    return run(*db_,
               "INSERT OR REPLACE INTO desired_docs (scope_kind, scope_value, position, document, "
               "revision, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
               {scope_kind_text(d.scope.kind), d.scope.value, r.position, d.doc.to_json(),
                d.revision, d.updated_ms});
  }
  Result<void> apply(const DesiredDelete& r) {
    const bool node = r.scope_key.starts_with("node:");
    const std::string_view value = std::string_view(r.scope_key).substr(r.scope_key.find(':') + 1);
    return run(*db_, "DELETE FROM desired_docs WHERE scope_kind = ?1 AND scope_value = ?2",
               {node ? "node" : "selector", value});
  }
  Result<void> apply(const VersionsUpdate& r) {
    for (const auto& [id, version] : r.versions) {
      if (auto x = run(*db_, "UPDATE nodes SET desired_version = ?2 WHERE id = ?1", {id, version});
          !x) {
        return x;
      }
    }
    return {};
  }
  Result<void> apply(const ApiTokenRow& r) {
    const ApiToken& t = r.token;
    return run(*db_,
               "INSERT OR REPLACE INTO api_tokens (id, name, role, token_hash, created_ms) VALUES "
               "(?1, ?2, ?3, ?4, ?5)",
               {t.id, t.name, to_string(t.role), r.hash, t.created_ms});
  }
  Result<void> apply(const ApiTokenDelete& r) {
    return run(*db_, "DELETE FROM api_tokens WHERE id = ?1", {r.id});
  }
  Result<void> apply(const AlarmRow& r) {
    const AlarmRecord& a = r.alarm;
    return run(*db_,
               "INSERT OR REPLACE INTO alarms (node, key, document, updated_ms) VALUES (?1, ?2, "
               "?3, ?4)",
               {a.node, a.key, a.doc.to_json(), a.updated_ms});
  }

  // Runs `sql` and calls `row` for each result row.
  template <class F>
  Result<void> each_row(std::string_view sql, F&& row) {
    auto st = db_->prepare(sql);
    if (!st) return unexpected(st.error());
    while (true) {
      auto has = st->step();
      if (!has) return unexpected(has.error());
      if (!*has) return {};
      if (auto r = row(*st); !r) return r;
    }
  }

  Result<void> load_nodes(Snapshot& s) {
    return each_row(
        "SELECT id, site, labels, state, created_ms, enrolled_ms, cert_serial, cert_not_after_ms, "
        "desired_version FROM nodes ORDER BY id",
        [&](const store::Statement& st) -> Result<void> {
          NodeInfo& n = s.nodes.emplace_back();
          n.id = st.column_text(0);
          n.site = st.column_text(1);
          auto labels = labels_from_json(st.column_text(2));
          if (!labels)
            return unexpected(Error{"hub.db: node " + n.id + ": " + labels.error().message});
          n.labels = std::move(*labels);
          n.state = node_state_from(st.column_text(3));
          n.created_ms = st.column_int(4);
          n.enrolled_ms = st.column_int(5);
          n.cert_serial = st.column_text(6);
          n.cert_not_after_ms = st.column_int(7);
          n.desired_version = st.column_int(8);
          return {};
        });
  }
  Result<void> load_tokens(Snapshot& s) {
    return each_row("SELECT node_id, token_hash, expires_ms, used FROM enrol_tokens",
                    [&](const store::Statement& st) -> Result<void> {
                      s.enrol_tokens.push_back(EnrolTokenRow{
                          std::string(st.column_text(0)), std::string(st.column_text(1)),
                          st.column_int(2), st.column_int(3) != 0});
                      return {};
                    });
  }
  Result<void> load_desired(Snapshot& s) {
    return each_row(
        "SELECT scope_kind, scope_value, position, document, revision, updated_ms FROM "
        "desired_docs ORDER BY position",
        [&](const store::Statement& st) -> Result<void> {
          DesiredRow& r = s.desired.emplace_back();
          r.doc.scope.kind =
              st.column_text(0) == "node" ? DesiredScope::Kind::Node : DesiredScope::Kind::Selector;
          r.doc.scope.value = st.column_text(1);
          r.position = st.column_int(2);
          auto doc = json_column(st, 3, "desired " + r.doc.scope.key());
          if (!doc) return unexpected(doc.error());
          r.doc.doc = std::move(*doc);
          r.doc.revision = st.column_int(4);
          r.doc.updated_ms = st.column_int(5);
          return {};
        });
  }
  Result<void> load_api_tokens(Snapshot& s) {
    return each_row("SELECT id, name, role, token_hash, created_ms FROM api_tokens ORDER BY id",
                    [&](const store::Statement& st) -> Result<void> {
                      ApiTokenRow& r = s.api_tokens.emplace_back();
                      r.token.id = st.column_text(0);
                      r.token.name = st.column_text(1);
                      // An unknown role fails closed to the least privilege.
                      r.token.role = parse_role(st.column_text(2)).value_or(Role::Viewer);
                      r.hash = st.column_text(3);
                      r.token.created_ms = st.column_int(4);
                      return {};
                    });
  }
  Result<void> load_alarms(Snapshot& s) {
    return each_row("SELECT node, key, document, updated_ms FROM alarms ORDER BY node, key",
                    [&](const store::Statement& st) -> Result<void> {
                      AlarmRecord& a = s.alarms.emplace_back();
                      a.node = st.column_text(0);
                      a.key = st.column_text(1);
                      auto doc = json_column(st, 2, "alarm " + a.node + "/" + a.key);
                      if (!doc) return unexpected(doc.error());
                      a.doc = std::move(*doc);
                      a.updated_ms = st.column_int(3);
                      return {};
                    });
  }

  std::unique_ptr<store::Database> db_;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_sqlite_backend(const std::string& data_dir, bool full_sync) {
  const std::string path = data_dir + "/hub.db";
  // A damaged or foreign file stops the hub with a message an operator can act on.
  auto refuse = [&path](const Error& e) {
    return Error{path + ": cannot open the hub registry (" + e.message +
                 "): restore a backup, or move the file away to start with an empty registry"};
  };
  store::DatabaseOptions options;
  options.synchronous = full_sync ? store::Synchronous::Full : store::Synchronous::Normal;
  auto db = store::Database::open(path, options);
  if (!db) return unexpected(refuse(db.error()));
  // O(size), but the registry is small; it finds a damaged page now rather than mid-operation.
  {
    auto st = (*db)->prepare("PRAGMA quick_check");
    if (!st) return unexpected(refuse(st.error()));
    auto row = st->step();
    if (!row) return unexpected(refuse(row.error()));
    if (!*row || st->column_text(0) != "ok") {
      return unexpected(
          refuse(Error{"quick_check: " + std::string(*row ? st->column_text(0) : "")}));
    }
  }
  if (auto m = store::migrate(**db, kMigrations); !m) return unexpected(m.error());
  return std::unique_ptr<Backend>(new SqliteBackend(std::move(*db)));
}

}  // namespace verge::sync::registry_internal

#include "store/metadata.h"

#include <sqlite3.h>

#include <chrono>

#include "store/migrations.h"

namespace verge::store {

namespace {

// Append only: a released entry is never edited (docs/formats/metadata.md).
constexpr std::string_view kMigrations[] = {
    // 1: key/value settings and configuration versions.
    R"sql(
CREATE TABLE kv (
  namespace  TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE TABLE config_versions (
  version    INTEGER PRIMARY KEY,
  applied_at INTEGER NOT NULL,
  document   TEXT NOT NULL
);
)sql",
    // 2: the rule engine: streams and rules managed over REST, and alarms.
    R"sql(
CREATE TABLE rule_streams (
  name       TEXT PRIMARY KEY,
  sql        TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE rules (
  id         TEXT PRIMARY KEY,
  spec       TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE alarms (
  id           INTEGER PRIMARY KEY,
  key          TEXT NOT NULL,
  rule         TEXT NOT NULL,
  severity     TEXT NOT NULL,
  message      TEXT NOT NULL,
  state        TEXT NOT NULL,
  acked        INTEGER NOT NULL DEFAULT 0,
  acked_by     TEXT,
  count        INTEGER NOT NULL,
  flapping     INTEGER NOT NULL DEFAULT 0,
  details      TEXT NOT NULL,
  raised_at    INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  cleared_at   INTEGER,
  acked_at     INTEGER
);
CREATE UNIQUE INDEX alarms_active_key ON alarms(key) WHERE state = 'active';
CREATE INDEX alarms_by_time ON alarms(raised_at);
)sql",
    // 3: device access: profiles and devices managed over REST, and the command queue.
    R"sql(
CREATE TABLE device_profiles (
  name       TEXT PRIMARY KEY,
  spec       TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE devices (
  id         TEXT PRIMARY KEY,
  spec       TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE device_commands (
  id         INTEGER PRIMARY KEY,
  device     TEXT NOT NULL,
  point      TEXT NOT NULL,
  value      TEXT NOT NULL,
  status     TEXT NOT NULL,
  error      TEXT NOT NULL DEFAULT '',
  source     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX device_commands_open ON device_commands(status) WHERE status IN ('queued', 'sent');
CREATE INDEX device_commands_by_device ON device_commands(device, id);
)sql",
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A corrupt or foreign file must stop start-up with a message an operator can act on.
Error corrupt(const std::string& path, const std::string& detail) {
  return Error{path + " is corrupt or not a verge metadata database (" + detail +
               "): restore a backup, or move the file away to start with empty metadata"};
}

// SQLite's own words for a damaged or foreign file ("file is not a database", "database disk
// image is malformed"), as opposed to e.g. a permission problem; null when it is not corruption.
const char* corruption_in(const Error& e) {
  for (int code : {SQLITE_NOTADB, SQLITE_CORRUPT}) {
    const char* words = sqlite3_errstr(code);
    if (e.message.find(words) != std::string::npos) return words;
  }
  return nullptr;
}

// An error from opening or checking: the operator's message for corruption, else as it is.
Error open_error(const std::string& path, const Error& e) {
  if (const char* words = corruption_in(e)) return corrupt(path, words);
  return e;
}

}  // namespace

std::span<const std::string_view> metadata_migrations() { return kMigrations; }

Result<std::unique_ptr<MetadataStore>> MetadataStore::open(const std::string& dir,
                                                           const DatabaseOptions& options) {
  const std::string path = dir + "/meta.db";
  auto db = Database::open(path, options);
  if (!db) return unexpected(open_error(path, db.error()));
  // quick_check is O(size) but the metadata is small; it catches a truncated or damaged file at
  // start-up instead of at the first query that touches the damaged page.
  {
    auto st = (*db)->prepare("PRAGMA quick_check");
    if (!st) return unexpected(open_error(path, st.error()));
    auto row = st->step();
    if (!row) return unexpected(open_error(path, row.error()));
    if (!*row) return unexpected(corrupt(path, "quick_check returned nothing"));
    if (st->column_text(0) != "ok") {
      return unexpected(corrupt(path, "quick_check: " + std::string(st->column_text(0))));
    }
  }
  auto migrated = migrate(**db, metadata_migrations());
  if (!migrated) return unexpected(open_error(path, migrated.error()));
  return std::unique_ptr<MetadataStore>(new MetadataStore(std::move(*db), migrated->to_version));
}

Result<std::optional<std::string>> MetadataStore::kv_get(std::string_view ns,
                                                         std::string_view key) {
  auto st = db_->prepare("SELECT value FROM kv WHERE namespace = ?1 AND key = ?2");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, ns); !r) return unexpected(r.error());
  if (auto r = st->bind_text(2, key); !r) return unexpected(r.error());
  auto row = st->step();
  if (!row) return unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st->column_blob(0)));
}

Result<void> MetadataStore::kv_put(std::string_view ns, std::string_view key,
                                   std::string_view value) {
  auto st = db_->prepare(
      "INSERT INTO kv (namespace, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
      "updated_at = excluded.updated_at");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, ns); !r) return r;
  if (auto r = st->bind_text(2, key); !r) return r;
  if (auto r = st->bind_blob(3, value); !r) return r;
  if (auto r = st->bind_int(4, now_ms()); !r) return r;
  return st->run();
}

Result<bool> MetadataStore::kv_delete(std::string_view ns, std::string_view key) {
  auto st = db_->prepare("DELETE FROM kv WHERE namespace = ?1 AND key = ?2");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, ns); !r) return unexpected(r.error());
  if (auto r = st->bind_text(2, key); !r) return unexpected(r.error());
  if (auto r = st->run(); !r) return unexpected(r.error());
  return db_->changes() > 0;
}

Result<std::vector<std::pair<std::string, std::string>>> MetadataStore::kv_list(
    std::string_view ns) {
  auto st = db_->prepare("SELECT key, value FROM kv WHERE namespace = ?1 ORDER BY key");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, ns); !r) return unexpected(r.error());
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto row = st->step();
    if (!row) return unexpected(row.error());
    if (!*row) break;
    out.emplace_back(std::string(st->column_text(0)), std::string(st->column_blob(1)));
  }
  return out;
}

Result<int64_t> MetadataStore::add_config_version(std::string_view document) {
  auto st = db_->prepare(
      "INSERT INTO config_versions (version, applied_at, document) "
      "VALUES ((SELECT COALESCE(MAX(version), 0) + 1 FROM config_versions), ?1, ?2) "
      "RETURNING version");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_int(1, now_ms()); !r) return unexpected(r.error());
  if (auto r = st->bind_text(2, document); !r) return unexpected(r.error());
  auto row = st->step();
  if (!row) return unexpected(row.error());
  if (!*row) return unexpected(Error{"sqlite: INSERT ... RETURNING returned no row"});
  const int64_t version = st->column_int(0);
  // RETURNING statements finish their write when stepped to the end.
  auto done = st->step();
  if (!done) return unexpected(done.error());
  return version;
}

Result<std::optional<ConfigVersion>> MetadataStore::latest_config_version() {
  auto st = db_->prepare(
      "SELECT version, applied_at, document FROM config_versions ORDER BY version DESC LIMIT 1");
  if (!st) return unexpected(st.error());
  auto row = st->step();
  if (!row) return unexpected(row.error());
  if (!*row) return std::optional<ConfigVersion>();
  return std::optional<ConfigVersion>(
      ConfigVersion{st->column_int(0), st->column_int(1), std::string(st->column_text(2))});
}

}  // namespace verge::store

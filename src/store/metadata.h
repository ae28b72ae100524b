// The metadata store of a node: `<data-dir>/meta.db`, an SQLite database for small relational
// state (key/value settings and configuration versions now; registries, twins, alarms, users and
// audit in later migrations). The schema and its migration rule are in docs/formats/metadata.md.
//
// Start-up refuses, with a message naming the file, a database that is corrupt (not a database,
// or failing `PRAGMA quick_check`) or whose schema is newer than this binary knows.
//
// Threading: single writer. A MetadataStore belongs to one thread (or is guarded by the caller's
// mutex); another thread that only reads opens its own read-only Database on path().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/sqlite.h"

namespace verge::store {

// The schema of meta.db, one migration per entry (see store/migrations.h for the rule).
std::span<const std::string_view> metadata_migrations();

struct ConfigVersion {
  int64_t version = 0;
  int64_t applied_at_ms = 0;  // Unix time in milliseconds
  std::string document;
};

class MetadataStore {
 public:
  // Opens or creates `<dir>/meta.db` (the directory must exist) and migrates it.
  static Result<std::unique_ptr<MetadataStore>> open(const std::string& dir,
                                                     const DatabaseOptions& options = {});

  int64_t schema_version() const { return schema_version_; }
  const std::string& path() const { return db_->path(); }
  // For the typed stores of later issues, which add their own tables through migrations.
  Database& db() { return *db_; }

  // Key/value settings by namespace. Values are bytes.
  Result<std::optional<std::string>> kv_get(std::string_view ns, std::string_view key);
  Result<void> kv_put(std::string_view ns, std::string_view key, std::string_view value);
  Result<bool> kv_delete(std::string_view ns, std::string_view key);  // true: it existed
  // All pairs of a namespace in key order.
  Result<std::vector<std::pair<std::string, std::string>>> kv_list(std::string_view ns);

  // Configuration documents, numbered from 1 in the order they were applied.
  Result<int64_t> add_config_version(std::string_view document);
  Result<std::optional<ConfigVersion>> latest_config_version();

 private:
  MetadataStore(std::unique_ptr<Database> db, int64_t version)
      : db_(std::move(db)), schema_version_(version) {}

  std::unique_ptr<Database> db_;
  int64_t schema_version_;
};

}  // namespace verge::store

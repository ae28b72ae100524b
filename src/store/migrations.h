// Schema migrations for an SQLite database: an ordered list of SQL scripts, where script i
// (0-based) takes the schema from version i to version i+1. The version lives in
// `PRAGMA user_version` (0 for a new file), so it is read and written with the schema itself.
//
// Rules: a migration, once released, is never edited; changes are new migrations appended at the
// end. Each migration runs in its own transaction together with the version bump, so a failure
// (or a crash) leaves the database at the previous version, never half-migrated.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "store/sqlite.h"

namespace verge::store {

struct MigrationOutcome {
  int64_t from_version = 0;
  int64_t to_version = 0;
};

// Brings `db` up to migrations.size(). A database newer than that is refused with
// "<path> has schema version N, this verge knows up to M: upgrade verge or restore a backup".
Result<MigrationOutcome> migrate(Database& db, std::span<const std::string_view> migrations);

}  // namespace verge::store

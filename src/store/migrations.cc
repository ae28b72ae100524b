#include "store/migrations.h"

#include <string>

namespace verge::store {

namespace {

Error newer_than_known(const Database& db, int64_t version, int64_t known) {
  return Error{db.path() + " has schema version " + std::to_string(version) +
               ", this verge knows up to " + std::to_string(known) +
               ": upgrade verge or restore a backup"};
}

}  // namespace

Result<MigrationOutcome> migrate(Database& db, std::span<const std::string_view> migrations) {
  auto current = db.query_int("PRAGMA user_version");
  if (!current) return unexpected(current.error());
  const auto known = static_cast<int64_t>(migrations.size());
  MigrationOutcome out{*current, *current};
  if (*current > known) return unexpected(newer_than_known(db, *current, known));
  for (int64_t v = *current; v < known; ++v) {
    auto tx = Transaction::begin(db);
    if (!tx) return unexpected(tx.error());
    // Another process may have migrated between our read and BEGIN IMMEDIATE; re-read under the
    // write lock so a migration never runs twice.
    auto now = db.query_int("PRAGMA user_version");
    if (!now) return unexpected(now.error());
    if (*now != v) {
      if (*now > known) return unexpected(newer_than_known(db, *now, known));
      out.to_version = *now;
      v = *now - 1;
      continue;
    }
    const std::string step = "migration " + std::to_string(v + 1) + " of " + db.path();
    if (auto r = db.exec(migrations[static_cast<size_t>(v)]); !r) {
      return unexpected(Error{step + ": " + r.error().message});
    }
    // PRAGMA takes no parameters; the value is our own integer.
    if (auto r = db.exec("PRAGMA user_version=" + std::to_string(v + 1)); !r) {
      return unexpected(Error{step + ": " + r.error().message});
    }
    if (auto r = tx->commit(); !r) return unexpected(Error{step + ": " + r.error().message});
    out.to_version = v + 1;
  }
  return out;
}

}  // namespace verge::store

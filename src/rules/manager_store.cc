#include "rules/manager_store.h"
#include "core/clock.h"

#include <chrono>

namespace verge::rules {

Result<std::unique_ptr<ManagerStore>> ManagerStore::open(const std::string& path) {
  auto db = store::Database::open(path);
  if (!db) return unexpected(db.error());
  // Refuse early (with the file named) rather than fail on the first REST change.
  auto check = (*db)->query_int(
      "SELECT count(*) FROM sqlite_master WHERE name IN ('rules', 'rule_streams')");
  if (!check) return unexpected(check.error());
  if (*check != 2) {
    return unexpected(
        Error{path + ": tables rules and rule_streams missing (schema older than 2)"});
  }
  return std::unique_ptr<ManagerStore>(new ManagerStore(std::move(*db)));
}

Result<void> ManagerStore::put_stream(std::string_view name, std::string_view sql) {
  auto st = db_->prepare(
      "INSERT INTO rule_streams (name, sql, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name) DO UPDATE SET sql = excluded.sql, updated_at = excluded.updated_at");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, name); !r) return r;
  if (auto r = st->bind_text(2, sql); !r) return r;
  if (auto r = st->bind_int(3, wall_ms()); !r) return r;
  return st->run();
}

Result<void> ManagerStore::delete_stream(std::string_view name) {
  auto st = db_->prepare("DELETE FROM rule_streams WHERE name = ?1");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, name); !r) return r;
  return st->run();
}

Result<void> ManagerStore::put_rule(std::string_view id, std::string_view spec_json) {
  auto st = db_->prepare(
      "INSERT INTO rules (id, spec, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, id); !r) return r;
  if (auto r = st->bind_text(2, spec_json); !r) return r;
  if (auto r = st->bind_int(3, wall_ms()); !r) return r;
  return st->run();
}

Result<void> ManagerStore::delete_rule(std::string_view id) {
  auto st = db_->prepare("DELETE FROM rules WHERE id = ?1");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, id); !r) return r;
  return st->run();
}

Result<std::vector<std::pair<std::string, std::string>>> ManagerStore::pairs(std::string_view sql) {
  return db_->query_pairs(sql);
}

Result<std::vector<std::pair<std::string, std::string>>> ManagerStore::streams() {
  return pairs("SELECT name, sql FROM rule_streams ORDER BY name");
}

Result<std::vector<std::pair<std::string, std::string>>> ManagerStore::rules() {
  return pairs("SELECT id, spec FROM rules ORDER BY id");
}

}  // namespace verge::rules

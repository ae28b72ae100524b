#include "devices/device_store.h"

#include <chrono>

#include "core/clock.h"
#include "store/metadata.h"
#include "store/migrations.h"

namespace verge::devices {

namespace {

constexpr std::string_view kCommandColumns =
    "id, device, point, value, status, error, source, created_at, expires_at, updated_at";

}  // namespace

Result<std::unique_ptr<DeviceStore>> DeviceStore::open(const std::string& path) {
  auto db = store::Database::open(path);
  if (!db) return unexpected(db.error());
  // A no-op when the node's MetadataStore migrated it already; tests open a fresh file.
  if (auto m = store::migrate(**db, store::metadata_migrations()); !m) {
    return unexpected(m.error());
  }
  store::DatabaseOptions fast;
  fast.synchronous = store::Synchronous::Normal;
  auto results = store::Database::open(path, fast);
  if (!results) return unexpected(results.error());
  return std::unique_ptr<DeviceStore>(new DeviceStore(std::move(*db), std::move(*results)));
}

Result<void> DeviceStore::put(std::string_view sql, std::string_view key, std::string_view spec) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql);
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, key); !r) return r;
  if (auto r = st->bind_text(2, spec); !r) return r;
  if (auto r = st->bind_int(3, wall_ms()); !r) return r;
  return st->run();
}

Result<void> DeviceStore::remove(std::string_view sql, std::string_view key) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(sql);
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, key); !r) return r;
  return st->run();
}

Result<std::vector<std::pair<std::string, std::string>>> DeviceStore::pairs(std::string_view sql) {
  std::lock_guard lock(mu_);
  return db_->query_pairs(sql);
}

Result<void> DeviceStore::put_profile(std::string_view name, std::string_view spec_json) {
  return put(
      "INSERT INTO device_profiles (name, spec, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
      name, spec_json);
}

Result<void> DeviceStore::delete_profile(std::string_view name) {
  return remove("DELETE FROM device_profiles WHERE name = ?1", name);
}

Result<std::vector<std::pair<std::string, std::string>>> DeviceStore::profiles() {
  return pairs("SELECT name, spec FROM device_profiles ORDER BY name");
}

Result<void> DeviceStore::put_device(std::string_view id, std::string_view spec_json) {
  return put(
      "INSERT INTO devices (id, spec, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
      id, spec_json);
}

Result<void> DeviceStore::delete_device(std::string_view id) {
  return remove("DELETE FROM devices WHERE id = ?1", id);
}

Result<std::vector<std::pair<std::string, std::string>>> DeviceStore::devices() {
  return pairs("SELECT id, spec FROM devices ORDER BY id");
}

Result<void> DeviceStore::insert_command_locked(store::Database& db, const Command& cmd) {
  auto st = db.prepare(
      "INSERT INTO device_commands (id, device, point, value, status, error, source, created_at, "
      "expires_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_int(1, cmd.id); !r) return r;
  if (auto r = st->bind_text(2, cmd.device); !r) return r;
  if (auto r = st->bind_text(3, cmd.point); !r) return r;
  if (auto r = st->bind_text(4, cmd.value.to_json()); !r) return r;
  if (auto r = st->bind_text(5, command_status_name(cmd.status)); !r) return r;
  if (auto r = st->bind_text(6, cmd.error); !r) return r;
  if (auto r = st->bind_text(7, cmd.source); !r) return r;
  if (auto r = st->bind_int(8, cmd.created_ms); !r) return r;
  if (auto r = st->bind_int(9, cmd.expires_ms); !r) return r;
  if (auto r = st->bind_int(10, cmd.updated_ms); !r) return r;
  return st->run();
}

Result<void> DeviceStore::insert_command(const Command& cmd) {
  std::lock_guard lock(mu_);
  return insert_command_locked(*db_, cmd);
}

Result<void> DeviceStore::insert_commands(std::span<const std::shared_ptr<Command>> cmds,
                                          bool synced) {
  std::lock_guard lock(mu_);
  store::Database& db = synced ? *db_ : *results_;
  auto tx = store::Transaction::begin(db);
  if (!tx) return unexpected(tx.error());
  for (const auto& cmd : cmds) {
    if (auto r = insert_command_locked(db, *cmd); !r) return r;  // rolled back with tx
  }
  return tx->commit();
}

Result<void> DeviceStore::update_command(const Command& cmd) {
  std::lock_guard lock(mu_);
  auto st = results_->prepare(
      "UPDATE device_commands SET status = ?2, error = ?3, updated_at = ?4 WHERE id = ?1");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_int(1, cmd.id); !r) return r;
  if (auto r = st->bind_text(2, command_status_name(cmd.status)); !r) return r;
  if (auto r = st->bind_text(3, cmd.error); !r) return r;
  if (auto r = st->bind_int(4, cmd.updated_ms); !r) return r;
  return st->run();
}

Result<std::vector<Command>> DeviceStore::read_commands(store::Statement& st) {
  std::vector<Command> out;
  while (true) {
    auto row = st.step();
    if (!row) return unexpected(row.error());
    if (!*row) break;
    Command c;
    c.id = st.column_int(0);
    c.device = std::string(st.column_text(1));
    c.point = std::string(st.column_text(2));
    auto value = parse_json(st.column_text(3));
    c.value = value ? std::move(*value) : Value();
    c.status = parse_command_status(st.column_text(4)).value_or(CommandStatus::Failed);
    c.error = std::string(st.column_text(5));
    c.source = std::string(st.column_text(6));
    c.created_ms = st.column_int(7);
    c.expires_ms = st.column_int(8);
    c.updated_ms = st.column_int(9);
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<Command>> DeviceStore::open_commands() {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT " + std::string(kCommandColumns) +
                         " FROM device_commands WHERE status IN ('queued', 'sent') ORDER BY id");
  if (!st) return unexpected(st.error());
  return read_commands(*st);
}

Result<std::vector<Command>> DeviceStore::recent_commands(std::string_view device, int64_t limit) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT " + std::string(kCommandColumns) +
                         " FROM device_commands WHERE device = ?1 ORDER BY id DESC LIMIT ?2");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_text(1, device); !r) return unexpected(r.error());
  if (auto r = st->bind_int(2, limit); !r) return unexpected(r.error());
  return read_commands(*st);
}

Result<int64_t> DeviceStore::max_command_id() {
  std::lock_guard lock(mu_);
  return db_->query_int("SELECT coalesce(max(id), 0) FROM device_commands");
}

Result<void> DeviceStore::prune_commands(int64_t before_ms, int64_t keep_per_device) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare(
      "DELETE FROM device_commands WHERE status NOT IN ('queued', 'sent') AND updated_at < ?1");
  if (!st) return unexpected(st.error());
  if (auto r = st->bind_int(1, before_ms); !r) return r;
  if (auto r = st->run(); !r) return r;
  if (keep_per_device < 0) return {};
  // The newest `keep_per_device` finished commands of each device stay.
  auto cap = db_->prepare(
      "DELETE FROM device_commands WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
      "(PARTITION BY device ORDER BY id DESC) AS n FROM device_commands WHERE status NOT IN "
      "('queued', 'sent')) WHERE n > ?1)");
  if (!cap) return unexpected(cap.error());
  if (auto r = cap->bind_int(1, keep_per_device); !r) return r;
  return cap->run();
}

}  // namespace verge::devices

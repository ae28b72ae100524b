// The device layer's tables in meta.db (migration 3, docs/formats/metadata.md): profiles and
// devices created over REST, and the command queue. Its own connection, used under its own
// mutex, so it shares meta.db with the other stores of the node (as the rule manager does).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "devices/command.h"
#include "store/sqlite.h"

namespace verge::devices {

class DeviceStore {
 public:
  // Opens `path` (creating and migrating it when needed).
  static Result<std::unique_ptr<DeviceStore>> open(const std::string& path);

  Result<void> put_profile(std::string_view name, std::string_view spec_json);
  Result<void> delete_profile(std::string_view name);
  Result<std::vector<std::pair<std::string, std::string>>> profiles();
  Result<void> put_device(std::string_view id, std::string_view spec_json);
  Result<void> delete_device(std::string_view id);
  Result<std::vector<std::pair<std::string, std::string>>> devices();

  Result<void> insert_command(const Command& cmd);
  // All or none (one transaction): a call's commands are either all stored or none is.
  // `synced`: fsync before returning (commands that will wait for an offline device); otherwise
  // committed without an fsync, which survives a crash of verge but not a power cut (commands
  // written to an online device at once: an fsync there would be most of the write's latency).
  Result<void> insert_commands(std::span<const std::shared_ptr<Command>> cmds, bool synced = true);
  Result<void> update_command(const Command& cmd);
  // Queued and sent commands in id order (a sent one had no answer when the node stopped).
  Result<std::vector<Command>> open_commands();
  // The last `limit` commands of a device, newest first.
  Result<std::vector<Command>> recent_commands(std::string_view device, int64_t limit);
  Result<int64_t> max_command_id();
  // Final commands older than `before_ms` go, and beyond the newest `keep_per_device` final ones
  // of each device (negative: no such limit).
  Result<void> prune_commands(int64_t before_ms, int64_t keep_per_device = -1);

 private:
  DeviceStore(std::unique_ptr<store::Database> db, std::unique_ptr<store::Database> results)
      : db_(std::move(db)), results_(std::move(results)) {}
  Result<void> put(std::string_view sql, std::string_view key, std::string_view spec);
  Result<void> remove(std::string_view sql, std::string_view key);
  Result<std::vector<std::pair<std::string, std::string>>> pairs(std::string_view sql);
  Result<std::vector<Command>> read_commands(store::Statement& st);
  Result<void> insert_command_locked(store::Database& db, const Command& cmd);

  std::mutex mu_;
  std::unique_ptr<store::Database> db_;  // synchronous=FULL: what was accepted is on disk
  // synchronous=NORMAL, for command results written on the loop threads: no fsync per result.
  // A power cut may lose the last results; those commands are then written again at start.
  std::unique_ptr<store::Database> results_;
};

}  // namespace verge::devices

// The rule manager's saved state in meta.db: streams (`rule_streams`) and rules (`rules`, the
// spec as JSON) created over REST. Private to the manager, which owns one on its engine thread;
// it has its own connection so the node's MetadataStore stays usable on other threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/sqlite.h"

namespace verge::rules {

class ManagerStore {
 public:
  // `path` is MetadataStore::path(): a migrated database (schema 2 or later).
  static Result<std::unique_ptr<ManagerStore>> open(const std::string& path);

  Result<void> put_stream(std::string_view name, std::string_view sql);
  Result<void> delete_stream(std::string_view name);
  Result<void> put_rule(std::string_view id, std::string_view spec_json);
  Result<void> delete_rule(std::string_view id);

  // In name (id) order: definitions first, so the rules reading them compile.
  Result<std::vector<std::pair<std::string, std::string>>> streams();
  Result<std::vector<std::pair<std::string, std::string>>> rules();

 private:
  explicit ManagerStore(std::unique_ptr<store::Database> db) : db_(std::move(db)) {}
  Result<std::vector<std::pair<std::string, std::string>>> pairs(std::string_view sql);
  std::unique_ptr<store::Database> db_;
};

}  // namespace verge::rules

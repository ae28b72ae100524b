// Streams and tables the rules read from, declared with CREATE STREAM / CREATE TABLE (in the
// node's configuration or over REST). A table holds the latest row per key of its topic, so a
// rule can join live events with slowly changing data (device metadata, thresholds).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "rules/ast.h"

namespace verge::rules {

struct StreamDef {
  std::string name;
  bool is_table = false;
  std::string topic_filter;        // DATASOURCE
  std::vector<ColumnDef> columns;  // empty = schemaless
  std::string timestamp_field;     // TIMESTAMP: event time from this field (ms since epoch)
  std::string key;                 // KEY (tables): the column that identifies a row
  std::string sql;                 // as declared, for listing
};

class Catalog {
 public:
  // Adds or replaces a definition; errors name the option at fault.
  Result<void, SqlError> define(std::string_view create_sql);
  Result<void, SqlError> define(const CreateStatement& stmt, std::string sql);
  bool remove(std::string_view name);
  const StreamDef* find(std::string_view name) const;
  std::vector<const StreamDef*> all() const;

 private:
  std::map<std::string, StreamDef, std::less<>> defs_;
};

// The rows of every table, by table name then key. Owned by the engine thread.
class TableStore {
 public:
  // Upserts `record` (a JSON object) under the value of its key column; a record without the key
  // is refused (false). A record whose only member besides the key is {"_delete": true} removes it.
  bool apply(const StreamDef& table, const Value& record);
  // nullptr when the table has no row for `key`.
  const Value* lookup(std::string_view table, const Value& key) const;
  // Every row of `table`, for joins on conditions other than key equality.
  const std::unordered_map<std::string, Value>* rows(std::string_view table) const;
  size_t size(std::string_view table) const;
  // Rows per table are capped (the oldest insert is evicted, counted).
  size_t max_rows_per_table = 100000;
  uint64_t evicted = 0;

 private:
  // key rendered as JSON text -> row
  std::map<std::string, std::unordered_map<std::string, Value>, std::less<>> tables_;
  std::map<std::string, std::vector<std::string>, std::less<>> insert_order_;
};

}  // namespace verge::rules

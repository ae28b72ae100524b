// Stream and table definitions, and the latest rows of every table.
#include "rules/catalog.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "rules/parser.h"

namespace verge::rules {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// An MQTT topic filter: '+' a whole level, '#' a whole last level, no NUL, not empty.
bool valid_filter(std::string_view f) {
  if (f.empty() || f.size() > 65535) return false;
  size_t start = 0;
  while (true) {
    const size_t end = f.find('/', start);
    const std::string_view level =
        f.substr(start, end == std::string_view::npos ? f.npos : end - start);
    if (level.find('\0') != level.npos) return false;
    if (level.find('+') != level.npos && level != "+") return false;
    if (level.find('#') != level.npos && (level != "#" || end != std::string_view::npos)) {
      return false;
    }
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

// Keys are stored as JSON text; a float holding an integer is written as that integer, so the
// key 7.0 of one producer finds the row of 7 from another.
void key_text(const Value& v, std::string& out) {
  if (v.is_float()) {
    const double d = v.as_float();
    if (std::trunc(d) == d && std::fabs(d) < 9.0e15) {
      out += std::to_string(static_cast<int64_t>(d));
      return;
    }
  }
  v.append_json(out);
}

}  // namespace

Result<void, SqlError> Catalog::define(std::string_view create_sql) {
  auto stmt = parse_create(create_sql);
  if (!stmt) return unexpected(stmt.error());
  return define(*stmt, std::string(create_sql));
}

Result<void, SqlError> Catalog::define(const CreateStatement& stmt, std::string sql) {
  StreamDef def;
  def.name = stmt.name;
  def.is_table = stmt.is_table;
  def.columns = stmt.columns;
  def.sql = std::move(sql);
  const char* what = stmt.is_table ? "table" : "stream";
  auto err = [&](std::string msg) { return unexpected(SqlError{stmt.pos, std::move(msg)}); };
  for (size_t i = 0; i < def.columns.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (def.columns[j].name == def.columns[i].name) {
        return unexpected(
            SqlError{def.columns[i].pos, "column '" + def.columns[i].name + "' declared twice"});
      }
    }
  }
  auto has_column = [&](const std::string& c) {
    return def.columns.empty() || std::any_of(def.columns.begin(), def.columns.end(),
                                              [&](const ColumnDef& d) { return d.name == c; });
  };
  for (const auto& [key, value] : stmt.options) {
    if (key == "DATASOURCE") {
      if (!valid_filter(value)) {
        return err("DATASOURCE: '" + value + "' is not a valid MQTT topic filter");
      }
      def.topic_filter = value;
    } else if (key == "FORMAT") {
      if (!iequals(value, "json"))
        return err("FORMAT: only \"json\" is supported, not '" + value + "'");
    } else if (key == "TIMESTAMP") {
      if (value.empty()) return err("TIMESTAMP: empty column name");
      if (!has_column(value)) return err("TIMESTAMP: no column '" + value + "' in the schema");
      def.timestamp_field = value;
    } else if (key == "KEY") {
      if (!stmt.is_table) return err("KEY: only tables have a key");
      if (value.empty()) return err("KEY: empty column name");
      if (!has_column(value)) return err("KEY: no column '" + value + "' in the schema");
      def.key = value;
    } else if (key == "TIMESTAMP_FORMAT" || key == "TYPE" || key == "SHARED" || key == "CONF_KEY") {
      // Accepted for eKuiper compatibility; timestamps are numbers (ms) in Verge.
    } else {
      return err("unknown option " + key);
    }
  }
  if (def.topic_filter.empty()) return err(std::string("DATASOURCE is required for a ") + what);
  if (stmt.is_table && def.key.empty()) return err("KEY is required for a table");
  defs_[def.name] = std::move(def);
  return {};
}

bool Catalog::remove(std::string_view name) {
  auto it = defs_.find(name);
  if (it == defs_.end()) return false;
  defs_.erase(it);
  return true;
}

const StreamDef* Catalog::find(std::string_view name) const {
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : &it->second;
}

std::vector<const StreamDef*> Catalog::all() const {
  std::vector<const StreamDef*> out;
  out.reserve(defs_.size());
  for (const auto& [name, def] : defs_) out.push_back(&def);
  return out;
}

bool TableStore::apply(const StreamDef& table, const Value& record) {
  if (!record.is_object()) return false;
  const Value* key = record.find(table.key);
  if (key == nullptr || key->is_null()) return false;
  std::string k;
  key_text(*key, k);
  auto& rows = tables_[table.name];
  auto& order = insert_order_[table.name];
  const Value* del = record.find("_delete");
  if (del != nullptr && del->is_true() && record.as_object().size() == 2) {
    if (rows.erase(k) > 0) order.erase(std::find(order.begin(), order.end(), k));
    return true;
  }
  auto [it, inserted] = rows.insert_or_assign(k, record);
  (void)it;
  if (inserted) {
    order.push_back(std::move(k));
    while (rows.size() > max_rows_per_table && !order.empty()) {
      rows.erase(order.front());
      order.erase(order.begin());
      ++evicted;
    }
  }
  return true;
}

const Value* TableStore::lookup(std::string_view table, const Value& key) const {
  auto t = tables_.find(table);
  if (t == tables_.end() || key.is_null()) return nullptr;
  std::string k;
  key_text(key, k);
  auto it = t->second.find(k);
  return it == t->second.end() ? nullptr : &it->second;
}

const std::unordered_map<std::string, Value>* TableStore::rows(std::string_view table) const {
  auto t = tables_.find(table);
  return t == tables_.end() ? nullptr : &t->second;
}

size_t TableStore::size(std::string_view table) const {
  auto t = tables_.find(table);
  return t == tables_.end() ? 0 : t->second.size();
}

}  // namespace verge::rules

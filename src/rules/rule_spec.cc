// RuleSpec <-> JSON value: the REST body of a rule and the form saved in the metadata store.
#include <string>

#include "rules/manager.h"

namespace verge::rules {

namespace {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Unexpected<Error> field_error(std::string_view field, std::string_view what) {
  return unexpected(Error{std::string(field) + ": " + std::string(what)});
}

// A non-negative integer option, within what the limits can hold.
Result<int64_t> read_count(const Value& v, std::string_view field) {
  if (!v.is_int() || v.as_int() < 0) return field_error(field, "expected a non-negative integer");
  return v.as_int();
}

Result<void> read_options(const Value& opts, RuleSpec& spec) {
  if (!opts.is_object()) return field_error("options", "expected an object");
  for (const auto& [name, v] : opts.as_object()) {
    const std::string field = "options." + name;
    if (name == "dead_letter_topic") {
      if (!v.is_string()) return field_error(field, "expected a string");
      const std::string& t = v.as_string();
      if (t.find_first_of("+#") != std::string::npos || t.find('\0') != std::string::npos) {
        return field_error(field, "a topic name cannot hold wildcards or NUL");
      }
      spec.dead_letter_topic = t;
      continue;
    }
    auto n = read_count(v, field);
    if (!n) return unexpected(n.error());
    if (name == "max_groups") {
      spec.limits.max_groups = static_cast<size_t>(*n);
    } else if (name == "max_window_rows") {
      spec.limits.max_window_rows = static_cast<size_t>(*n);
    } else if (name == "max_partitions") {
      spec.limits.max_partitions = static_cast<size_t>(*n);
    } else if (name == "lateness_ms" || name == "allowed_lateness_ms") {
      spec.limits.allowed_lateness_ms = *n;
    } else {
      return field_error(field,
                         "unknown option (known: dead_letter_topic, max_groups, max_window_rows, "
                         "max_partitions, lateness_ms)");
    }
  }
  return {};
}

}  // namespace

bool rule_id_valid(std::string_view id) { return valid_id(id); }

Result<RuleSpec> RuleSpec::from_value(const Value& v) {
  if (!v.is_object()) return field_error("rule", "expected a JSON object");
  RuleSpec spec;
  bool have_id = false, have_sql = false;
  for (const auto& [name, m] : v.as_object()) {
    if (name == "id") {
      if (!m.is_string()) return field_error("id", "expected a string");
      if (!valid_id(m.as_string())) {
        return field_error("id", "1 to 128 characters of letters, digits, '_', '-' or '.'");
      }
      spec.id = m.as_string();
      have_id = true;
    } else if (name == "sql") {
      if (!m.is_string()) return field_error("sql", "expected a string");
      if (m.as_string().empty()) return field_error("sql", "empty");
      spec.sql = m.as_string();
      have_sql = true;
    } else if (name == "actions") {
      if (!m.is_array()) return field_error("actions", "expected an array");
      size_t i = 0;
      for (const Value& a : m.as_array()) {
        const std::string field = "actions[" + std::to_string(i++) + "]";
        if (!a.is_object() || a.as_object().size() != 1) {
          return field_error(field, "expected an object with one member naming the action kind");
        }
        spec.actions.push_back(a);
      }
    } else if (name == "options") {
      if (auto r = read_options(m, spec); !r) return unexpected(r.error());
    } else if (name == "enabled") {
      if (!m.is_bool()) return field_error("enabled", "expected true or false");
      spec.enabled = m.as_bool();
    } else {
      return field_error(name, "unknown field (known: id, sql, actions, options, enabled)");
    }
  }
  if (!have_id) return field_error("id", "missing");
  if (!have_sql) return field_error("sql", "missing");
  return spec;
}

Value RuleSpec::to_value() const {
  ValueObject opts;
  if (!dead_letter_topic.empty()) opts.emplace_back("dead_letter_topic", dead_letter_topic);
  opts.emplace_back("max_groups", static_cast<int64_t>(limits.max_groups));
  opts.emplace_back("max_window_rows", static_cast<int64_t>(limits.max_window_rows));
  opts.emplace_back("max_partitions", static_cast<int64_t>(limits.max_partitions));
  opts.emplace_back("lateness_ms", limits.allowed_lateness_ms);
  ValueObject o;
  o.emplace_back("id", id);
  o.emplace_back("sql", sql);
  o.emplace_back("actions", ValueArray(actions));
  o.emplace_back("options", std::move(opts));
  o.emplace_back("enabled", enabled);
  return Value(std::move(o));
}

std::string_view rule_state_name(RuleState s) {
  switch (s) {
    case RuleState::Running:
      return "running";
    case RuleState::Stopped:
      return "stopped";
    case RuleState::Failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace verge::rules

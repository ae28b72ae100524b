// Simulated time for `verge rule test` and the rule case tests: before each event, windows that
// closed since the previous one are emitted at their exact deadline.
#include "rules/offline_runner.h"

#include <algorithm>
#include <climits>

#include "rules/catalog.h"

namespace verge::rules {
namespace {

// A topic the stream's filter matches: wildcards replaced by a plain level.
std::string topic_for(const std::string& filter) {
  std::string t;
  size_t start = 0;
  while (true) {
    const size_t end = filter.find('/', start);
    const std::string level =
        filter.substr(start, end == std::string::npos ? std::string::npos : end - start);
    t += (level == "+" || level == "#") ? "x" : level;
    if (end == std::string::npos) break;
    t += '/';
    start = end + 1;
  }
  return t;
}

}  // namespace

Result<OfflineResult, SqlError> run_offline(std::string_view sql,
                                            const std::vector<std::string>& definitions,
                                            const std::vector<TimedEvent>& events, int64_t end_ms,
                                            const RuleLimits& limits) {
  Catalog catalog;
  for (const auto& d : definitions) {
    auto r = catalog.define(d);
    if (!r) return unexpected(r.error());
  }
  TableStore tables;
  auto compiled = RuleProgram::compile(sql, catalog, &tables, limits);
  if (!compiled) return unexpected(compiled.error());
  RuleProgram& program = **compiled;
  const std::string default_topic = topic_for(program.source().topic_filter);

  OfflineResult result;
  RuleOutput out;
  auto collect = [&](int64_t at) {
    for (auto& row : out.rows) result.rows.push_back(TimedRow{at, std::move(row)});
    for (auto& r : out.rejected) result.rejected.push_back(std::move(r));
    out.rows.clear();
    out.rejected.clear();
  };
  int64_t now = INT64_MIN;
  auto run_until = [&](int64_t t) {
    // Every deadline up to t, in order, at its own time.
    for (int64_t d = program.next_deadline_ms(); d <= t; d = program.next_deadline_ms()) {
      const int64_t at = std::max(d, now);
      program.on_time(at, out);
      collect(at);
      if (program.next_deadline_ms() == d) break;  // no progress; never loop forever
    }
    now = std::max(now, t);
  };

  for (const auto& e : events) {
    const int64_t at = std::max(e.at_ms, now);
    run_until(at);
    if (e.is_table) {
      const StreamDef* def = catalog.find(e.table);
      if (def == nullptr || !def->is_table) {
        return unexpected(
            SqlError{{}, "input names table '" + e.table + "', which is not defined"});
      }
      auto v = parse_json(e.payload);
      if (!v || !tables.apply(*def, *v)) {
        result.rejected.push_back(Rejected{
            "table row refused (not an object with the key '" + def->key + "')", e.payload});
      }
      continue;
    }
    program.on_message(e.topic.empty() ? default_topic : e.topic, e.payload, at, out);
    collect(at);
  }
  if (end_ms >= now) {
    run_until(end_ms);
    program.on_time(end_ms, out);
    collect(end_ms);
  }
  result.counters = program.counters();
  return result;
}

Result<std::vector<TimedEvent>> read_events_jsonl(std::string_view text, int64_t step_ms) {
  std::vector<TimedEvent> events;
  int64_t next_at = 0;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    auto err = [&](const std::string& msg) {
      return unexpected(Error{"line " + std::to_string(line_no) + ": " + msg});
    };
    auto v = parse_json(line);
    if (!v) return err(v.error().message + " at byte " + std::to_string(v.error().offset));
    if (!v->is_object()) return err("expected a JSON object");
    // An envelope has a payload and nothing but at/topic/table besides.
    bool envelope = v->find("payload") != nullptr;
    for (const auto& [k, m] : v->as_object()) {
      if (k != "payload" && k != "at" && k != "topic" && k != "table") envelope = false;
    }
    TimedEvent e;
    if (!envelope) {
      e.at_ms = next_at;
      e.payload = std::string(line);
    } else {
      const Value* at = v->find("at");
      if (at != nullptr && !at->is_null()) {
        if (!at->is_int()) return err("\"at\" must be an integer (ms)");
        next_at = at->as_int();
      }
      e.at_ms = next_at;
      const Value* topic = v->find("topic");
      if (topic != nullptr && topic->is_string()) e.topic = topic->as_string();
      const Value* table = v->find("table");
      if (table != nullptr) {
        if (!table->is_string()) return err("\"table\" must be a string");
        e.is_table = true;
        e.table = table->as_string();
      }
      const Value* payload = v->find("payload");
      e.payload = payload->is_string() ? payload->as_string() : payload->to_json();
    }
    next_at = e.at_ms + step_ms;
    events.push_back(std::move(e));
    if (end == text.size()) break;
  }
  return events;
}

}  // namespace verge::rules

#include "cmd/rule_test.h"

#include <cstdio>
#include <iostream>
#include <iterator>

#include "core/file.h"
#include "rules/offline_runner.h"
#include "rules/parser.h"

namespace verge::cmd {

namespace {

bool plain_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A schemaless stream named as the rule's FROM, unless a --define declares it (or FROM is a
// quoted topic filter, which needs no declaration).
std::optional<std::string> default_definition(const std::string& sql,
                                              const std::vector<std::string>& defines) {
  auto select = rules::parse_select(sql);
  if (!select || select->from_is_topic) return std::nullopt;  // errors come from run_offline
  for (const std::string& d : defines) {
    auto c = rules::parse_create(d);
    if (c && c->name == select->from) return std::nullopt;
  }
  const std::string& name = select->from;
  const std::string quoted = plain_identifier(name) ? name : "`" + name + "`";
  return "CREATE STREAM " + quoted + " () WITH (DATASOURCE=\"" + name + "/#\", FORMAT=\"json\")";
}

void print_counters(const rules::RuleCounters& c) {
  std::fprintf(
      stderr,
      "records_in=%llu records_out=%llu filtered=%llu decode_errors=%llu "
      "eval_errors=%llu late=%llu evicted=%llu\n",
      static_cast<unsigned long long>(c.records_in), static_cast<unsigned long long>(c.records_out),
      static_cast<unsigned long long>(c.filtered), static_cast<unsigned long long>(c.decode_errors),
      static_cast<unsigned long long>(c.eval_errors), static_cast<unsigned long long>(c.late),
      static_cast<unsigned long long>(c.evicted));
}

}  // namespace

int run_rule_test(const RuleTestOptions& options) {
  std::string sql = options.sql;
  if (!options.sql_file.empty()) {
    if (!sql.empty()) {
      std::fprintf(stderr, "verge rule test: give --sql or --sql-file, not both\n");
      return 2;
    }
    auto text = read_text_file(options.sql_file, "SQL file");
    if (!text) {
      std::fprintf(stderr, "verge rule test: %s\n", text.error().message.c_str());
      return 2;
    }
    sql = std::move(*text);
  }
  if (sql.empty()) {
    std::fprintf(stderr, "verge rule test: --sql or --sql-file is required\n");
    return 2;
  }
  if (options.step_ms < 0) {
    std::fprintf(stderr, "verge rule test: --step-ms must not be negative\n");
    return 2;
  }
  std::string input;
  if (options.input == "-") {
    input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto text = read_text_file(options.input, "input file", size_t{1} << 30);
    if (!text) {
      std::fprintf(stderr, "verge rule test: %s\n", text.error().message.c_str());
      return 2;
    }
    input = std::move(*text);
  }
  auto events = rules::read_events_jsonl(input, options.step_ms);
  if (!events) {
    std::fprintf(stderr, "verge rule test: %s: %s\n",
                 options.input == "-" ? "stdin" : options.input.c_str(),
                 events.error().message.c_str());
    return 2;
  }
  std::vector<std::string> defines = options.defines;
  if (auto d = default_definition(sql, defines)) defines.push_back(*d);
  const int64_t end_ms = options.end_ms.value_or(events->empty() ? 0 : events->back().at_ms);
  auto result = rules::run_offline(sql, defines, *events, end_ms);
  if (!result) {
    std::fprintf(stderr, "%s\n", rules::format_error(result.error()).c_str());
    return 1;
  }
  std::string line;
  for (const rules::TimedRow& r : result->rows) {
    line.clear();
    line += "{\"at\":";
    line += std::to_string(r.at_ms);
    line += ",\"row\":";
    r.row.append_json(line);
    line += "}\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fflush(stdout);
  for (const rules::Rejected& r : result->rejected) {
    std::fprintf(stderr, "rejected: %s: %s\n", r.reason.c_str(), r.payload.c_str());
  }
  print_counters(result->counters);
  return 0;
}

}  // namespace verge::cmd

// Runs every rule case file in tests/rules (format: docs/rules/semantics.md, "Case files"):
// one gtest per file, through run_offline with simulated time.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "rules/offline_runner.h"
#include "rules/parser.h"

#ifndef VERGE_RULE_CASES_DIR
#error "VERGE_RULE_CASES_DIR must name the tests/rules directory"
#endif

namespace verge::rules {
namespace {

struct CaseFile {
  std::string sql;
  std::vector<std::string> defines;
  std::string input;
  std::optional<int64_t> end_ms;
  bool has_expect = false;
  std::vector<std::string> expect;  // compact JSON lines
  std::optional<std::string> error;
  std::map<std::string, uint64_t> counters;
  std::vector<std::string> rejected;
  RuleLimits limits;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string compact(const std::string& json_line, std::string& err) {
  auto v = parse_json(json_line);
  if (!v) {
    err = "bad JSON in expect: " + json_line;
    return "";
  }
  return v->to_json();
}

bool parse_case(const std::string& text, CaseFile& c, std::string& err) {
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.rfind("-- ", 0) == 0) {
      auto w = words(line.substr(3));
      section = w.empty() ? "" : w[0];
      if (section == "end") {
        if (w.size() != 2) return (err = "-- end needs a time in ms"), false;
        c.end_ms = std::stoll(w[1]);
      } else if (section == "expect") {
        c.has_expect = true;
      } else if (section != "sql" && section != "define" && section != "input" &&
                 section != "error" && section != "counters" && section != "rejected" &&
                 section != "limits") {
        return (err = "unknown section '" + section + "'"), false;
      }
      continue;
    }
    const std::string t = trim(line);
    if (section.empty()) continue;  // the leading comment
    if (section == "sql") {
      c.sql += line + "\n";
    } else if (section == "define") {
      if (t.empty()) continue;
      if ((line[0] == ' ' || line[0] == '\t') && !c.defines.empty()) {
        c.defines.back() += " " + t;
      } else {
        c.defines.push_back(t);
      }
    } else if (section == "input") {
      c.input += line + "\n";
    } else if (section == "expect") {
      if (t.empty() || t[0] == '#') continue;
      c.expect.push_back(compact(t, err));
      if (!err.empty()) return false;
    } else if (section == "error") {
      if (!t.empty()) c.error = t;
    } else if (section == "rejected") {
      if (!t.empty()) c.rejected.push_back(t);
    } else if (section == "counters" || section == "limits") {
      for (const auto& kv : words(t)) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos) return (err = "expected name=value: " + kv), false;
        const std::string k = kv.substr(0, eq);
        const int64_t v = std::stoll(kv.substr(eq + 1));
        if (section == "counters") {
          c.counters[k] = static_cast<uint64_t>(v);
        } else if (k == "max_groups") {
          c.limits.max_groups = static_cast<size_t>(v);
        } else if (k == "max_window_rows") {
          c.limits.max_window_rows = static_cast<size_t>(v);
        } else if (k == "max_partitions") {
          c.limits.max_partitions = static_cast<size_t>(v);
        } else if (k == "lateness") {
          c.limits.allowed_lateness_ms = v;
        } else {
          return (err = "unknown limit " + k), false;
        }
      }
    }
  }
  if (c.sql.empty()) return (err = "no -- sql section"), false;
  if (!c.has_expect && !c.error) return (err = "needs -- expect or -- error"), false;
  return true;
}

uint64_t counter(const RuleCounters& rc, const std::string& name, bool& known) {
  known = true;
  if (name == "records_in") return rc.records_in;
  if (name == "records_out") return rc.records_out;
  if (name == "filtered") return rc.filtered;
  if (name == "decode_errors") return rc.decode_errors;
  if (name == "eval_errors") return rc.eval_errors;
  if (name == "late") return rc.late;
  if (name == "evicted") return rc.evicted;
  known = false;
  return 0;
}

std::vector<std::string> case_files() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(VERGE_RULE_CASES_DIR)) {
    if (e.path().extension() == ".case") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += "  " + l + "\n";
  return s;
}

class RuleCase : public ::testing::TestWithParam<std::string> {};

TEST_P(RuleCase, Runs) {
  std::ifstream f(GetParam());
  ASSERT_TRUE(f) << GetParam();
  std::stringstream ss;
  ss << f.rdbuf();
  CaseFile c;
  std::string err;
  ASSERT_TRUE(parse_case(ss.str(), c, err)) << GetParam() << ": " << err;

  auto events = read_events_jsonl(c.input);
  ASSERT_TRUE(events) << events.error().message;
  int64_t end = c.end_ms.value_or(events->empty() ? 0 : events->back().at_ms);
  auto r = run_offline(c.sql, c.defines, *events, end, c.limits);
  if (c.error) {
    ASSERT_FALSE(r) << "expected the error " << *c.error;
    const std::string got = format_error(r.error());
    EXPECT_EQ(got.substr(0, c.error->size()), *c.error) << "got: " << got;
    return;
  }
  ASSERT_TRUE(r) << format_error(r.error());
  std::vector<std::string> got;
  for (const auto& row : r->rows) {
    got.push_back(Value(ValueObject{{"at", Value(row.at_ms)}, {"row", row.row}}).to_json());
  }
  EXPECT_EQ(got, c.expect) << "expected:\n" << join_lines(c.expect) << "got:\n" << join_lines(got);
  for (const auto& [name, want] : c.counters) {
    bool known = false;
    const uint64_t have = counter(r->counters, name, known);
    EXPECT_TRUE(known) << "unknown counter " << name;
    EXPECT_EQ(have, want) << "counter " << name;
  }
  std::vector<std::string> reasons;
  for (const auto& rej : r->rejected) reasons.push_back(rej.reason);
  if (!c.rejected.empty()) {
    ASSERT_EQ(reasons.size(), c.rejected.size()) << join_lines(reasons);
    for (size_t i = 0; i < reasons.size(); ++i) {
      EXPECT_NE(reasons[i].find(c.rejected[i]), std::string::npos)
          << "reason " << i << ": " << reasons[i] << " lacks " << c.rejected[i];
    }
  }
}

// The test name: the file's stem with non-alphanumerics as '_'.
std::string case_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string n = std::filesystem::path(param.param).stem().string();
  for (auto& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Files, RuleCase, ::testing::ValuesIn(case_files()), case_name);

TEST(RuleCases, AtLeastFortyFiles) { EXPECT_GE(case_files().size(), 40u); }

}  // namespace
}  // namespace verge::rules

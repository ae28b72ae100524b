// The rule engine through its API: catalog, table store, compiled programs with a fake clock,
// the JSON-lines reader. Window and expression semantics are covered by tests/rules/*.case.
#include "rules/program.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

#include "rules/catalog.h"
#include "rules/eval.h"
#include "rules/offline_runner.h"

namespace verge::rules {
namespace {

Value obj(std::string_view json) {
  auto v = parse_json(json);
  EXPECT_TRUE(v) << json;
  return v ? *v : Value();
}

TEST(Catalog, DefinesReplacesAndRemoves) {
  Catalog c;
  ASSERT_TRUE(c.define(
      R"(CREATE STREAM s (id STRING, ts BIGINT) WITH (DATASOURCE="a/#", TIMESTAMP="ts"))"));
  const StreamDef* s = c.find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->topic_filter, "a/#");
  EXPECT_EQ(s->timestamp_field, "ts");
  EXPECT_FALSE(s->is_table);
  EXPECT_EQ(s->columns.size(), 2u);
  ASSERT_TRUE(c.define(R"(CREATE STREAM s () WITH (DATASOURCE="b/+"))"));
  EXPECT_EQ(c.find("s")->topic_filter, "b/+");
  EXPECT_TRUE(c.find("s")->timestamp_field.empty());
  ASSERT_TRUE(c.define(R"(CREATE TABLE t () WITH (DATASOURCE="t", KEY="k", FORMAT="JSON"))"));
  EXPECT_EQ(c.all().size(), 2u);
  EXPECT_TRUE(c.remove("s"));
  EXPECT_FALSE(c.remove("s"));
  EXPECT_EQ(c.find("s"), nullptr);
}

TEST(Catalog, RefusesBadOptions) {
  Catalog c;
  struct Bad {
    const char* sql;
    const char* error;
  };
  const Bad bad[] = {
      {R"(CREATE STREAM s () WITH (FORMAT="json"))", "DATASOURCE is required"},
      {R"(CREATE STREAM s () WITH (DATASOURCE="a/#/b"))", "not a valid MQTT topic filter"},
      {R"(CREATE STREAM s () WITH (DATASOURCE="a+/b"))", "not a valid MQTT topic filter"},
      {R"(CREATE STREAM s () WITH (DATASOURCE="a", FORMAT="protobuf"))", "FORMAT"},
      {R"(CREATE STREAM s (a BIGINT) WITH (DATASOURCE="a", TIMESTAMP="ts"))", "TIMESTAMP"},
      {R"(CREATE TABLE t () WITH (DATASOURCE="a"))", "KEY is required"},
      {R"(CREATE TABLE t (a BIGINT) WITH (DATASOURCE="a", KEY="id"))", "KEY: no column 'id'"},
      {R"(CREATE STREAM s () WITH (DATASOURCE="a", KEY="id"))", "only tables have a key"},
      {R"(CREATE STREAM s () WITH (DATASOURCE="a", COLOUR="red"))", "unknown option COLOUR"},
  };
  for (const auto& b : bad) {
    auto r = c.define(b.sql);
    ASSERT_FALSE(r) << b.sql;
    EXPECT_NE(r.error().message.find(b.error), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(c.all().empty());
}

TEST(TableStore, UpsertsLooksUpDeletesAndEvicts) {
  StreamDef t;
  t.name = "t";
  t.is_table = true;
  t.key = "id";
  TableStore store;
  store.max_rows_per_table = 2;
  EXPECT_TRUE(store.apply(t, obj(R"({"id": 7, "v": 1})")));
  EXPECT_TRUE(store.apply(t, obj(R"({"id": "a", "v": 2})")));
  EXPECT_FALSE(store.apply(t, obj(R"({"v": 3})")));  // no key
  EXPECT_FALSE(store.apply(t, obj("[1]")));
  // 7.0 finds the row of 7.
  const Value* r = store.lookup("t", Value(7.0));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->find("v")->as_int(), 1);
  EXPECT_EQ(store.lookup("t", Value("7")), nullptr);  // a string is another key
  EXPECT_TRUE(store.apply(t, obj(R"({"id": 7, "v": 5})")));
  EXPECT_EQ(store.lookup("t", Value(7))->find("v")->as_int(), 5);
  EXPECT_EQ(store.size("t"), 2u);
  // A third row evicts the oldest insert (7), counted.
  EXPECT_TRUE(store.apply(t, obj(R"({"id": "b"})")));
  EXPECT_EQ(store.size("t"), 2u);
  EXPECT_EQ(store.evicted, 1u);
  EXPECT_EQ(store.lookup("t", Value(7)), nullptr);
  EXPECT_TRUE(store.apply(t, obj(R"({"id": "a", "_delete": true})")));
  EXPECT_EQ(store.lookup("t", Value("a")), nullptr);
  EXPECT_EQ(store.size("t"), 1u);
  ASSERT_NE(store.rows("t"), nullptr);
  EXPECT_EQ(store.rows("nope"), nullptr);
}

class ProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(catalog_.define(R"(CREATE STREAM s () WITH (DATASOURCE="sensors/#"))"));
  }
  std::unique_ptr<RuleProgram> compile(std::string_view sql, RuleLimits limits = {}) {
    auto p = RuleProgram::compile(sql, catalog_, &tables_, limits);
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? std::move(*p) : nullptr;
  }
  Catalog catalog_;
  TableStore tables_;
};

TEST_F(ProgramTest, FilterPassesTheRecordItself) {
  auto p = compile("SELECT * FROM s WHERE temp > 30");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->source().topic_filter, "sensors/#");
  EXPECT_TRUE(p->tables().empty());
  RuleOutput out;
  p->on_message("sensors/1", R"({"temp": 31, "id": "x"})", 1000, out);
  p->on_message("sensors/1", R"({"temp": 3})", 1001, out);
  p->on_record("sensors/1", obj(R"({"temp": 40.5})"), 1002, out);
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0].to_json(), R"({"temp":31,"id":"x"})");
  EXPECT_EQ(out.rows[1].to_json(), R"({"temp":40.5})");
  EXPECT_EQ(p->counters().records_in, 3u);
  EXPECT_EQ(p->counters().records_out, 2u);
  EXPECT_EQ(p->counters().filtered, 1u);
  EXPECT_EQ(p->next_deadline_ms(), INT64_MAX);
}

TEST_F(ProgramTest, BadInputIsCountedWithReason) {
  auto p = compile("SELECT v + 1 AS w FROM s");
  ASSERT_TRUE(p);
  RuleOutput out;
  p->on_message("t", "{", 1, out);
  p->on_record("t", Value(3), 2, out);
  p->on_message("t", R"({"v": "x"})", 3, out);
  EXPECT_TRUE(out.rows.empty());
  ASSERT_EQ(out.rejected.size(), 3u);
  EXPECT_EQ(out.rejected[0].payload, "{");
  EXPECT_EQ(out.rejected[2].payload, R"({"v": "x"})");
  EXPECT_NE(out.rejected[2].reason.find("1:10: cannot apply '+' to string and int"),
            std::string::npos)
      << out.rejected[2].reason;
  EXPECT_EQ(p->counters().decode_errors, 2u);
  EXPECT_EQ(p->counters().eval_errors, 1u);
  EXPECT_EQ(p->counters().last_error, out.rejected[2].reason);
}

TEST_F(ProgramTest, CompileErrorsNamePositions) {
  auto r = RuleProgram::compile("SELECT nosuch(1) FROM s", catalog_, &tables_, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().pos.line, 1u);
  EXPECT_EQ(r.error().pos.column, 8u);
  r = RuleProgram::compile("SELECT * FROM s JOIN s ON true", catalog_, &tables_, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is a stream"), std::string::npos);
  r = RuleProgram::compile("SELECT * FROM s WHERE", catalog_, &tables_, {});
  EXPECT_FALSE(r);  // the parser's error passes through
}

TEST_F(ProgramTest, TumblingWindowDeadlinesFollowTheFakeClock) {
  auto p = compile("SELECT id, avg(temp) AS t FROM s GROUP BY id, TUMBLINGWINDOW(ss, 10)");
  ASSERT_TRUE(p);
  RuleOutput out;
  p->on_message("t", R"({"id": "a", "temp": 1})", 12'000, out);
  p->on_message("t", R"({"id": "a", "temp": 2})", 13'000, out);
  EXPECT_TRUE(out.rows.empty());
  EXPECT_EQ(p->next_deadline_ms(), 20'000);
  p->on_time(19'999, out);
  EXPECT_TRUE(out.rows.empty());
  p->on_time(20'000, out);
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0].to_json(), R"({"id":"a","t":1.5})");
  EXPECT_EQ(p->next_deadline_ms(), INT64_MAX);
}

TEST_F(ProgramTest, AggregateWindowsKeepNoRows) {
  // 1,000 keys in a tumbling window: state is per group, not per event.
  auto p = compile("SELECT id, avg(temp) AS t FROM s GROUP BY id, TUMBLINGWINDOW(ss, 10)");
  ASSERT_TRUE(p);
  RuleOutput out;
  std::string payload;
  for (int i = 0; i < 1000; ++i) {
    payload = R"({"id": "dev-)" + std::to_string(i) + R"(", "temp": 20})";
    p->on_message("t", payload, 1000, out);
  }
  const size_t after_one_pass = p->state_bytes();
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 1000; ++i) {
      payload = R"({"id": "dev-)" + std::to_string(i) + R"(", "temp": 21})";
      p->on_message("t", payload, 2000 + round, out);
    }
  }
  EXPECT_LT(p->state_bytes(), after_one_pass * 3 / 2);
  p->on_time(10'000, out);
  EXPECT_EQ(out.rows.size(), 1000u);
  EXPECT_LT(p->state_bytes(), after_one_pass / 10);
}

TEST_F(ProgramTest, RowWindowsAreBoundedByMaxWindowRows) {
  RuleLimits limits;
  limits.max_window_rows = 100;
  auto p = compile("SELECT count(*) AS n FROM s GROUP BY SLIDINGWINDOW(hh, 1)", limits);
  ASSERT_TRUE(p);
  RuleOutput out;
  for (int i = 0; i < 1000; ++i) p->on_message("t", R"({"v": 1})", 1000 + i, out);
  ASSERT_EQ(out.rows.size(), 1000u);
  EXPECT_EQ(out.rows.back().to_json(), R"({"n":100})");
  EXPECT_EQ(p->counters().evicted, 900u);
}

TEST_F(ProgramTest, JoinsReadTheTableStore) {
  ASSERT_TRUE(catalog_.define(R"(CREATE TABLE lim () WITH (DATASOURCE="lim", KEY="id"))"));
  auto p = compile("SELECT s.id FROM s JOIN lim AS l ON l.id = s.id AND s.v > l.max");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->tables().size(), 1u);
  EXPECT_EQ(p->tables()[0], "lim");
  ASSERT_TRUE(tables_.apply(*catalog_.find("lim"), obj(R"({"id": "a", "max": 5})")));
  RuleOutput out;
  p->on_message("t", R"({"id": "a", "v": 6})", 1, out);
  p->on_message("t", R"({"id": "a", "v": 4})", 2, out);
  p->on_message("t", R"({"id": "b", "v": 9})", 3, out);
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0].to_json(), R"({"id":"a"})");
}

TEST(Like, Wildcards) {
  EXPECT_TRUE(like_match("abc", "abc"));
  EXPECT_TRUE(like_match("abc", "a%"));
  EXPECT_TRUE(like_match("abc", "%c"));
  EXPECT_TRUE(like_match("abc", "%"));
  EXPECT_TRUE(like_match("", "%"));
  EXPECT_TRUE(like_match("abc", "a_c"));
  EXPECT_TRUE(like_match("a%c", "a\\%c"));
  EXPECT_FALSE(like_match("abc", "a\\%c"));
  EXPECT_TRUE(like_match("aXbXc", "%b%c"));
  EXPECT_TRUE(like_match("mississippi", "%iss%ppi"));
  EXPECT_FALSE(like_match("abc", "a_"));
  EXPECT_FALSE(like_match("ab", "a_c"));
  EXPECT_FALSE(like_match("abc", "%d%"));
}

TEST(ReadEvents, EnvelopesBareObjectsAndErrors) {
  auto e = read_events_jsonl(
      "# comment\n"
      "{\"at\": 100, \"topic\": \"t/1\", \"payload\": {\"v\": 1}}\n"
      "\n"
      "{\"v\": 2}\n"
      "{\"at\": 500, \"table\": \"lim\", \"payload\": {\"id\": 1}}\n"
      "{\"payload\": \"raw bytes\"}\n",
      10);
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->size(), 4u);
  EXPECT_EQ((*e)[0].at_ms, 100);
  EXPECT_EQ((*e)[0].topic, "t/1");
  EXPECT_EQ((*e)[0].payload, R"({"v":1})");
  EXPECT_EQ((*e)[1].at_ms, 110);
  EXPECT_EQ((*e)[1].payload, R"({"v": 2})");
  EXPECT_TRUE((*e)[2].is_table);
  EXPECT_EQ((*e)[2].table, "lim");
  EXPECT_EQ((*e)[3].at_ms, 510);
  EXPECT_EQ((*e)[3].payload, "raw bytes");

  auto bad = read_events_jsonl("{\"v\": 1}\n{nope}\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("line 2:", 0), 0u) << bad.error().message;
}

TEST(Offline, ClosesWindowsAtTheirDeadlines) {
  auto events = read_events_jsonl(
      "{\"at\": 1000, \"payload\": {\"v\": 1}}\n"
      "{\"at\": 35000, \"payload\": {\"v\": 2}}\n");
  ASSERT_TRUE(events);
  auto r = run_offline("SELECT sum(v) AS s FROM s GROUP BY TUMBLINGWINDOW(ss, 10)",
                       {R"(CREATE STREAM s () WITH (DATASOURCE="x"))"}, *events, 39'999);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->rows.size(), 1u);  // the second window ends at 40000, after end_ms
  EXPECT_EQ(r->rows[0].at_ms, 10'000);
  EXPECT_EQ(r->counters.records_in, 2u);

  auto err = run_offline("SELECT * FROM nope", {}, {}, 0);
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().pos.column, 15u);
}

}  // namespace
}  // namespace verge::rules

namespace verge::rules {
namespace {

// Random values of every kind in every field: whatever arrives, a rule counts it and goes on,
// and its state stays within the limits.
TEST(ProgramRobustness, RandomEventsNeverStopARule) {
  Catalog catalog;
  ASSERT_TRUE(catalog.define(R"(CREATE STREAM s () WITH (DATASOURCE="x", TIMESTAMP="ts"))"));
  ASSERT_TRUE(catalog.define(R"(CREATE STREAM p () WITH (DATASOURCE="y"))"));
  ASSERT_TRUE(catalog.define(R"(CREATE TABLE t () WITH (DATASOURCE="t", KEY="id"))"));
  TableStore tables;
  const char* statements[] = {
      "SELECT * FROM p WHERE a > 1 AND b LIKE 'x%' OR c IN (1, 'q', null)",
      "SELECT a + b * c AS x, a / b AS y, a % c AS z, -a AS n, a || b AS s, a.b[1] AS m FROM p",
      "SELECT CASE a WHEN 1 THEN b ELSE c END AS k, a BETWEEN b AND c AS bt FROM p",
      ("SELECT id, avg(a) AS m, count(*) AS n, collect(b) AS bs FROM p GROUP BY id, "
       "HOPPINGWINDOW(ms, 40, 10) HAVING count(*) > 1 ORDER BY m DESC LIMIT 3"),
      "SELECT id, max(a) AS m FROM s GROUP BY id, TUMBLINGWINDOW(ms, 50)",
      "SELECT count(*) AS n FROM s GROUP BY SLIDINGWINDOW(ms, 30, 5) OVER (WHEN a > 0)",
      "SELECT id, sum(a) AS m FROM p GROUP BY id, SESSIONWINDOW(ms, 100, 7)",
      "SELECT a FROM p GROUP BY COUNTWINDOW(5, 2)",
      "SELECT id, lag(a) OVER (PARTITION BY id WHEN b > 0) AS l, had_changed(true, a) AS h FROM p",
      "SELECT p.id, t.v FROM p LEFT JOIN t ON p.id = t.id AND t.v > p.a",
      "SELECT id, count(*) AS n FROM p GROUP BY id",
  };
  const char* values[] = {"1",      "-7",   "2.5",         "0",     "9223372036854775807",
                          "\"x1\"", "\"\"", "true",        "false", "null",
                          "[1,2]",  "{}",   "{\"b\":[3]}", "1e308", "-0.0"};
  const char* ids[] = {"\"a\"", "\"b\"", "\"c\"", "1", "null", "2.0", "[1]"};
  RuleLimits limits;
  limits.max_groups = 4;
  limits.max_window_rows = 16;
  limits.max_partitions = 3;
  limits.allowed_lateness_ms = 20;
  uint32_t seed = 12345;
  auto next = [&]() {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
  };
  for (const char* sql : statements) {
    auto compiled = RuleProgram::compile(sql, catalog, &tables, limits);
    ASSERT_TRUE(compiled) << sql << ": " << compiled.error().message;
    RuleProgram& p = **compiled;
    RuleOutput out;
    int64_t now = 1000;
    size_t max_state = 0;
    for (int i = 0; i < 3000; ++i) {
      now += static_cast<int64_t>(next() % 5);
      if (next() % 50 == 0) {
        std::string row =
            std::string("{\"id\":") + ids[next() % 7] + ",\"v\":" + values[next() % 15] + "}";
        auto v = parse_json(row);
        ASSERT_TRUE(v) << row;
        (void)tables.apply(*catalog.find("t"), *v);
      }
      std::string payload =
          std::string("{\"id\":") + ids[next() % 7] + ",\"a\":" + values[next() % 15] +
          ",\"b\":" + values[next() % 15] + ",\"c\":" + values[next() % 15] +
          ",\"ts\":" + std::to_string(now - static_cast<int64_t>(next() % 60)) + "}";
      if (next() % 40 == 0) payload = "{\"broken\":";
      p.on_message("x", payload, now, out);
      if (next() % 10 == 0) p.on_time(now, out);
      max_state = std::max(max_state, p.state_bytes());
      out.rows.clear();
      out.rejected.clear();
    }
    p.on_time(now + 1000, out);
    const RuleCounters& c = p.counters();
    EXPECT_EQ(c.records_in, 3000u) << sql;
    EXPECT_GT(c.decode_errors, 0u) << sql;
    EXPECT_LT(max_state, 200'000u) << sql;
  }
}

}  // namespace
}  // namespace verge::rules

namespace verge::rules {
namespace {

TEST(ProgramLimits, PendingSlidingTriggersAreBounded) {
  Catalog catalog;
  ASSERT_TRUE(catalog.define(R"(CREATE STREAM s () WITH (DATASOURCE="x"))"));
  RuleLimits limits;
  limits.max_window_rows = 10;
  // A 1 s delay: triggers wait; at most 10 of them (and 10 rows) are kept.
  auto p = RuleProgram::compile("SELECT count(*) AS n FROM s GROUP BY SLIDINGWINDOW(ss, 5, 1)",
                                catalog, nullptr, limits);
  ASSERT_TRUE(p);
  RuleOutput out;
  for (int i = 0; i < 100; ++i) (*p)->on_message("x", "{}", 1000 + i, out);
  EXPECT_TRUE(out.rows.empty());
  EXPECT_EQ((*p)->next_deadline_ms(), 1000 + 90 + 1000);
  (*p)->on_time(5000, out);
  ASSERT_EQ(out.rows.size(), 10u);
  EXPECT_EQ(out.rows[0].to_json(), R"({"n":10})");
  EXPECT_EQ((*p)->counters().evicted, 90u + 90u);  // 90 triggers and 90 rows
  EXPECT_EQ((*p)->next_deadline_ms(), INT64_MAX);
}

}  // namespace
}  // namespace verge::rules

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "rules/lexer.h"
#include "rules/parser.h"

namespace verge::rules {
namespace {

// The expression as fully parenthesised text, or "error L:C: message".
std::string ex(std::string_view text) {
  auto r = parse_expression(text);
  if (!r) return "error " + format_error(r.error());
  return to_string(**r);
}

std::string select_error(std::string_view sql) {
  auto r = parse_select(sql);
  if (r) return "ok";
  return format_error(r.error());
}

std::string create_error(std::string_view sql) {
  auto r = parse_create(sql);
  if (r) return "ok";
  return format_error(r.error());
}

SelectStatement sel(std::string_view sql) {
  auto r = parse_select(sql);
  EXPECT_TRUE(r.has_value()) << sql << "\n  -> " << (r ? "" : format_error(r.error()));
  if (!r) return {};
  return std::move(*r);
}

struct ExprCase {
  const char* in;
  const char* out;
};

TEST(RulesParser, ExpressionShapesAndPrecedence) {
  const ExprCase cases[] = {
      // literals
      {"42", "42"},
      {"-42", "-42"},
      {"- 7", "-7"},
      {"9223372036854775807", "9223372036854775807"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"1.5", "1.5"},
      {"2.5e3", "2500.0"},
      {"1E-2", "0.01"},
      {"-0.25", "-0.25"},
      {"'it''s'", "'it''s'"},
      {R"("say \"hi\"")", R"('say "hi"')"},
      {R"('a\'b')", "'a''b'"},
      {R"('tab\there')", "'tab\there'"},
      {"TRUE", "true"},
      {"false", "false"},
      {"Null", "NULL"},
      // fields, members, indexes: the parser never decides what `s.a` means
      {"temperature", "temperature"},
      {"`hello world`", "`hello world`"},
      {"`select`", "`select`"},
      {"a.b[0].c", "a.b[0].c"},
      {"a->b->c", "a.b.c"},
      {"s.a", "s.a"},
      {"a[i + 1]", "a[(i + 1)]"},
      {"a[-1]", "a[-1]"},
      {"-a.b", "(-a.b)"},
      {"- -a", "(-(-a))"},
      {"- -5", "(-(-5))"},
      {"-(5)", "(-(5))"},
      {"(5).x", "(5).x"},
      {"(-5)[0]", "(-5)[0]"},
      {"-5[0]", "(-(5)[0])"},
      // arithmetic
      {"1 + 2 * 3", "(1 + (2 * 3))"},
      {"(1 + 2) * 3", "((1 + 2) * 3)"},
      {"a - b - c", "((a - b) - c)"},
      {"a / b % c * d", "(((a / b) % c) * d)"},
      {"a-1", "(a - 1)"},
      {"a - -1", "(a - -1)"},
      {"-a * b", "((-a) * b)"},
      // comparison, logic
      {"a = 1 OR b = 2 AND c = 3", "((a = 1) OR ((b = 2) AND (c = 3)))"},
      {"a == 1", "(a = 1)"},
      {"a <> 1", "(a != 1)"},
      {"a != 1", "(a != 1)"},
      {"a <= 1 and b >= 2", "((a <= 1) AND (b >= 2))"},
      {"NOT a = 1 AND b", "((NOT (a = 1)) AND b)"},
      {"NOT NOT a", "(NOT (NOT a))"},
      {"a OR NOT b", "(a OR (NOT b))"},
      {"a + 1 > b * 2", "((a + 1) > (b * 2))"},
      {"a < b = c", "((a < b) = c)"},
      // concatenation and bitwise: comparison < || < | < ^ < & < + -
      {"a || b = c", "((a || b) = c)"},
      {"a || b + c", "(a || (b + c))"},
      {"a | b ^ c & d", "(a | (b ^ (c & d)))"},
      {"a & b + 1", "(a & (b + 1))"},
      {"a | b || c", "((a | b) || c)"},
      {"a & 1 = 1", "((a & 1) = 1)"},
      // IN, BETWEEN, LIKE, IS NULL
      {"a IN (1, 2, 3)", "(a IN (1, 2, 3))"},
      {"a not in ('x')", "(a NOT IN ('x'))"},
      {"a + 1 IN (b, c)", "((a + 1) IN (b, c))"},
      {"a BETWEEN 1 AND 10 AND b", "((a BETWEEN 1 AND 10) AND b)"},
      {"a NOT BETWEEN x - 1 AND x + 1", "(a NOT BETWEEN (x - 1) AND (x + 1))"},
      {"name LIKE 'dev%'", "(name LIKE 'dev%')"},
      {"name NOT LIKE 'a\\_b'", "(name NOT LIKE 'a\\\\_b')"},
      {"a IS NULL", "(a IS NULL)"},
      {"a.b IS NOT NULL OR c", "((a.b IS NOT NULL) OR c)"},
      {"NOT a IS NULL", "(NOT (a IS NULL))"},
      // calls
      {"count(*)", "count(*)"},
      {"AVG(temperature)", "avg(temperature)"},
      {"now()", "now()"},
      {"round(avg(t) * 10, 2)", "round((avg(t) * 10), 2)"},
      {"lag(temp) OVER (PARTITION BY id WHEN temp > 0)",
       "lag(temp) OVER (PARTITION BY id WHEN (temp > 0))"},
      {"had_changed(true, a) OVER (WHEN b = 1)", "had_changed(true, a) OVER (WHEN (b = 1))"},
      {"lag(a) over (partition by x, y)", "lag(a) OVER (PARTITION BY x, y)"},
      {"json_path_query(payload, '$.a')[0]", "json_path_query(payload, '$.a')[0]"},
      // CASE
      {"CASE WHEN a > 1 THEN 'hi' ELSE 'lo' END", "CASE WHEN (a > 1) THEN 'hi' ELSE 'lo' END"},
      {"case a when 1 then 'one' when 2 then 'two' end",
       "CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END"},
      {"CASE WHEN a THEN 1 END + 1", "(CASE WHEN a THEN 1 END + 1)"},
      // comments and whitespace
      {"a /* the field */ + -- trailing\n 1", "(a + 1)"},
      {"\n\t a\r\n", "a"},
  };
  for (const auto& c : cases) EXPECT_EQ(ex(c.in), c.out) << "input: " << c.in;
}

TEST(RulesParser, ExpressionNodeDetails) {
  auto r = parse_expression("count(*)");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->kind, ExprKind::Call);
  EXPECT_TRUE((*r)->star_arg);
  EXPECT_TRUE((*r)->args.empty());

  r = parse_expression("Sensor.Temp");
  ASSERT_TRUE(r);
  const Expr& m = **r;
  EXPECT_EQ(m.kind, ExprKind::Member);
  EXPECT_EQ(m.name, "Temp");  // identifiers keep their case
  ASSERT_EQ(m.args.size(), 1u);
  EXPECT_EQ(m.args[0]->kind, ExprKind::Field);
  EXPECT_EQ(m.args[0]->name, "Sensor");
  EXPECT_TRUE(m.args[0]->qualifier.empty());
  EXPECT_EQ(m.pos.column, 8u);  // the member name
  EXPECT_EQ(m.args[0]->pos.column, 1u);

  r = parse_expression("a\n  + b");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->pos.line, 2u);  // a binary node sits at its operator
  EXPECT_EQ((*r)->pos.column, 3u);
  EXPECT_EQ((*r)->args[1]->pos.line, 2u);
  EXPECT_EQ((*r)->args[1]->pos.column, 5u);

  r = parse_expression("CASE x WHEN 1 THEN 2 ELSE 3 END");
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)->case_operand);
  EXPECT_TRUE((*r)->has_else);
  EXPECT_EQ((*r)->args.size(), 4u);

  r = parse_expression("-9223372036854775808");
  ASSERT_TRUE(r);
  ASSERT_TRUE((*r)->literal.is_int());
  EXPECT_EQ((*r)->literal.as_int(), INT64_MIN);

  r = parse_expression("1.0");
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)->literal.is_float());

  r = parse_expression("'a''b\\\\c\\n'");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->literal.as_string(), "a'b\\c\n");

  r = parse_expression("`a``b`");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->name, "a`b");

  r = parse_expression("lag(a) OVER (WHEN b)");
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)->partition_by.empty());
  ASSERT_TRUE((*r)->over_when);
  EXPECT_EQ((*r)->over_when->name, "b");
}

TEST(RulesParser, PrintedExpressionsParseBackToTheSameText) {
  const char* inputs[] = {
      "a.b[0].c + 1 > 2 AND NOT x IN (1, 'two', 3.5)",
      "CASE WHEN `odd name` LIKE 'a\\_%' THEN -1 ELSE 1e300 END",
      "lag(t) OVER (PARTITION BY id, site WHEN t IS NOT NULL) || 'x'",
      "a NOT BETWEEN -9223372036854775808 AND 0.1 OR b | c ^ d & e",
      "'quote '' and backslash \\\\ and \\d'",
      "(5).x + (-5)[0] + -(5) + -(-5) + - -5.5 + -(1.5e300) + 'a'.b + CASE WHEN a THEN b END.c",
  };
  for (const char* in : inputs) {
    const std::string once = ex(in);
    ASSERT_EQ(once.rfind("error", 0), std::string::npos) << once;
    EXPECT_EQ(ex(once), once) << "input: " << in;
  }
}

TEST(RulesParser, SelectClauses) {
  SelectStatement s =
      sel("SELECT deviceId, avg(temperature) AS avg_t, s.*, * FROM sensors AS s "
          "WHERE temperature > 20 GROUP BY deviceId, TUMBLINGWINDOW(ss, 10) "
          "HAVING avg(temperature) > 25 ORDER BY avg_t DESC, deviceId ASC, x LIMIT 5;");
  ASSERT_EQ(s.items.size(), 4u);
  EXPECT_EQ(to_string(*s.items[0].expr), "deviceId");
  EXPECT_EQ(s.items[0].alias, "");
  EXPECT_EQ(to_string(*s.items[1].expr), "avg(temperature)");
  EXPECT_EQ(s.items[1].alias, "avg_t");
  EXPECT_EQ(s.items[1].pos.column, 18u);
  EXPECT_EQ(s.items[2].expr->kind, ExprKind::Star);
  EXPECT_EQ(s.items[2].expr->qualifier, "s");
  EXPECT_EQ(s.items[3].expr->kind, ExprKind::Star);
  EXPECT_EQ(s.items[3].expr->qualifier, "");
  EXPECT_EQ(s.from, "sensors");
  EXPECT_FALSE(s.from_is_topic);
  EXPECT_EQ(s.from_alias, "s");
  EXPECT_EQ(s.from_pos.column, 57u);
  EXPECT_EQ(to_string(*s.where), "(temperature > 20)");
  ASSERT_EQ(s.group_by.size(), 1u);
  EXPECT_EQ(to_string(*s.group_by[0]), "deviceId");
  ASSERT_TRUE(s.window);
  EXPECT_EQ(s.window->kind, WindowKind::Tumbling);
  EXPECT_EQ(s.window->size_ms, 10'000);
  EXPECT_EQ(to_string(*s.having), "(avg(temperature) > 25)");
  ASSERT_EQ(s.order_by.size(), 3u);
  EXPECT_TRUE(s.order_by[0].descending);
  EXPECT_FALSE(s.order_by[1].descending);
  EXPECT_FALSE(s.order_by[2].descending);
  EXPECT_EQ(s.limit, 5);
  EXPECT_TRUE(s.joins.empty());
}

TEST(RulesParser, KeywordsAreCaseInsensitiveIdentifiersKeepCase) {
  SelectStatement s = sel("select Temp as T from Demo where Temp > 1 group by Site");
  EXPECT_EQ(s.items[0].alias, "T");
  EXPECT_EQ(s.items[0].expr->name, "Temp");
  EXPECT_EQ(s.from, "Demo");
  EXPECT_EQ(s.group_by[0]->name, "Site");
}

TEST(RulesParser, FromTopicFilterAndBareAlias) {
  SelectStatement s = sel("SELECT * FROM \"sensors/+/data\" d WHERE d.t > 1");
  EXPECT_EQ(s.from, "sensors/+/data");
  EXPECT_TRUE(s.from_is_topic);
  EXPECT_EQ(s.from_alias, "d");
  EXPECT_EQ(to_string(*s.where), "(d.t > 1)");

  s = sel("SELECT a FROM 'factory/#'");
  EXPECT_EQ(s.from, "factory/#");
  EXPECT_TRUE(s.from_is_topic);
  EXPECT_EQ(s.from_alias, "");

  s = sel("SELECT a FROM `from`");
  EXPECT_EQ(s.from, "from");
  EXPECT_FALSE(s.from_is_topic);
}

TEST(RulesParser, Joins) {
  SelectStatement s =
      sel("SELECT s.temperature, t.limit_c FROM sensors s "
          "LEFT JOIN thresholds AS t ON s.deviceId = t.deviceId "
          "JOIN sites ON sites.id = s.site "
          "INNER JOIN owners o ON o.id = sites.owner "
          "LEFT OUTER JOIN x ON true "
          "WHERE s.temperature > t.limit_c");
  ASSERT_EQ(s.joins.size(), 4u);
  EXPECT_EQ(s.joins[0].type, JoinType::Left);
  EXPECT_EQ(s.joins[0].table, "thresholds");
  EXPECT_EQ(s.joins[0].alias, "t");
  EXPECT_EQ(to_string(*s.joins[0].on), "(s.deviceId = t.deviceId)");
  EXPECT_EQ(s.joins[1].type, JoinType::Inner);
  EXPECT_EQ(s.joins[1].table, "sites");
  EXPECT_EQ(s.joins[1].alias, "");
  EXPECT_EQ(s.joins[2].type, JoinType::Inner);
  EXPECT_EQ(s.joins[2].alias, "o");
  EXPECT_EQ(s.joins[3].type, JoinType::Left);
  EXPECT_EQ(to_string(*s.where), "(s.temperature > t.limit_c)");
}

struct WindowCase {
  const char* group_by;
  WindowKind kind;
  int64_t size_ms, hop_ms, count, count_hop;
};

TEST(RulesParser, EveryWindowKind) {
  const WindowCase cases[] = {
      {"TUMBLINGWINDOW(ss, 10)", WindowKind::Tumbling, 10'000, 0, 0, 0},
      {"tumblingwindow(ms, 250)", WindowKind::Tumbling, 250, 0, 0, 0},
      {"TumblingWindow(MI, 2)", WindowKind::Tumbling, 120'000, 0, 0, 0},
      {"TUMBLINGWINDOW(hh, 1)", WindowKind::Tumbling, 3'600'000, 0, 0, 0},
      {"TUMBLINGWINDOW(dd, 1)", WindowKind::Tumbling, 86'400'000, 0, 0, 0},
      {"HOPPINGWINDOW(ss, 10, 5)", WindowKind::Hopping, 10'000, 5'000, 0, 0},
      {"HOPPINGWINDOW(mi, 1, 1)", WindowKind::Hopping, 60'000, 60'000, 0, 0},
      {"SLIDINGWINDOW(mi, 1)", WindowKind::Sliding, 60'000, 0, 0, 0},
      {"SLIDINGWINDOW(ss, 10, 2)", WindowKind::Sliding, 10'000, 2'000, 0, 0},
      {"SLIDINGWINDOW(ss, 10, 0)", WindowKind::Sliding, 10'000, 0, 0, 0},
      {"SESSIONWINDOW(mi, 2, 1)", WindowKind::Session, 120'000, 60'000, 0, 0},
      {"COUNTWINDOW(5)", WindowKind::Count, 0, 0, 5, 0},
      {"COUNTWINDOW(5, 2)", WindowKind::Count, 0, 0, 5, 2},
      {"COUNTWINDOW(1, 1)", WindowKind::Count, 0, 0, 1, 1},
  };
  for (const auto& c : cases) {
    const std::string sql = std::string("SELECT count(*) FROM demo GROUP BY ") + c.group_by;
    SelectStatement s = sel(sql);
    ASSERT_TRUE(s.window) << sql;
    EXPECT_EQ(s.window->kind, c.kind) << sql;
    EXPECT_EQ(s.window->size_ms, c.size_ms) << sql;
    EXPECT_EQ(s.window->hop_ms, c.hop_ms) << sql;
    EXPECT_EQ(s.window->count, c.count) << sql;
    EXPECT_EQ(s.window->count_hop, c.count_hop) << sql;
    EXPECT_EQ(s.window->pos.column, 36u) << sql;
    EXPECT_FALSE(s.window->trigger) << sql;
    EXPECT_TRUE(s.group_by.empty()) << sql;
  }
}

TEST(RulesParser, WindowAmongKeysAndSlidingTrigger) {
  SelectStatement s =
      sel("SELECT id, count(*) FROM demo GROUP BY id, SLIDINGWINDOW(ss, 5) OVER (WHEN temp > 50), "
          "site");
  ASSERT_TRUE(s.window);
  EXPECT_EQ(s.window->kind, WindowKind::Sliding);
  EXPECT_EQ(s.window->unit, TimeUnit::Second);
  ASSERT_TRUE(s.window->trigger);
  EXPECT_EQ(to_string(*s.window->trigger), "(temp > 50)");
  ASSERT_EQ(s.group_by.size(), 2u);
  EXPECT_EQ(to_string(*s.group_by[0]), "id");
  EXPECT_EQ(to_string(*s.group_by[1]), "site");

  // A field may be called like a window as long as it is not called.
  s = sel("SELECT countwindow FROM demo GROUP BY countwindow");
  EXPECT_FALSE(s.window);
  EXPECT_EQ(s.group_by.size(), 1u);
}

TEST(RulesParser, CreateStreamAndTable) {
  auto r = parse_create(
      "CREATE STREAM demo (\n"
      "  deviceId STRING, temperature FLOAT, humidity BIGINT, ok BOOLEAN, ts DATETIME,\n"
      "  tags ARRAY(STRING), loc STRUCT(lat FLOAT, lon FLOAT, extra ARRAY(STRUCT(k STRING))),\n"
      ") WITH (DATASOURCE=\"sensors/+/data\", FORMAT=\"json\", TIMESTAMP=\"ts\", "
      "timestamp_format='yyyy-MM-dd', Shared=true, retries=3);");
  ASSERT_TRUE(r) << format_error(r.error());
  const CreateStatement& c = *r;
  EXPECT_FALSE(c.is_table);
  EXPECT_EQ(c.name, "demo");
  EXPECT_EQ(c.pos.column, 15u);
  ASSERT_EQ(c.columns.size(), 7u);
  EXPECT_EQ(c.columns[0].name, "deviceId");
  EXPECT_EQ(c.columns[0].type, ColumnType::String);
  EXPECT_EQ(c.columns[0].pos.line, 2u);
  EXPECT_EQ(c.columns[0].pos.column, 3u);
  EXPECT_EQ(c.columns[1].type, ColumnType::Float);
  EXPECT_EQ(c.columns[2].type, ColumnType::Bigint);
  EXPECT_EQ(c.columns[3].type, ColumnType::Bool);
  EXPECT_EQ(c.columns[4].type, ColumnType::Datetime);
  EXPECT_EQ(c.columns[5].type, ColumnType::Array);
  EXPECT_EQ(c.columns[6].type, ColumnType::Struct);
  using Opt = std::pair<std::string, std::string>;
  const std::vector<Opt> want = {
      {"DATASOURCE", "sensors/+/data"},   {"FORMAT", "json"}, {"TIMESTAMP", "ts"},
      {"TIMESTAMP_FORMAT", "yyyy-MM-dd"}, {"SHARED", "true"}, {"RETRIES", "3"}};
  EXPECT_EQ(c.options, want);

  r = parse_create(
      "create table thresholds () with (DATASOURCE=\"config/thresholds\", KEY=\"id\")");
  ASSERT_TRUE(r) << format_error(r.error());
  EXPECT_TRUE(r->is_table);
  EXPECT_EQ(r->name, "thresholds");
  EXPECT_TRUE(r->columns.empty());
  ASSERT_EQ(r->options.size(), 2u);
  EXPECT_EQ(r->options[1], Opt("KEY", "id"));

  // Payload fields called like CREATE words need no quoting; reserved words need backticks.
  r = parse_create(
      "CREATE STREAM `stream` (type STRING, key BIGINT, `from` STRING) WITH (X=\"1\")");
  ASSERT_TRUE(r) << format_error(r.error());
  EXPECT_EQ(r->name, "stream");
  EXPECT_EQ(r->columns[2].name, "from");
}

struct BadCase {
  const char* sql;
  const char* error;  // "line:column: message"
};

TEST(RulesParser, BadSelectStatementsNameLineColumnAndWhatWasExpected) {
  const BadCase cases[] = {
      {"SELECT a FROM s WHERE a > FROM",
       "1:27: expected an expression after '>', found keyword FROM"},
      {"SELECT a FROM s WHERE", "1:22: expected an expression after WHERE, found end of input"},
      {"SELECT a\nFROM s\nWHERE b = 'x", "3:11: unterminated string (missing closing ')"},
      {"SELECT \"abc FROM s", "1:8: unterminated string (missing closing \")"},
      {"SELECT `abc FROM s", "1:8: unterminated quoted identifier (missing closing `)"},
      {"SELECT `` FROM s", "1:8: empty quoted identifier"},
      {"SELECT a /* open FROM s", "1:10: unterminated comment (missing '*/')"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(sx, 10)",
       "1:48: unknown time unit 'sx' (expected dd, hh, mi, ss or ms)"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 0)",
       "1:52: the size of TUMBLINGWINDOW must be a positive integer, found 0"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, -3)",
       "1:52: the size of TUMBLINGWINDOW must be a positive integer, found -3"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1.5)",
       "1:52: expected the size of TUMBLINGWINDOW (an integer), found number 1.5"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss)",
       "1:50: expected ',' after the time unit of TUMBLINGWINDOW, found ')'"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1, 2)",
       "1:55: TUMBLINGWINDOW takes a time unit and a size, e.g. TUMBLINGWINDOW(ss, 10)"},
      {"SELECT count(*) FROM s GROUP BY HOPPINGWINDOW(ss, 10)",
       "1:53: HOPPINGWINDOW takes a time unit, a size and a hop, e.g. HOPPINGWINDOW(ss, 10, 5)"},
      {"SELECT count(*) FROM s GROUP BY HOPPINGWINDOW(ss, 10, 20)",
       "1:55: the hop (20) must not be larger than the window size (10)"},
      {"SELECT count(*) FROM s GROUP BY SESSIONWINDOW(mi, 5, 10)",
       "1:54: the gap (10) must not be larger than the maximum duration (5)"},
      {"SELECT count(*) FROM s GROUP BY COUNTWINDOW(0)",
       "1:45: the count of COUNTWINDOW must be a positive integer, found 0"},
      {"SELECT count(*) FROM s GROUP BY COUNTWINDOW(3, 4)",
       "1:48: the hop count (4) must not be larger than the count (3)"},
      {"SELECT count(*) FROM s GROUP BY COUNTWINDOW(ss, 4)",
       "1:45: expected the count of COUNTWINDOW (an integer), found identifier ss"},
      {"SELECT count(*) FROM s GROUP BY SLIDINGWINDOW(ss, 10, -1)",
       "1:55: the delay of SLIDINGWINDOW must not be negative, found -1"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(dd, 999999999999999)",
       "1:52: the size of TUMBLINGWINDOW is too large"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 10) OVER (WHEN a)",
       "1:56: OVER (WHEN ...) is only allowed on SLIDINGWINDOW"},
      {"SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1), COUNTWINDOW(2)",
       "1:56: only one window is allowed in GROUP BY"},
      {"SELECT TUMBLINGWINDOW(ss, 1) FROM s",
       "1:8: TUMBLINGWINDOW is a window: it is only allowed as an item of GROUP BY"},
      {"SELECT DISTINCT a FROM s",
       "1:8: SELECT DISTINCT is not supported; use GROUP BY or the deduplicate() function"},
      {"SELECT a b FROM s",
       "1:10: expected ',' or FROM after a select item (aliases need AS), found identifier b"},
      {"SELECT a", "1:9: expected ',' or FROM after a select item, found end of input"},
      {"SELECT a FROM",
       "1:14: expected a stream name or a quoted topic filter after FROM, found end of input"},
      {"SELECT a FROM s WHERE a = 1 b",
       "1:29: expected GROUP BY, HAVING, ORDER BY, LIMIT or end of statement, found identifier b"},
      {"SELECT a FROM s extra junk",
       "1:23: expected JOIN, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT or end of statement, found "
       "identifier junk"},
      {"SELECT a FROM s LIMIT 5 6", "1:25: expected end of statement, found number 6"},
      {"SELECT a FROM s LIMIT -1", "1:23: expected a non-negative integer after LIMIT, found '-'"},
      {"SELECT a FROM s; SELECT", "1:18: expected end of statement, found keyword SELECT"},
      {"SELECT a FROM s RIGHT JOIN t ON a",
       "1:17: RIGHT JOIN is not supported (only JOIN, INNER JOIN and LEFT JOIN)"},
      {"SELECT a FROM s LEFT t", "1:22: expected JOIN after LEFT, found identifier t"},
      {"SELECT a FROM s JOIN t WHERE a",
       "1:24: expected ON after the joined table, found keyword WHERE"},
      {"SELECT a FROM s GROUP a", "1:23: expected BY after GROUP, found identifier a"},
      {"SELECT (a + 1 FROM s", "1:15: expected ')' to close the '(' at 1:8, found keyword FROM"},
      {"SELECT avg(a FROM s",
       "1:14: expected ',' or ')' in the arguments of avg, found keyword FROM"},
      {"SELECT a IN () FROM s", "1:14: expected a value in the IN list, found ')'"},
      {"SELECT a BETWEEN 1 OR 2 FROM s",
       "1:20: expected AND after the lower bound of BETWEEN, found keyword OR"},
      {"SELECT a IS 5 FROM s", "1:13: expected NULL or NOT NULL after IS, found number 5"},
      {"SELECT CASE WHEN a THEN 1 FROM s",
       "1:27: expected WHEN, ELSE or END in CASE, found keyword FROM"},
      {"SELECT CASE WHEN a 1 END FROM s",
       "1:20: expected THEN after the WHEN condition, found number 1"},
      {"SELECT CASE END FROM s", "1:13: expected an expression after CASE, found keyword END"},
      {"SELECT a. FROM s", "1:11: expected a field name after '.', found keyword FROM"},
      {"SELECT a->1 FROM s", "1:11: expected a field name after '->', found number 1"},
      {"SELECT a[1:2] FROM s", "1:11: array slices such as a[1:3] are not supported"},
      {"SELECT a[] FROM s", "1:10: expected an index inside '[]', found ']'"},
      {"SELECT a.b.* FROM s",
       "1:12: '.*' is only allowed as a whole select item, as in SELECT s.* FROM s"},
      {"SELECT * AS x FROM s", "1:10: a '*' select item cannot have an alias"},
      {"SELECT a + * FROM s", "1:12: expected an expression after '+', found '*'"},
      {"SELECT 99999999999999999999 FROM s",
       "1:8: integer 99999999999999999999 is out of range (integers are 64-bit signed; write it "
       "as a float, e.g. 99999999999999999999.0)"},
      {"SELECT 9223372036854775808 FROM s",
       "1:8: integer 9223372036854775808 is out of range (integers are 64-bit signed; write it "
       "as a float, e.g. 9223372036854775808.0)"},
      {"SELECT 1e999 FROM s", "1:8: number 1e999 is out of range"},
      {"SELECT 10s FROM s", "1:8: invalid number '10s'"},
      {"SELECT 1.2.3 FROM s", "1:8: invalid number '1.2.3'"},
      {"SELECT a ! b FROM s", "1:10: unexpected character '!'"},
      {"SELECT a FROM s WHERE a = #", "1:27: unexpected character '#'"},
      {"SELECT 'caf\xC3' FROM s", "1:8: invalid UTF-8 in string"},
      {"SELECT a FROM s WHERE \xE2\x82\xAC = 1", "1:23: unexpected character byte 0xE2"},
      {"SELECT count(DISTINCT a) FROM s", "1:14: DISTINCT inside a function call is not supported"},
      {"SELECT lag(a) OVER () FROM s",
       "1:21: expected PARTITION BY or WHEN inside OVER (...), found ')'"},
      {"SELECT lag(a) OVER (PARTITION id) FROM s",
       "1:31: expected BY after PARTITION, found identifier id"},
      {"SELECT count(*) FILTER (WHERE a > 1) FROM s",
       "1:17: FILTER (WHERE ...) on a function call is not supported; filter rows with WHERE or "
       "use CASE inside the aggregate"},
      {"SELECT a AS FROM s", "1:13: expected an alias after AS, found keyword FROM"},
      {"", "1:1: expected SELECT at the start of the statement, found end of input"},
      {"   select", "1:10: expected an expression after SELECT, found end of input"},
      {"UPDATE s SET a = 1",
       "1:1: expected SELECT at the start of the statement, found identifier UPDATE"},
      {"SELECT a FROM s WHERE a IN (SELECT b FROM t)", "1:29: subqueries are not supported"},
      {"SELECT `tumblingwindow`(ss, 1) FROM s",
       "1:8: TUMBLINGWINDOW is a window: it is only allowed as an item of GROUP BY"},
      {"SELECT (SELECT 1) FROM s", "1:9: subqueries are not supported"},
      {"SELECT count(*) FROM s GROUP BY STATEWINDOW(a > 1, a < 1)",
       "1:33: STATEWINDOW is not supported (windows: TUMBLINGWINDOW, HOPPINGWINDOW, "
       "SLIDINGWINDOW, SESSIONWINDOW, COUNTWINDOW)"},
      {"SELECT a = NOT b FROM s", "1:12: expected an expression after '=', found keyword NOT"},
      {"SELECT from FROM s",
       "1:8: expected an expression after SELECT, found keyword FROM (a reserved word: write "
       "`from` to use it as a name)"},
      {"SELECT a FROM s WHERE end > 5 AND x",
       "1:23: expected an expression after WHERE, found keyword END (a reserved word: write "
       "`end` to use it as a name)"},
      {"SELECT id, desc, x FROM s",
       "1:12: expected an expression after ',', found keyword DESC (a reserved word: write "
       "`desc` to use it as a name)"},
      {"SELECT CASE WHEN a THEN END FROM s",
       "1:25: expected an expression after THEN, found keyword END"},
  };
  for (const auto& c : cases) EXPECT_EQ(select_error(c.sql), c.error) << "sql: " << c.sql;
}

TEST(RulesParser, NulBytesAreErrorsNotTerminators) {
  EXPECT_EQ(select_error(std::string_view("SELECT a\0 FROM s", 16)),
            "1:9: unexpected character byte 0x00");
  EXPECT_EQ(select_error(std::string_view("SELECT 'a\0b' AS x FROM s", 24)), "ok");
}

TEST(RulesParser, BadCreateStatements) {
  const BadCase cases[] = {
      {"CREATE STREAM s (a INT) WITH (DATASOURCE=\"x\")",
       "1:20: unknown column type 'INT' (expected BIGINT, FLOAT, STRING, DATETIME, BOOLEAN, "
       "ARRAY or STRUCT)"},
      {"CREATE STREAM s (a BYTEA)", "1:20: column type BYTEA is not supported"},
      {"CREATE VIEW v ()", "1:8: expected STREAM or TABLE after CREATE, found identifier VIEW"},
      {"DROP STREAM s",
       "1:1: expected CREATE at the start of the statement, found identifier DROP"},
      {"CREATE STREAM s WITH (DATASOURCE=\"x\")",
       "1:17: expected '(' with the column list after the stream name (write () for a "
       "schemaless stream), found identifier WITH"},
      {"CREATE STREAM s (a STRING, a BIGINT)", "1:28: column a is declared twice"},
      {"CREATE STREAM s (a STRING b BIGINT)",
       "1:27: expected ',' or ')' after a column definition, found identifier b"},
      {"CREATE STREAM s () WITH (DATASOURCE=\"x\", datasource=\"y\")",
       "1:42: option DATASOURCE is given twice"},
      {"CREATE STREAM s () WITH (DATASOURCE \"x\")",
       "1:37: expected '=' after the option name DATASOURCE, found string 'x'"},
      {"CREATE STREAM s () WITH (DATASOURCE=)",
       "1:37: expected an option value (a quoted string), found ')'"},
      {"CREATE STREAM s () WITH ()", "1:26: expected an option name such as DATASOURCE, found ')'"},
      {"CREATE STREAM s () WITH (A=\"1\") extra",
       "1:33: expected end of statement, found identifier extra"},
      {"CREATE STREAM s () junk",
       "1:20: expected WITH (...) or end of statement, found identifier junk"},
      {"CREATE STREAM s (a ARRAY)",
       "1:25: expected '(' with the element type after ARRAY, found ')'"},
      {"CREATE STREAM s (a STRUCT(b))",
       "1:28: expected a column type (BIGINT, FLOAT, STRING, DATETIME, BOOLEAN, ARRAY or STRUCT), "
       "found ')'"},
      {"CREATE TABLE (a STRING)", "1:14: expected a table name, found '('"},
      {"CREATE STREAM s (select STRING)", "1:18: expected a column name, found keyword SELECT"},
  };
  for (const auto& c : cases) EXPECT_EQ(create_error(c.sql), c.error) << "sql: " << c.sql;
}

TEST(RulesParser, ExpressionErrors) {
  EXPECT_EQ(ex(""), "error 1:1: expected an expression, found end of input");
  EXPECT_EQ(ex("a b"), "error 1:3: expected end of expression, found identifier b");
  EXPECT_EQ(ex("a +"), "error 1:4: expected an expression after '+', found end of input");
  EXPECT_EQ(ex("a;"), "error 1:2: expected end of expression, found ';'");
  EXPECT_EQ(ex("*"), "error 1:1: expected an expression, found '*'");
}

TEST(RulesParser, InputLimits) {
  std::string big = "SELECT a FROM s WHERE a = '" + std::string(kMaxSqlBytes, 'x') + "'";
  EXPECT_EQ(select_error(big), "1:1: statement too long: 65564 bytes (the limit is 65536)");
  EXPECT_FALSE(parse_create(big));
  EXPECT_FALSE(parse_expression(big));

  // 200 levels are fine, 201 are not, whether built by parentheses, operators or calls.
  auto nested = [](int n, std::string open, std::string close) {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += "a";
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  EXPECT_TRUE(parse_expression(nested(150, "(", ")")));
  EXPECT_EQ(ex(nested(300, "(", ")")),
            "error 1:201: expression nested too deeply (more than 200 levels)");
  EXPECT_TRUE(parse_expression(nested(150, "f(", ")")));
  EXPECT_FALSE(parse_expression(nested(250, "f(", ")")));
  EXPECT_FALSE(parse_expression(nested(250, "NOT ", "")));
  EXPECT_FALSE(parse_expression(nested(250, "- ", "")));
  EXPECT_FALSE(parse_expression(nested(250, "a[", "]")));
  // Long flat chains build deep trees too: refused before the tree gets deep.
  std::string chain = "a";
  for (int i = 0; i < 10000; ++i) chain += " + a";
  auto r = parse_expression(chain);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "expression nested too deeply (more than 200 levels)");
  std::string members = "a";
  for (int i = 0; i < 10000; ++i) members += ".b";
  EXPECT_FALSE(parse_expression(members));
  std::string ors = "SELECT a FROM s WHERE a";
  for (int i = 0; i < 199; ++i) ors += " OR a";
  EXPECT_EQ(select_error(ors), "ok");
  EXPECT_FALSE(parse_create(nested(300, "CREATE STREAM s (a ARRAY(", "))")));
  // A flat list is not nesting.
  std::string list = "a IN (0";
  for (int i = 1; i < 5000; ++i) list += ", " + std::to_string(i);
  EXPECT_TRUE(parse_expression(list + ")"));
}

TEST(RulesParser, NeverCrashesOnArbitraryBytes) {
  std::mt19937 rng(12345);
  const std::string alphabet[] = {"SELECT ",
                                  "FROM ",
                                  "WHERE ",
                                  "GROUP BY ",
                                  "(",
                                  ")",
                                  ",",
                                  "'",
                                  "\"",
                                  "`",
                                  "a",
                                  "1",
                                  ".",
                                  "->",
                                  "[",
                                  "]",
                                  "-",
                                  "*",
                                  "NOT ",
                                  "IN ",
                                  "CASE ",
                                  "WHEN ",
                                  "END ",
                                  "OVER ",
                                  "/*",
                                  "--",
                                  std::string(1, '\0'),
                                  "\xff",
                                  "TUMBLINGWINDOW(",
                                  "ss"};
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % std::size(alphabet)];
    if (rng() % 4 == 0) s[rng() % (s.size() + 1) % std::max<size_t>(s.size(), 1)] ^= 0x5a;
    auto a = parse_select(s);
    auto b = parse_create(s);
    auto c = parse_expression(s);
    for (const SqlError* e :
         {a ? nullptr : &a.error(), b ? nullptr : &b.error(), c ? nullptr : &c.error()}) {
      if (!e) continue;
      EXPECT_GE(e->pos.line, 1u);
      EXPECT_GE(e->pos.column, 1u);
      EXPECT_FALSE(e->message.empty());
    }
  }
}

TEST(RulesLexer, TokensAndPositions) {
  Lexer lx("a->b <> 'x'\n  >= 1.5e2 `q`");
  std::vector<Token> toks;
  for (;;) {
    toks.push_back(lx.next());
    if (toks.back().kind == Tok::End || toks.size() > 20) break;
  }
  ASSERT_EQ(toks.size(), 9u);
  EXPECT_EQ(toks[1].kind, Tok::Arrow);
  EXPECT_EQ(toks[3].kind, Tok::Ne);
  EXPECT_EQ(toks[4].kind, Tok::String);
  EXPECT_EQ(toks[4].text, "x");
  EXPECT_EQ(toks[5].kind, Tok::Ge);
  EXPECT_EQ(toks[5].pos.line, 2u);
  EXPECT_EQ(toks[5].pos.column, 3u);
  EXPECT_EQ(toks[6].kind, Tok::Float);
  EXPECT_DOUBLE_EQ(toks[6].float_value, 150.0);
  EXPECT_EQ(toks[7].kind, Tok::QuotedIdent);
  EXPECT_EQ(toks[7].text, "q");
  EXPECT_EQ(keyword_of("sElEcT"), Kw::Select);
  EXPECT_EQ(keyword_of("selects"), Kw::None);
}

}  // namespace
}  // namespace verge::rules

// The pure parts of `verge sim edges`: record generation and timeline, pacing, the REST answers,
// the report and the options.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/value.h"
#include "json_test_util.h"
#include "sim/edges_api.h"
#include "sim/edges_pacer.h"
#include "sim/edges_records.h"
#include "sim/edges_report.h"
#include "sim/edges_sim.h"
#include "sync/batch.h"

namespace verge::sim {
namespace {

using verge::test::json;

RecordTimeline timeline() {
  RecordTimeline t;
  t.start_ms = 1700000000000;
  t.backlog = 100;
  t.rate = 50;  // one record every 20 ms
  t.devices = 4;
  return t;
}

TEST(SimEdgesRecords, DueCountsBacklogThenLiveRecords) {
  const RecordTimeline t = timeline();
  EXPECT_EQ(records_due(t, -5), 100u);
  EXPECT_EQ(records_due(t, 0), 100u);
  EXPECT_EQ(records_due(t, 1), 101u);  // live record 0 is due at the start
  EXPECT_EQ(records_due(t, 19), 101u);
  EXPECT_EQ(records_due(t, 20), 102u);
  EXPECT_EQ(records_due(t, 1000), 151u);
  RecordTimeline idle = t;
  idle.rate = 0;
  EXPECT_EQ(records_due(idle, 60000), 100u);
}

TEST(SimEdgesRecords, TimestampsOrderedBacklogInThePast) {
  const RecordTimeline t = timeline();
  EXPECT_EQ(record_ts(t, 100), t.start_ms);
  EXPECT_EQ(record_ts(t, 101), t.start_ms + 20);
  EXPECT_EQ(record_ts(t, 99), t.start_ms - 20);
  EXPECT_EQ(record_ts(t, 0), t.start_ms - 2000);
  for (uint64_t i = 1; i < 300; ++i) EXPECT_GT(record_ts(t, i), record_ts(t, i - 1));
}

TEST(SimEdgesRecords, RecordIsJsonAndDeterministic) {
  const RecordTimeline t = timeline();
  const std::string r = make_record(t, 6);
  EXPECT_EQ(r, make_record(t, 6)) << "regenerated for a resend, it must not change";
  const Value v = json(r);
  ASSERT_TRUE(v.is_object());
  ASSERT_NE(v.find("device"), nullptr);
  EXPECT_EQ(v.find("device")->as_string(), "d2");  // 6 mod 4
  ASSERT_NE(v.find("ts"), nullptr);
  EXPECT_EQ(v.find("ts")->as_int(), record_ts(t, 6));
  ASSERT_NE(v.find("temp"), nullptr);
  const double temp = *v.find("temp")->number();
  EXPECT_GE(temp, 18.5);
  EXPECT_LE(temp, 24.5);
  EXPECT_NE(make_record(t, 6), make_record(t, 7));
  EXPECT_LT(r.size(), 100u);
}

TEST(SimEdgesRecords, BatchOfRecordsCompresses) {
  const RecordTimeline t = timeline();
  std::vector<std::string> texts;
  std::vector<sync::BatchRecordIn> in;
  for (uint64_t i = 0; i < 2000; ++i) texts.push_back(make_record(t, i));
  for (uint64_t i = 0; i < 2000; ++i) in.push_back({record_ts(t, i), texts[i]});
  std::string wire;
  const size_t body = sync::encode_batch(0, in, {}, wire);
  EXPECT_LT(wire.size() * 4, body) << "telemetry-like records compress at least 4x";
}

TEST(SimEdgesPacer, LimitsInFlightAndRunsInOrder) {
  Pacer p(2);
  std::vector<int> started;
  for (int i = 0; i < 5; ++i) p.acquire([&started, i] { started.push_back(i); });
  EXPECT_EQ(started, (std::vector<int>{0, 1}));
  EXPECT_EQ(p.in_flight(), 2u);
  EXPECT_EQ(p.waiting(), 3u);
  p.release();
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2}));
  p.release();
  p.release();
  EXPECT_EQ(started, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(p.waiting(), 0u);
  EXPECT_EQ(p.in_flight(), 2u);
}

TEST(SimEdgesPacer, OperationEndingInsideItsStartDoesNotRecurse) {
  Pacer p(1);
  int started = 0;
  for (int i = 0; i < 10000; ++i) {
    p.acquire([&] {
      ++started;
      p.release();  // fails at once (e.g. a bad token): the next starts after this returns
    });
  }
  EXPECT_EQ(started, 10000);
  EXPECT_EQ(p.in_flight(), 0u);
}

TEST(SimEdgesApi, TokenAnswers) {
  auto a = token_answer(201, R"({"id":"sim-1","token":"vgt1.sim-1.x.y","expires_at_ms":1})");
  EXPECT_EQ(a.kind, TokenAnswer::Kind::Token);
  EXPECT_EQ(a.text, "vgt1.sim-1.x.y");
  EXPECT_EQ(token_answer(409, R"({"error":"exists"})").kind, TokenAnswer::Kind::Exists);
  auto denied = token_answer(403, R"({"error":"operator role required"})");
  EXPECT_EQ(denied.kind, TokenAnswer::Kind::Failed);
  EXPECT_EQ(denied.text, "HTTP 403: operator role required");
  EXPECT_EQ(token_answer(201, "{}").kind, TokenAnswer::Kind::Failed);
  EXPECT_EQ(token_answer(201, "not json").kind, TokenAnswer::Kind::Failed);
  EXPECT_EQ(token_answer(500, "").text, "HTTP 500");
}

TEST(SimEdgesApi, Bodies) {
  const Value create = json(create_node_body("sim-7", "sim"));
  EXPECT_EQ(create.find("id")->as_string(), "sim-7");
  EXPECT_EQ(create.find("site")->as_string(), "sim");
  EXPECT_EQ(create.find("labels")->find("sim")->as_string(), "sim");

  const Value d1 = json(desired_change_body(1));
  const Value d2 = json(desired_change_body(2));
  EXPECT_NE(d1, d2) << "each change must give the nodes a new version";
  ASSERT_NE(d1.find("rules"), nullptr);
  const Value* profiles = d1.find("profiles");
  ASSERT_NE(profiles, nullptr);
  ASSERT_EQ(profiles->as_object().size(), 1u);
  const auto& [name, profile] = profiles->as_object()[0];
  EXPECT_EQ(profile.find("name")->as_string(), name) << "the key is the item's name";
  EXPECT_EQ(profile.find("protocol")->as_string(), "modbus");
}

TEST(SimEdgesReport, Percentiles) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_EQ(percentile({3, 1, 2}, 100), 3);
  EXPECT_EQ(percentile({3, 1, 2}, 0), 1);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 50), 50);
}

TEST(SimEdgesReport, JsonFields) {
  EdgesReport r;
  r.nodes = 10;
  r.nodes_connected = 10;
  r.run_seconds = 4;
  r.records_acked = 1000;
  r.drain_seconds = 1.5;
  Value v = report_value(r);
  EXPECT_EQ(v.find("ack_rate")->number(), 250.0);
  EXPECT_EQ(v.find("drain_seconds")->number(), 1.5);
  EXPECT_EQ(v.find("desired"), nullptr) << "no desired section unless requested";

  r.drain_seconds.reset();
  r.desired.requested = true;
  r.desired.nodes = 3;
  r.desired.delivered = 2;
  r.desired.latencies = {0.5, 0.25};
  v = report_value(r);
  EXPECT_TRUE(v.find("drain_seconds")->is_null());
  const Value* d = v.find("desired");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->find("delivered")->as_int(), 2);
  EXPECT_EQ(d->find("max_seconds")->number(), 0.5);
  EXPECT_TRUE(d->find("all_delivered_seconds")->is_null()) << "one node did not get it";
  r.desired.delivered = 3;
  r.desired.latencies.push_back(0.75);
  v = report_value(r);
  EXPECT_EQ(v.find("desired")->find("all_delivered_seconds")->number(), 0.75);
}

TEST(SimEdgesReport, ProgressLine) {
  ProgressSample a, b;
  a.t_s = 1;
  b.t_s = 3;
  b.nodes_connected = 5;
  a.records_acked = 100;
  b.records_acked = 700;
  b.backlog_left = 42;
  const std::string line = progress_line(a, b, 8);
  EXPECT_NE(line.find("nodes 5/8"), std::string::npos) << line;
  EXPECT_NE(line.find("acked 300/s"), std::string::npos) << line;
  EXPECT_NE(line.find("backlog 42"), std::string::npos) << line;
}

TEST(SimEdgesOptions, HostPortAndChecks) {
  auto hp = parse_host_port("127.0.0.1:8883");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->first, "127.0.0.1");
  EXPECT_EQ(hp->second, 8883);
  auto v6 = parse_host_port("[::1]:1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->first, "::1");
  for (const char* bad : {"", "host", "host:", ":80", "h:0", "h:65536", "h:8x", "[::1]80"}) {
    EXPECT_FALSE(parse_host_port(bad)) << bad;
  }
  EdgesOptions o;
  o.hub = "127.0.0.1:8883";
  o.api = "http://127.0.0.1:8080";
  EXPECT_TRUE(check_edges_options(o));
  o.prefix = "bad.prefix";
  auto r = check_edges_options(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--prefix"), std::string::npos);
  o.prefix = "sim";
  o.count = 0;
  EXPECT_FALSE(check_edges_options(o));
}

}  // namespace
}  // namespace verge::sim

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>

#include "json_test_util.h"
#include "net/event_loop.h"
#include "rules/action.h"
#include "rules/alarms.h"
#include "rules/uplink.h"
#include "rules_test_util.h"
#include "store/metadata.h"
#include "store/tsdb.h"

namespace verge::rules {
namespace {

using testing::FakeBus;
using testing::FakeDeviceWriter;
using testing::run_until;
using testing::TempDir;
using testing::TestHttpServer;

AlarmFilter active_only() {
  AlarmFilter f;
  f.active = true;
  return f;
}
UplinkOptions uplink_in(std::string dir) {
  UplinkOptions o;
  o.dir = std::move(dir);
  return o;
}

using test::json;

std::string error_of(std::string_view config, const ActionServices& services) {
  auto a = make_action(json(config), services);
  return a ? "<created>" : a.error().message;
}

std::unique_ptr<Action> make(std::string_view config, const ActionServices& services) {
  auto a = make_action(json(config), services);
  EXPECT_TRUE(a) << config << ": " << a.error().message;
  return a ? std::move(*a) : nullptr;
}

class ActionsTest : public ::testing::Test {
 protected:
  ActionsTest() { services_.bus = &bus_; }
  TempDir dir_;
  FakeBus bus_;
  ActionServices services_;
};

TEST_F(ActionsTest, ConfigurationErrorsNameTheField) {
  EXPECT_NE(error_of(R"({"publish": {}, "log": {}})", services_).find("exactly one member"),
            std::string::npos);
  EXPECT_NE(error_of(R"("publish")", services_).find("exactly one member"), std::string::npos);
  EXPECT_NE(error_of(R"({"email": {}})", services_).find("unknown action kind 'email'"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"publish": []})", services_), "publish: expected an object of settings");
  EXPECT_EQ(error_of(R"({"publish": {}})", services_), "publish.topic: missing");
  EXPECT_EQ(error_of(R"({"publish": {"topic": 3}})", services_),
            "publish.topic: expected a string");
  EXPECT_EQ(error_of(R"({"publish": {"topic": "a", "qos": 3}})", services_),
            "publish.qos: expected 0, 1 or 2");
  EXPECT_EQ(error_of(R"({"publish": {"topic": "a", "retian": true}})", services_),
            "publish.retian: unknown field");
  EXPECT_EQ(error_of(R"({"publish": {"topic": "alerts/{{id"}})", services_),
            "publish.topic: unterminated {{ at offset 7");
  EXPECT_EQ(error_of(R"({"publish": {"topic": "alerts/#"}})", services_),
            "publish.topic: topic 'alerts/#' holds a wildcard");
  EXPECT_EQ(error_of(R"({"publish": {"topic": "a", "retain": 1}})", services_),
            "publish.retain: expected true or false");
  EXPECT_EQ(error_of(R"({"device": {"device": "d", "point": "p", "value": "1"}})", services_),
            "device action: no device layer on this node");
  EXPECT_EQ(error_of(R"({"alarm": {"key": "k"}})", services_),
            "alarm action: no alarm service on this node");
  EXPECT_EQ(error_of(R"({"alarm": {"key": "k", "severity": "bad"}})", services_),
            "alarm.severity: expected critical, major, minor, warning or info");
  EXPECT_EQ(error_of(R"({"tsdb": {"series": "s"}})", services_),
            "tsdb action: no time-series store on this node");
  EXPECT_EQ(error_of(R"({"log": {"level": "loud"}})", services_),
            "log.level: expected trace, debug, info, warn or error");
  EXPECT_EQ(error_of(R"({"webhook": {"url": "https://127.0.0.1/x"}})", services_)
                .rfind("webhook.url: https is not supported", 0),
            0u);
  EXPECT_EQ(error_of(R"({"webhook": {"url": "http://127.0.0.1/x", "retries": -1}})", services_),
            "webhook.retries: expected an integer from 0 to 100");
  EXPECT_EQ(error_of(R"({"webhook": {"url": "http://127.0.0.1/x", "headers": {"A": "b\nc"}}})",
                     services_),
            "webhook.headers.A: names and values must not hold CR, LF (or ':')");
  EXPECT_EQ(error_of(R"({"webhook": {"url": "http://127.0.0.1/x"}})", services_),
            "webhook action: no engine loop");
}

TEST_F(ActionsTest, PublishRendersTopicAndPayload) {
  auto a = make(R"({"publish": {"topic": "alerts/{{deviceId}}", "payload": "{\"t\": {{temp}}}",
                                "qos": 1, "retain": true}})",
                services_);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind(), "publish");
  a->emit(json(R"({"deviceId": "d1", "temp": 30.5})"), "hot", 1);
  auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].topic, "alerts/d1");
  EXPECT_EQ(msgs[0].payload, R"({"t": 30.5})");
  EXPECT_EQ(msgs[0].qos, 1);
  EXPECT_TRUE(msgs[0].retain);
  EXPECT_EQ(a->counters().sent, 1u);
}

TEST_F(ActionsTest, PublishWithoutPayloadSendsTheRowAndCountsBadTopics) {
  auto a = make(R"({"publish": {"topic": "out/{{id}}"}})", services_);
  ASSERT_TRUE(a);
  a->emit(json(R"({"id": "x", "v": [1, 2]})"), "r", 1);
  a->emit(json(R"({"id": "+", "v": 1})"), "r", 2);  // renders a wildcard
  a->emit(json(R"({"v": 1})"), "r", 3);             // no id
  a->emit(json(R"({"id": "a\u0000b"})"), "r", 4);   // NUL
  auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].topic, "out/x");
  EXPECT_EQ(msgs[0].payload, R"({"id":"x","v":[1,2]})");
  EXPECT_EQ(msgs[0].qos, 0);
  EXPECT_FALSE(msgs[0].retain);
  EXPECT_EQ(a->counters().sent, 1u);
  EXPECT_EQ(a->counters().failed, 3u);
  EXPECT_EQ(a->counters().last_error, "topic holds a NUL character");
}

TEST_F(ActionsTest, PublishRefusesTopicsThatAreNotUtf8) {
  auto a = make(R"({"publish": {"topic": "t/{{id}}"}})", services_);
  ASSERT_TRUE(a);
  for (const char* bad : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"}) {
    a->emit(Value(ValueObject{{"id", std::string(bad)}}), "r", 1);
  }
  a->emit(Value(ValueObject{{"id", std::string("caf\xC3\xA9-\xF0\x9F\x98\x80")}}), "r", 1);
  EXPECT_EQ(a->counters().failed, 5u);
  EXPECT_EQ(a->counters().last_error, "topic is not valid UTF-8");
  auto msgs = bus_.take();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].topic, "t/caf\xC3\xA9-\xF0\x9F\x98\x80");
}

TEST_F(ActionsTest, AlarmRaiseAndClearMakeHysteresis) {
  auto meta = store::MetadataStore::open(dir_.path());
  ASSERT_TRUE(meta) << meta.error().message;
  AlarmService alarms(**meta, &bus_);
  services_.alarms = &alarms;
  auto raise = make(R"({"alarm": {"key": "hot/{{id}}", "severity": "critical",
                                  "message": "{{id}} at {{temp}} C"}})",
                    services_);
  auto clear = make(R"({"alarm": {"key": "hot/{{id}}", "clear": true}})", services_);
  ASSERT_TRUE(raise && clear);
  raise->emit(json(R"({"id": "g1", "temp": 31})"), "too-hot", 1000);
  raise->emit(json(R"({"id": "g1", "temp": 32})"), "too-hot", 1100);
  auto active = alarms.list(active_only());
  ASSERT_TRUE(active);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].key, "hot/g1");
  EXPECT_EQ((*active)[0].rule, "too-hot");
  EXPECT_EQ((*active)[0].message, "g1 at 32 C");
  EXPECT_EQ((*active)[0].severity, Severity::Critical);
  EXPECT_EQ((*active)[0].count, 2);
  clear->emit(json(R"({"id": "g1", "temp": 27})"), "cooled", 2000);
  active = alarms.list(active_only());
  ASSERT_TRUE(active);
  EXPECT_TRUE(active->empty());
  EXPECT_EQ(raise->counters().sent, 2u);
  EXPECT_EQ(clear->counters().sent, 1u);
  raise->emit(json(R"({"temp": 40})"), "too-hot", 3000);  // no id: the key cannot be made
  EXPECT_EQ(raise->counters().failed, 1u);
  EXPECT_NE(raise->counters().last_error.find("key: field 'id'"), std::string::npos);
}

TEST_F(ActionsTest, AlarmActionWritesHeldUpdatesASecondLater) {
  auto meta = store::MetadataStore::open(dir_.path());
  ASSERT_TRUE(meta) << meta.error().message;
  AlarmService alarms(**meta, &bus_);
  net::EventLoop loop(0);
  services_.alarms = &alarms;
  services_.loop = &loop;
  auto raise = make(R"({"alarm": {"key": "k"}})", services_);
  ASSERT_TRUE(raise);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  raise->emit(json(R"({"v": 1})"), "r", now);
  raise->emit(json(R"({"v": 2})"), "r", now + 1);  // held: within a second of the raise
  EXPECT_EQ(bus_.take().size(), 1u);
  std::vector<testing::Published> later;
  EXPECT_TRUE(run_until(loop, [&] {
    for (auto& m : bus_.take()) later.push_back(std::move(m));
    return !later.empty();
  }));
  ASSERT_EQ(later.size(), 1u);
  auto v = parse_json(later[0].payload);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v->find("event"), Value("updated"));
  EXPECT_EQ(*v->find("alarm")->find("count"), Value(2));
}

TEST_F(ActionsTest, DeviceWritesAndCountsResults) {
  FakeDeviceWriter writer;
  services_.devices = &writer;
  auto a = make(R"({"device": {"device": "{{site}}-vent", "point": "open",
                               "value": "{{want}}", "ttl_ms": 5000, "max_pending": 2}})",
                services_);
  auto col = make(R"({"device": {"device": "d", "point": "p", "column": "v"}})", services_);
  ASSERT_TRUE(a && col);
  a->emit(json(R"({"site": "gh1", "want": 0.5})"), "r", 1);
  a->emit(json(R"({"site": "gh1", "want": "half"})"), "r", 2);
  a->emit(json(R"({"site": "gh1", "want": true})"), "r", 3);  // 2 pending: dropped
  ASSERT_EQ(writer.writes.size(), 2u);
  EXPECT_EQ(writer.writes[0].device, "gh1-vent");
  EXPECT_EQ(writer.writes[0].point, "open");
  EXPECT_EQ(writer.writes[0].value, Value(0.5));
  EXPECT_EQ(writer.writes[0].ttl_ms, 5000);
  EXPECT_EQ(writer.writes[1].value, Value("half"));
  EXPECT_EQ(a->counters().dropped, 1u);
  writer.pending[0](Result<void>{});
  writer.pending[1](unexpected(Error{"point open is read-only"}));
  EXPECT_EQ(a->counters().sent, 1u);
  EXPECT_EQ(a->counters().failed, 1u);
  EXPECT_EQ(a->counters().last_error, "point open is read-only");
  a->emit(json(R"({"site": "gh2", "want": 1})"), "r", 4);  // room again
  EXPECT_EQ(writer.writes.size(), 3u);

  col->emit(json(R"({"v": {"a": 1}})"), "r", 5);
  col->emit(json(R"({"w": 1})"), "r", 6);
  ASSERT_EQ(writer.writes.size(), 4u);
  EXPECT_EQ(writer.writes[3].value, json(R"({"a": 1})"));
  EXPECT_EQ(col->counters().failed, 1u);
  // A result arriving after the action is gone is ignored.
  a.reset();
  writer.pending[2](Result<void>{});
}

TEST_F(ActionsTest, UplinkAppendsDurableRecords) {
  UplinkStreams streams(uplink_in(dir_.path() + "/uplink"));
  net::EventLoop loop(0);
  services_.uplink = &streams;
  services_.loop = &loop;
  EXPECT_EQ(error_of(R"({"uplink": {"stream": "bad/name"}})", services_)
                .rfind("uplink.stream: uplink stream name 'bad/name' must be", 0),
            0u);
  auto a = make(R"({"uplink": {"stream": "results"}})", services_);
  ASSERT_TRUE(a);
  for (int i = 0; i < 3; ++i) a->emit(Value(ValueObject{{"i", i}}), "r1", 1000 + i);
  EXPECT_TRUE(run_until(loop, [&] { return a->counters().sent == 3; }));
  EXPECT_EQ(a->counters().failed, 0u);
  auto log = streams.log("results");
  ASSERT_TRUE(log);
  std::vector<std::string> records;
  ASSERT_TRUE((*log)->read(0, 10, [&](const store::LogRecord& r) {
    records.emplace_back(r.payload);
    return true;
  }));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1], R"({"rule":"r1","ts":1001,"row":{"i":1}})");
  EXPECT_EQ(streams.names(), std::vector<std::string>{"results"});
}

TEST_F(ActionsTest, UplinkConfirmationsAfterTheEngineIsGoneAreDropped) {
  // The streams outlive the rule engine in `verge edge`: confirmations still queued when the
  // action and its loop are gone must reach neither.
  auto streams = std::make_unique<UplinkStreams>(uplink_in(dir_.path()));
  auto loop = std::make_unique<net::EventLoop>(0);
  services_.uplink = streams.get();
  services_.loop = loop.get();
  auto a = make(R"({"uplink": {"stream": "s"}})", services_);
  ASSERT_TRUE(a);
  for (int i = 0; i < 100; ++i) a->emit(Value(ValueObject{{"i", i}}), "r", i);
  a.reset();
  loop.reset();
  streams.reset();  // flushes: the remaining confirmations run now
  UplinkStreams reopened(uplink_in(dir_.path()));
  auto log = reopened.log("s");
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->stats().next_offset, 100u);
}

TEST_F(ActionsTest, UplinkNamesIncludeStreamsOfEarlierRuns) {
  {
    UplinkStreams first(uplink_in(dir_.path()));
    ASSERT_TRUE(first.log("a"));
  }
  UplinkStreams second(uplink_in(dir_.path()));
  ASSERT_TRUE(second.log("b"));
  EXPECT_EQ(second.names(), (std::vector<std::string>{"a", "b"}));
  bool refused = false;
  second.append("no way", "{}", 1, [&](Result<void> r) { refused = !r; });
  EXPECT_TRUE(refused);
}

TEST_F(ActionsTest, TsdbStoresEveryColumnOrOne) {
  auto tsdb = store::Tsdb::in_memory({});
  services_.tsdb = tsdb.get();
  auto all = make(R"({"tsdb": {"series": "room/{{room}}"}})", services_);
  auto one =
      make(R"({"tsdb": {"series": "avg/{{room}}", "value": "t", "timestamp": "ts"}})", services_);
  ASSERT_TRUE(all && one);
  all->emit(json(R"({"room": "r1", "t": 21.5, "n": 3, "on": true, "obj": {"x": 1}})"), "r", 5000);
  auto t = tsdb->latest("room/r1.t");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->first, 5000);
  EXPECT_EQ(std::get<double>(t->second), 21.5);
  auto n = tsdb->latest("room/r1.n");
  ASSERT_TRUE(n);
  EXPECT_EQ(std::get<int64_t>(n->second), 3);
  auto on = tsdb->latest("room/r1.on");
  ASSERT_TRUE(on);
  EXPECT_EQ(std::get<bool>(on->second), true);
  auto room = tsdb->latest("room/r1.room");
  ASSERT_TRUE(room);
  EXPECT_EQ(std::get<std::string>(room->second), "r1");
  EXPECT_FALSE(tsdb->latest("room/r1.obj"));
  EXPECT_EQ(all->counters().sent, 1u);

  one->emit(json(R"({"room": "r2", "t": 19, "ts": 4000})"), "r", 5000);
  auto avg = tsdb->latest("avg/r2");
  ASSERT_TRUE(avg);
  EXPECT_EQ(avg->first, 4000);
  EXPECT_EQ(std::get<int64_t>(avg->second), 19);
  // Same series with another type: the store refuses it, counted.
  one->emit(json(R"({"room": "r2", "t": "warm", "ts": 4001})"), "r", 5000);
  one->emit(json(R"({"room": "r2", "ts": 4002})"), "r", 5000);
  EXPECT_EQ(one->counters().sent, 1u);
  EXPECT_EQ(one->counters().failed, 2u);
}

TEST_F(ActionsTest, LogCountsRows) {
  auto a = make(R"({"log": {"level": "debug"}})", services_);
  auto b = make(R"({"log": null})", services_);
  ASSERT_TRUE(a && b);
  a->emit(json(R"({"x": 1})"), "r", 1);
  b->emit(json(R"({"x": 1})"), "r", 1);
  EXPECT_EQ(a->counters().sent, 1u);
  EXPECT_EQ(b->counters().sent, 1u);
}

TEST_F(ActionsTest, WebhookRetriesFailuresWithBackoff) {
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> at;  // arrival of each request
  TestHttpServer server([&](int n, const std::string&) {
    std::lock_guard lock(mu);
    at.push_back(std::chrono::steady_clock::now());
    return TestHttpServer::status(n < 2 ? 503 : 200);
  });
  net::EventLoop loop(0);
  services_.loop = &loop;
  auto a = make(R"({"webhook": {"url": ")" + server.url() + R"(", "body": "t={{t}}",
                                "headers": {"X-Site": "s1"}, "backoff_ms": 40}})",
                services_);
  ASSERT_TRUE(a);
  a->emit(json(R"({"t": 5})"), "r", 1);
  EXPECT_TRUE(run_until(loop, [&] { return a->counters().sent == 1; }));
  EXPECT_EQ(a->counters().retried, 2u);
  EXPECT_EQ(a->counters().failed, 0u);
  EXPECT_EQ(a->counters().last_error, "HTTP status 503");
  const auto got = server.received();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& req : got) {
    EXPECT_EQ(req.substr(req.size() - 3), "t=5");
    EXPECT_NE(req.find("X-Site: s1\r\n"), std::string::npos);
    EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos);
  }
  // Back-off doubles: at least 40 ms before the first retry, 80 ms before the second.
  std::lock_guard lock(mu);
  ASSERT_EQ(at.size(), 3u);
  EXPECT_GE(at[1] - at[0], std::chrono::milliseconds(40));
  EXPECT_GE(at[2] - at[1], std::chrono::milliseconds(80));
}

TEST_F(ActionsTest, WebhookGivesUpAfterItsRetries) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::status(500); });
  net::EventLoop loop(0);
  services_.loop = &loop;
  auto a = make(R"({"webhook": {"url": ")" + server.url() + R"(", "retries": 2,
                                "backoff_ms": 1}})",
                services_);
  ASSERT_TRUE(a);
  a->emit(json(R"({"t": 1})"), "r", 1);
  EXPECT_TRUE(run_until(loop, [&] { return a->counters().failed == 1; }));
  EXPECT_EQ(a->counters().retried, 2u);
  EXPECT_EQ(a->counters().sent, 0u);
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(ActionsTest, WebhookTimesOutOnASilentServer) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::silent(); });
  net::EventLoop loop(0);
  services_.loop = &loop;
  auto a = make(R"({"webhook": {"url": ")" + server.url() + R"(", "retries": 0,
                                "timeout_ms": 100}})",
                services_);
  ASSERT_TRUE(a);
  a->emit(json(R"({"t": 1})"), "r", 1);
  EXPECT_TRUE(run_until(loop, [&] { return a->counters().failed == 1; }));
  EXPECT_EQ(a->counters().last_error, "timeout after 100 ms");
}

TEST_F(ActionsTest, WebhookFullQueueDropsAndLimitsConcurrency) {
  TestHttpServer server([](int, const std::string&) { return TestHttpServer::silent(); });
  net::EventLoop loop(0);
  services_.loop = &loop;
  auto a = make(R"({"webhook": {"url": ")" + server.url() + R"(", "max_queue": 6,
                                "timeout_ms": 60000}})",
                services_);
  ASSERT_TRUE(a);
  for (int i = 0; i < 10; ++i) a->emit(Value(ValueObject{{"i", i}}), "r", i);
  EXPECT_EQ(a->counters().dropped, 4u);  // emit never blocks: the rest is refused at once
  // Four requests run at once; the other two wait in the queue.
  EXPECT_TRUE(run_until(loop, [&] { return server.requests() == 4; }));
  EXPECT_EQ(server.requests(), 4);
  a.reset();  // abandons the requests in flight
}

}  // namespace
}  // namespace verge::rules

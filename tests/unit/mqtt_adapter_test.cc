#include "devices/adapters/mqtt/mqtt_adapter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "devices/adapters/builtin.h"
#include "devices/adapters/http/ingest_counters.h"
#include "net/loop_group.h"
#include "rules/bus.h"

namespace verge::devices {
namespace {

using namespace std::chrono_literals;

// Records subscriptions and publishes; the test delivers messages as a broker thread would.
class FakeBus : public rules::Bus {
 public:
  uint64_t subscribe(std::string_view filter, Handler handler) override {
    std::lock_guard lock(mu_);
    const uint64_t id = next_++;
    subs_[id] = {std::string(filter), std::move(handler)};
    return id;
  }
  void unsubscribe(uint64_t id) override {
    std::lock_guard lock(mu_);
    subs_.erase(id);
  }
  void publish(std::string_view topic, std::string_view payload, uint8_t qos,
               bool retain) override {
    std::lock_guard lock(mu_);
    published.push_back({std::string(topic), std::string(payload), qos, retain});
  }
  std::vector<std::string> filters() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& [id, s] : subs_) out.push_back(s.first);
    return out;
  }
  // Runs the handlers subscribed to exactly `topic` (the adapter's filters have no wildcards).
  void deliver(const std::string& topic, std::string_view payload) {
    std::vector<Handler> hs;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, s] : subs_) {
        if (s.first == topic) hs.push_back(s.second);
      }
    }
    for (auto& h : hs) h(topic, payload);
  }
  struct Published {
    std::string topic, payload;
    uint8_t qos;
    bool retain;
  };
  std::vector<Published> published;

 private:
  std::mutex mu_;
  uint64_t next_ = 1;
  std::map<uint64_t, std::pair<std::string, Handler>> subs_;
};

class FakeSink : public DeviceSink {
 public:
  void on_readings(std::span<const Reading> readings) override {
    std::lock_guard lock(mu_);
    batches.emplace_back(readings.begin(), readings.end());
    cv_.notify_all();
  }
  void on_link(bool online, std::string_view reason) override {
    std::lock_guard lock(mu_);
    links.emplace_back(online, std::string(reason));
    cv_.notify_all();
  }
  void on_poll(int64_t, uint32_t, uint32_t) override {}

  // Waits (bounded) until `pred` holds under the lock.
  template <class P>
  bool wait(P pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, pred);
  }
  std::vector<std::vector<Reading>> batches;
  std::vector<std::pair<bool, std::string>> links;
  std::mutex mu_;

 private:
  std::condition_variable cv_;
};

PointSpec point(std::string name, std::string address, DataType type) {
  PointSpec p;
  p.name = std::move(name);
  p.address = std::move(address);
  p.type = type;
  p.access = Access::ReadWrite;
  return p;
}

class MqttAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    profile_.name = "env";
    profile_.protocol = "mqtt";
    profile_.points = {
        point("temp", "sensors/{device}/state#main.temp", DataType::Float32),
        point("count", "sensors/{device}/state#readings[0].value", DataType::Int16),
        point("on", "sensors/{device}/state#on", DataType::Bool),
        point("label", "sensors/{device}/text", DataType::String),
        point("level", "sensors/{device}/level#", DataType::Float64),
    };
    device_.id = "env-1";
    device_.profile = "env";
    loops_.start();
  }
  void TearDown() override {
    if (adapter_) on_loop([&] { adapter_->stop(); });
    loops_.stop();
  }

  void on_loop(std::function<void()> fn) {
    std::promise<void> done;
    loops_.loop(0).post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  void start(std::string_view connection_json) {
    device_.connection = *parse_json(connection_json);
    AdapterContext ctx{&device_, &profile_, &loops_.loop(0), &sink_, &bus_};
    auto a = MqttAdapter::create(ctx);
    ASSERT_TRUE(a) << a.error().message;
    adapter_ = std::move(*a);
    on_loop([&] { adapter_->start(); });
  }

  Result<void> write(uint32_t point_index, Value raw) {
    std::promise<Result<void>> p;
    on_loop([&] { adapter_->write(point_index, raw, [&](Result<void> r) { p.set_value(r); }); });
    return p.get_future().get();
  }

  Profile profile_;
  DeviceSpec device_;
  net::LoopGroup loops_{1};
  FakeBus bus_;
  FakeSink sink_;
  std::unique_ptr<MqttAdapter> adapter_;
};

TEST_F(MqttAdapterTest, SubscribesOnceToEachDistinctTopic) {
  start("{}");
  auto f = bus_.filters();
  std::sort(f.begin(), f.end());
  EXPECT_EQ(f, (std::vector<std::string>{"sensors/env-1/level", "sensors/env-1/state",
                                         "sensors/env-1/text"}));
  on_loop([&] { adapter_->stop(); });
  EXPECT_TRUE(bus_.filters().empty()) << "stop unsubscribes";
}

TEST_F(MqttAdapterTest, MapsPathsTypesAndTimestampInOneBatch) {
  start(R"({"ts_path":"ts"})");
  bus_.deliver("sensors/env-1/state",
               R"({"main":{"temp":21.5},"readings":[{"value":7}],"on":1,"ts":1732190000123})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == 1; }));
  std::lock_guard lock(sink_.mu_);
  ASSERT_EQ(sink_.links.size(), 1u);
  EXPECT_TRUE(sink_.links[0].first) << "online on the first message";
  const auto& b = sink_.batches[0];
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].point, 0u);
  EXPECT_EQ(b[0].value, Value(21.5));
  EXPECT_EQ(b[0].ts_ms, 1732190000123);
  EXPECT_EQ(b[1].point, 1u);
  EXPECT_TRUE(b[1].value.is_int());
  EXPECT_EQ(b[1].value.as_int(), 7);
  EXPECT_EQ(b[2].point, 2u);
  EXPECT_EQ(b[2].value, Value(true));
  for (const auto& r : b) EXPECT_EQ(r.quality, Quality::Good);
}

TEST_F(MqttAdapterTest, TimestampsOutOfRangeUseReceiptTimeAndAreUncertain) {
  start(R"({"ts_path":"ts"})");
  const uint64_t counted = mqtt_device_counters().bad_ts.value();
  const int64_t before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  // Microseconds sent as ms, seconds as ms, a bad value with a bad ts, and a good one.
  bus_.deliver("sensors/env-1/state", R"({"on":true,"ts":1732190000123000})");
  bus_.deliver("sensors/env-1/state", R"({"on":true,"ts":1732190000})");
  bus_.deliver("sensors/env-1/state", R"({"on":3,"ts":1732190000})");
  bus_.deliver("sensors/env-1/state", R"({"on":true,"ts":1732190000123})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == 4; }));
  std::lock_guard lock(sink_.mu_);
  for (size_t i = 0; i < 2; ++i) {
    const Reading& r = sink_.batches[i].at(0);
    EXPECT_EQ(r.value, Value(true));
    EXPECT_EQ(r.quality, Quality::Uncertain);
    EXPECT_EQ(r.reason, "device timestamp out of range");
    EXPECT_GE(r.ts_ms, before_ms) << "receipt time";
  }
  EXPECT_EQ(sink_.batches[2].at(0).quality, Quality::Bad) << "a bad value stays bad";
  EXPECT_EQ(sink_.batches[3].at(0).quality, Quality::Good);
  EXPECT_EQ(sink_.batches[3].at(0).ts_ms, 1732190000123);
  EXPECT_EQ(adapter_->stats().bad_ts, 3u);
  EXPECT_EQ(mqtt_device_counters().bad_ts.value() - counted, 3u);
}

TEST_F(MqttAdapterTest, MissingFieldsAreNotReportedAndStringsAreRead) {
  start("{}");
  const auto before = std::chrono::system_clock::now();
  bus_.deliver("sensors/env-1/state", R"({"main":{"temp":"22.25"},"on":"false","other":1})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == 1; }));
  std::lock_guard lock(sink_.mu_);
  const auto& b = sink_.batches[0];
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].value, Value(22.25));
  EXPECT_EQ(b[1].point, 2u);
  EXPECT_EQ(b[1].value, Value(false));
  const int64_t before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  EXPECT_GE(b[0].ts_ms, before_ms) << "no ts_path: when received";
}

TEST_F(MqttAdapterTest, ValuesThatDoNotFitAreBadAndCounted) {
  start("{}");
  bus_.deliver("sensors/env-1/state", R"({"readings":[{"value":7.5}],"on":3,"main":{"temp":1}})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == 1; }));
  std::lock_guard lock(sink_.mu_);
  const auto& b = sink_.batches[0];
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].quality, Quality::Good);
  EXPECT_EQ(b[1].quality, Quality::Bad);
  EXPECT_EQ(b[1].reason, "expected int16 (-32768..32767), got 7.5");
  EXPECT_TRUE(b[1].value.is_null());
  EXPECT_EQ(b[2].quality, Quality::Bad);
  EXPECT_EQ(adapter_->stats().bad_values, 2u);
}

TEST_F(MqttAdapterTest, BadJsonIsCountedAndReportedBadNotCrashing) {
  start("{}");
  bus_.deliver("sensors/env-1/state", "{oops");
  bus_.deliver("sensors/env-1/state", std::string(10000, '['));
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == 2; }));
  std::lock_guard lock(sink_.mu_);
  ASSERT_EQ(sink_.batches[0].size(), 3u);
  for (const auto& r : sink_.batches[0]) {
    EXPECT_EQ(r.quality, Quality::Bad);
    EXPECT_EQ(r.reason.rfind("payload is not JSON: ", 0), 0u) << r.reason;
  }
  EXPECT_EQ(adapter_->stats().bad_payloads, 2u);
  EXPECT_EQ(adapter_->stats().messages, 2u);
}

TEST_F(MqttAdapterTest, WholePayloadPointsTakeTextAndNumbers) {
  start("{}");
  bus_.deliver("sensors/env-1/text", "  hello world\n");
  bus_.deliver("sensors/env-1/level", "21.5");
  bus_.deliver("sensors/env-1/level", "not a number");
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == 3; }));
  std::lock_guard lock(sink_.mu_);
  EXPECT_EQ(sink_.batches[0][0].value, Value("hello world"));
  EXPECT_EQ(sink_.batches[1][0].value, Value(21.5));
  EXPECT_EQ(sink_.batches[2][0].quality, Quality::Bad);
}

TEST_F(MqttAdapterTest, WritesPublishToTheCommandTopic) {
  start(R"({"command_topic":"cmd/{device}/{point}"})");
  ASSERT_TRUE(write(1, Value(int64_t{55})));
  ASSERT_EQ(bus_.published.size(), 1u);
  EXPECT_EQ(bus_.published[0].topic, "cmd/env-1/count");
  EXPECT_EQ(bus_.published[0].payload, R"({"count":55})");
  EXPECT_EQ(bus_.published[0].qos, 1);
  EXPECT_FALSE(bus_.published[0].retain);
}

TEST_F(MqttAdapterTest, RawCommandFormat) {
  start(R"({"command_topic":"cmd/{device}","command_format":"raw"})");
  ASSERT_TRUE(write(3, Value("on")));
  ASSERT_TRUE(write(0, Value(21.5)));
  ASSERT_EQ(bus_.published.size(), 2u);
  EXPECT_EQ(bus_.published[0].topic, "cmd/env-1");
  EXPECT_EQ(bus_.published[0].payload, "on");
  EXPECT_EQ(bus_.published[1].payload, "21.5");
}

TEST_F(MqttAdapterTest, WriteWithoutCommandTopicFails) {
  start("{}");
  auto r = write(0, Value(1.0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "no command_topic configured");
  EXPECT_TRUE(bus_.published.empty());
}

TEST_F(MqttAdapterTest, OfflineAfterSilenceAndOnlineAgain) {
  start(R"({"offline_after":"50ms"})");
  bus_.deliver("sensors/env-1/state", R"({"on":true})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.links.size() >= 2; }));
  {
    std::lock_guard lock(sink_.mu_);
    EXPECT_EQ(sink_.links[0], std::make_pair(true, std::string()));
    EXPECT_EQ(sink_.links[1], std::make_pair(false, std::string("no message for 50ms")));
  }
  bus_.deliver("sensors/env-1/state", R"({"on":true})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.links.size() >= 3; }));
  std::lock_guard lock(sink_.mu_);
  EXPECT_TRUE(sink_.links[2].first);
}

TEST_F(MqttAdapterTest, AFullDeliveryQueueDropsAndCounts) {
  start("{}");
  const uint64_t counted = mqtt_device_counters().dropped.value();
  // Hold the loop so that every delivery waits in its queue.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  loops_.loop(0).post([released] { released.wait(); });
  const size_t sent = MqttAdapter::kMaxPending + 500;
  for (size_t i = 0; i < sent; ++i) bus_.deliver("sensors/env-1/state", R"({"on":true})");
  EXPECT_EQ(adapter_->stats().dropped, 500u);
  EXPECT_EQ(adapter_->stats().messages, sent);
  EXPECT_EQ(mqtt_device_counters().dropped.value() - counted, 500u);
  release.set_value();
  on_loop([] {});  // the queued deliveries have run
  {
    std::lock_guard lock(sink_.mu_);
    EXPECT_EQ(sink_.batches.size(), MqttAdapter::kMaxPending);
  }
  // Room again once the loop has caught up.
  bus_.deliver("sensors/env-1/state", R"({"on":false})");
  ASSERT_TRUE(sink_.wait([&] { return sink_.batches.size() == MqttAdapter::kMaxPending + 1; }));
  EXPECT_EQ(adapter_->stats().dropped, 500u);
}

TEST_F(MqttAdapterTest, NothingReachesTheSinkAfterStop) {
  start("{}");
  on_loop([&] { adapter_->stop(); });
  bus_.deliver("sensors/env-1/state", R"({"on":true})");
  on_loop([] {});  // anything posted before this has run
  std::lock_guard lock(sink_.mu_);
  EXPECT_TRUE(sink_.batches.empty());
  EXPECT_TRUE(sink_.links.empty());
}

TEST(MqttAdapterFactory, ChecksAddressesAndConnections) {
  auto f = mqtt_adapter_factory();
  EXPECT_EQ(f->protocol(), "mqtt");
  EXPECT_FALSE(f->polls());
  auto check = [&](std::string address) {
    return f->check_point(point("p", std::move(address), DataType::Float32));
  };
  EXPECT_TRUE(check("a/{device}/b#x.y[2].z"));
  EXPECT_TRUE(check("a/b"));
  EXPECT_TRUE(check("a/b#"));
  EXPECT_TRUE(check("a/b#[0]"));
  auto err = [&](std::string address) {
    auto r = check(std::move(address));
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err("").rfind("address: empty topic", 0), 0u);
  EXPECT_EQ(err("a/+/b#x").rfind("address: topic 'a/+/b' holds a wildcard", 0), 0u);
  EXPECT_EQ(err("a/{point}#x").rfind("address: unknown placeholder '{point}' ({device})", 0), 0u);
  EXPECT_EQ(err("a/{device#x").rfind("address: topic has a '{' without '}'", 0), 0u);
  EXPECT_EQ(err("a#x..y"), "address: bad JSON path 'x..y': empty member name");
  EXPECT_EQ(err("a#x[1"), "address: bad JSON path 'x[1': missing ']'");
  EXPECT_EQ(err("a#x[b]"), "address: bad JSON path 'x[b]': expected an integer index in []");
  EXPECT_EQ(err("a#x."), "address: bad JSON path 'x.': ends with '.'");

  auto conn = [&](std::string_view json) {
    auto r = f->check_connection(*parse_json(json));
    return r ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(conn("{}"), "ok");
  EXPECT_EQ(conn("null"), "ok");
  EXPECT_EQ(conn(R"({"ts_path":"meta.ts","command_topic":"c/{device}/{point}",
                     "command_format":"json","offline_after":"30s"})"),
            "ok");
  EXPECT_EQ(conn(R"({"host":"x"})"),
            "host: unknown key (ts_path, command_topic, command_format, offline_after)");
  EXPECT_EQ(conn(R"({"command_format":"xml"})"), "command_format: expected json or raw");
  EXPECT_EQ(conn(R"({"command_topic":"c/#"})").rfind("command_topic: topic 'c/#' holds", 0), 0u);
  EXPECT_EQ(conn(R"({"offline_after":"soon"})").rfind("offline_after: ", 0), 0u);
  EXPECT_EQ(conn(R"({"offline_after":0})"), "offline_after: expected a duration above 0");
  EXPECT_EQ(conn(R"({"ts_path":""})"), "ts_path: empty path");
  EXPECT_EQ(conn("[1]"), "connection: expected an object");
}

TEST(MqttAdapterFactory, IsBuiltIn) {
  const AdapterFactory* f = builtin_adapters().find("mqtt");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->polls());
  ASSERT_NE(builtin_adapters().find("http"), nullptr);
  ASSERT_NE(builtin_adapters().find("coap"), nullptr);
}

TEST(PushAdapterFactory, PointsByNameAndNoConnection) {
  const AdapterFactory* f = builtin_adapters().find("http");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->polls());
  PointSpec p = point("temp", "", DataType::Float32);
  p.access = Access::Read;
  EXPECT_TRUE(f->check_point(p));
  p.address = "temp";
  EXPECT_TRUE(f->check_point(p));
  p.address = "other";
  EXPECT_FALSE(f->check_point(p));
  p.address = "";
  p.access = Access::ReadWrite;
  auto w = f->check_point(p);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().message.rfind("access: http devices push", 0), 0u);
  EXPECT_TRUE(f->check_connection(Value()));
  EXPECT_TRUE(f->check_connection(*parse_json("{}")));
  EXPECT_FALSE(f->check_connection(*parse_json(R"({"host":"x"})")));
  EXPECT_EQ(f->create(AdapterContext{}), nullptr);
}

}  // namespace
}  // namespace verge::devices

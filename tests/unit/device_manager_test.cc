// The device manager with fake adapters on real loops: the pipeline (calibration, deadband,
// report always, quality), twin, status, desired writes (applied, failed, timeout), the durable
// offline queue across a restart, TTL expiry, supersede, MQTT desired/set, rule writes, ingest.
#include <gtest/gtest.h>

#include <filesystem>

#include "device_test_util.h"
#include "devices/command.h"
#include "devices/manager.h"
#include "json_test_util.h"
#include "net/loop_group.h"
#include "store/tsdb.h"

namespace verge::devices {
namespace {

using testing::eventually;
using testing::FakeBus;
using testing::FakeControl;
using testing::FakeFactory;
using testing::WriteMode;

using test::json;

constexpr std::string_view kProfile = R"({"name": "boiler", "protocol": "fake", "points": [
  {"name": "temp", "address": "reg:0", "type": "int16", "scale": 0.1, "deadband": 0.5},
  {"name": "count", "address": "reg:1", "type": "uint16", "report": "always"},
  {"name": "setpoint", "address": "reg:2", "type": "int16", "access": "rw", "scale": 0.5},
  {"name": "on", "address": "reg:3", "type": "bool", "access": "w"}]})";

class DeviceManagerTest : public ::testing::Test {
 protected:
  DeviceManagerTest() : loops_(2) {
    char tmpl[] = "/tmp/verge_devices_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    registry_.add(std::make_unique<FakeFactory>("fake", true, &control_));
    registry_.add(std::make_unique<FakeFactory>("push", false, nullptr));
    loops_.start();
    tsdb_ = store::Tsdb::in_memory({});
  }
  ~DeviceManagerTest() override {
    if (manager_) manager_->stop();
    manager_.reset();
    loops_.stop();
    std::filesystem::remove_all(dir_);
  }

  void open(int64_t write_timeout_ms = 5000) {
    if (manager_) manager_->stop();
    manager_.reset();
    DeviceManagerOptions o;
    o.loops = &loops_;
    o.bus = &bus_;
    o.tsdb = tsdb_.get();
    o.meta_path = dir_ + "/meta.db";
    o.adapters = &registry_;
    o.write_timeout_ms = write_timeout_ms;
    auto m = DeviceManager::create(std::move(o));
    ASSERT_TRUE(m) << m.error().message;
    manager_ = std::move(*m);
  }

  // The profile and a device of it from "configuration", then start.
  void boiler(std::string_view connection = "{}", std::string_view extra = "") {
    ASSERT_TRUE(manager_->put_profile(json(kProfile), true));
    const std::string doc = R"({"id": "b1", "profile": "boiler", "connection": )" +
                            std::string(connection) + std::string(extra) + "}";
    auto r = manager_->put_device(json(doc), true);
    ASSERT_TRUE(r) << r.error().message;
    manager_->start();
  }

  void readings(std::vector<Reading> rs) {
    ASSERT_TRUE(
        control_.on_loop("b1", [rs](testing::FakeAdapter& a) { a.sink().on_readings(rs); }));
  }
  void link(bool online, std::string reason = "") {
    ASSERT_TRUE(control_.on_loop(
        "b1", [online, reason](testing::FakeAdapter& a) { a.sink().on_link(online, reason); }));
  }
  std::vector<Value> data() {
    std::vector<Value> out;
    for (const auto& m : bus_.on("verge/devices/b1/data")) out.push_back(json(m.payload));
    return out;
  }

  // set_desired and wait for its answer.
  Value desired(std::string_view values, int64_t wait_ms = 2000, int64_t ttl_ms = 0) {
    auto answer = std::make_shared<std::promise<Value>>();
    auto f = answer->get_future();
    auto r = manager_->set_desired("b1", json(values), ttl_ms, wait_ms,
                                   [answer](Value v) { answer->set_value(std::move(v)); });
    EXPECT_TRUE(r) << r.error().message;
    if (!r) return Value();
    EXPECT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    return f.get();
  }

  std::string dir_;
  net::LoopGroup loops_;
  AdapterRegistry registry_;
  FakeControl control_;
  FakeBus bus_;
  std::unique_ptr<store::Tsdb> tsdb_;
  std::unique_ptr<DeviceManager> manager_;
};

Reading reading(uint32_t point, Value v, Quality q = Quality::Good, std::string reason = "") {
  Reading r;
  r.point = point;
  r.value = std::move(v);
  r.ts_ms = 1000;
  r.quality = q;
  r.reason = std::move(reason);
  return r;
}

TEST_F(DeviceManagerTest, CalibratesAndReportsOnChangeBeyondTheDeadband) {
  open();
  boiler("{}", R"(, "calibration": {"temp": {"scale": 0.1, "offset": -1.5}})");
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  readings({reading(0, 215), reading(1, 5)});  // 215 * 0.1 - 1.5 = 20
  readings({reading(0, 218), reading(1, 5)});  // 20.3: within the deadband; count: always
  readings({reading(0, 221)});                 // 20.6: reported
  readings({reading(0, 221)});                 // unchanged: no message at all
  auto msgs = data();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(*msgs[0].find("device"), Value("b1"));
  EXPECT_EQ(*msgs[0].find("ts"), Value(1000));
  EXPECT_NEAR(msgs[0].find("values")->find("temp")->as_float(), 20.0, 1e-9);
  EXPECT_EQ(*msgs[0].find("values")->find("count"), Value(5));
  EXPECT_TRUE(msgs[0].find("values")->find("count")->is_int());  // identity keeps integers
  EXPECT_EQ(msgs[1].find("values")->find("temp"), nullptr);
  EXPECT_EQ(*msgs[1].find("values")->find("count"), Value(5));
  EXPECT_NEAR(msgs[2].find("values")->find("temp")->as_float(), 20.6, 1e-9);
  EXPECT_EQ(msgs[0].find("quality"), nullptr);

  // The twin holds the latest reading, reported or not.
  auto twin = manager_->twin("b1");
  ASSERT_TRUE(twin);
  EXPECT_NEAR(twin->find("reported")->find("temp")->find("value")->as_float(), 20.6, 1e-9);
  EXPECT_EQ(*twin->find("reported")->find("temp")->find("quality"), Value("good"));
  // History: series "<device>/<point>" in group devices, only what was reported.
  auto temp = tsdb_->range("b1/temp", 0, 2000);
  ASSERT_TRUE(temp);
  EXPECT_EQ(tsdb_->list().size(), 2u);
  ASSERT_TRUE(tsdb_->latest("b1/count"));
  EXPECT_EQ(std::get<int64_t>(tsdb_->latest("b1/count")->second), 5);
}

TEST_F(DeviceManagerTest, BadReadingsGoToTheQualitySection) {
  open();
  boiler();
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  const std::string why = "exception 2: illegal data address";
  readings({reading(0, 200), reading(2, Value(), Quality::Bad, why)});
  readings({reading(2, Value(), Quality::Bad, why)});  // the same: not reported again
  readings({reading(0, 300, Quality::Uncertain, "stale")});
  auto msgs = data();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].find("values")->find("setpoint"), nullptr);
  EXPECT_EQ(msgs[0].find("quality")->find("setpoint")->to_json(),
            R"({"quality":"bad","reason":"exception 2: illegal data address"})");
  EXPECT_NEAR(msgs[1].find("values")->find("temp")->as_float(), 30.0, 1e-9);
  EXPECT_EQ(*msgs[1].find("quality")->find("temp")->find("quality"), Value("uncertain"));
  auto twin = manager_->twin("b1");
  EXPECT_EQ(*twin->find("reported")->find("setpoint")->find("reason"), Value(why));
  EXPECT_EQ(*twin->find("reported")->find("setpoint")->find("quality"), Value("bad"));
}

TEST_F(DeviceManagerTest, StatusIsPublishedRetainedWhenTheLinkChanges) {
  open();
  boiler();
  ASSERT_TRUE(eventually([&] { return bus_.on("verge/devices/b1/status").size() == 1; }));
  link(false, "connect: connection refused");
  link(false, "connect: connection refused");  // no change: not published again
  ASSERT_TRUE(
      control_.on_loop("b1", [](testing::FakeAdapter& a) { a.sink().on_poll(1500, 3, 1); }));
  auto status = bus_.on("verge/devices/b1/status");
  ASSERT_EQ(status.size(), 2u);
  EXPECT_TRUE(status[1].retain);
  auto v = json(status[1].payload);
  EXPECT_EQ(*v.find("online"), Value(false));
  EXPECT_EQ(*v.find("reason"), Value("connect: connection refused"));
  auto doc = manager_->device("b1");
  ASSERT_TRUE(doc);
  const Value& st = *doc->find("status");
  EXPECT_EQ(*st.find("online"), Value(false));
  EXPECT_EQ(*st.find("polls"), Value(1));
  EXPECT_EQ(*st.find("requests"), Value(3));
  EXPECT_EQ(*st.find("failed"), Value(1));
  EXPECT_EQ(*st.find("last_error"), Value("connect: connection refused"));
  EXPECT_EQ(*st.find("poll_latency_us")->find("max"), Value(1500));
  EXPECT_EQ(*doc->find("from_config"), Value(true));
}

TEST_F(DeviceManagerTest, DesiredWriteAppliedFailedAndTimedOut) {
  open(100);
  boiler();
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  auto ok = desired(R"({"setpoint": 55})");
  ASSERT_EQ(ok.as_array().size(), 1u);
  EXPECT_EQ(*ok.at(0)->find("status"), Value("applied")) << ok.to_json();
  {
    std::lock_guard lock(control_.mu);
    ASSERT_EQ(control_.writes.size(), 1u);
    EXPECT_EQ(control_.writes[0].first, 2u);
    EXPECT_EQ(control_.writes[0].second, Value(110));  // 55 / 0.5
  }
  auto twin = manager_->twin("b1");
  const Value& d = *twin->find("desired")->find("setpoint");
  EXPECT_EQ(*d.find("value"), Value(55));
  EXPECT_EQ(*d.find("status"), Value("applied"));
  auto results = bus_.on("verge/devices/b1/commands");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(*json(results[0].payload).find("status"), Value("applied"));

  control_.mode = WriteMode::Fail;
  auto failed = desired(R"({"on": true})");
  EXPECT_EQ(*failed.at(0)->find("status"), Value("failed"));
  EXPECT_EQ(*failed.at(0)->find("error"), Value("exception 2: illegal data address"));

  control_.mode = WriteMode::Never;
  auto late = desired(R"({"on": false})");
  EXPECT_EQ(*late.at(0)->find("status"), Value("timeout"));
  EXPECT_EQ(*manager_->twin("b1")->find("desired")->find("on")->find("status"), Value("timeout"));
}

TEST_F(DeviceManagerTest, DesiredValidationNamesThePoint) {
  open();
  boiler();
  auto none = [](Value) {};
  auto r = manager_->set_desired("nope", json(R"({"setpoint": 1})"), 0, 0, none);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DeviceErrorCode::NotFound);
  r = manager_->set_desired("b1", json(R"({"setpont": 1})"), 0, 0, none);
  EXPECT_EQ(r.error().message, "point 'setpont': no such point in profile 'boiler'");
  r = manager_->set_desired("b1", json(R"({"temp": 1})"), 0, 0, none);
  EXPECT_EQ(r.error().message, "point 'temp': read-only (access r)");
  r = manager_->set_desired("b1", json(R"({"setpoint": 20000})"), 0, 0, none);
  EXPECT_EQ(r.error().message,
            "point 'setpoint': expected int16 (-32768..32767), got 40000.0 (raw value of 20000)");
  r = manager_->set_desired("b1", json(R"({"on": "yes"})"), 0, 0, none);
  EXPECT_EQ(r.error().code, DeviceErrorCode::Invalid);
  r = manager_->set_desired("b1", json("{}"), 0, 0, none);
  EXPECT_EQ(r.error().message, "values: expected an object of point: value");
}

TEST_F(DeviceManagerTest, OfflineQueueSurvivesARestartAndIsDispatchedInOrder) {
  open();
  boiler(R"({"online": false})");
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  auto queued = desired(R"({"setpoint": 10, "on": true})", 0);
  ASSERT_EQ(queued.as_array().size(), 2u);
  EXPECT_EQ(*queued.at(0)->find("status"), Value("queued"));
  EXPECT_EQ(*manager_->commands("b1")->find("pending")->at(1)->find("point"), Value("on"));

  open();  // a restart on the same meta.db
  EXPECT_FALSE(control_.running("b1"));
  boiler(R"({"online": false})");
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  EXPECT_EQ(manager_->commands("b1")->find("pending")->as_array().size(), 2u);
  {
    std::lock_guard lock(control_.mu);
    EXPECT_TRUE(control_.writes.empty());
  }
  link(true);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(control_.mu);
    return control_.writes.size() == 2;
  }));
  {
    std::lock_guard lock(control_.mu);
    EXPECT_EQ(control_.writes[0].second, Value(20));
    EXPECT_EQ(control_.writes[1].second, Value(true));
  }
  ASSERT_TRUE(eventually([&] {
    const auto twin = manager_->twin("b1");
    const Value* d = twin->find("desired")->find("on");
    return d != nullptr && *d->find("status") == Value("applied");
  }));

  open();  // the finished commands come back as history and as the twin's desired section
  boiler(R"({"online": false})");
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  EXPECT_EQ(*manager_->twin("b1")->find("desired")->find("setpoint")->find("status"),
            Value("applied"));
  EXPECT_EQ(manager_->commands("b1")->find("recent")->as_array().size(), 2u);
  EXPECT_TRUE(manager_->commands("b1")->find("pending")->as_array().empty());
  // A device that never came online still reports why (the first link report is published).
  const size_t before = bus_.on("verge/devices/b1/status").size();
  link(false, "connect: connection refused");
  auto status = bus_.on("verge/devices/b1/status");
  ASSERT_EQ(status.size(), before + 1);
  EXPECT_EQ(*json(status.back().payload).find("reason"), Value("connect: connection refused"));
}

TEST_F(DeviceManagerTest, QueuedCommandsExpireAndNewerValuesSupersede) {
  open();
  boiler(R"({"online": false})");
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  auto expired = desired(R"({"on": true})", 2000, 50);
  EXPECT_EQ(*expired.at(0)->find("status"), Value("expired"));

  auto first = std::make_shared<std::promise<Value>>();
  ASSERT_TRUE(manager_->set_desired("b1", json(R"({"setpoint": 1})"), 0, 3000,
                                    [first](Value v) { first->set_value(std::move(v)); }));
  auto second = desired(R"({"setpoint": 2})", 0);
  auto f = first->get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(*f.get().at(0)->find("status"), Value("superseded"));
  link(true);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(control_.mu);
    return control_.writes.size() == 1;
  }));
  std::lock_guard lock(control_.mu);
  EXPECT_EQ(control_.writes[0].second, Value(4));  // only the newer value: 2 / 0.5
}

TEST_F(DeviceManagerTest, MqttDesiredSetAndRuleWrites) {
  open();
  boiler();
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  EXPECT_EQ(bus_.subscriptions(), 1u);
  bus_.deliver("verge/devices/b1/desired/set", R"({"on": true})");
  ASSERT_TRUE(eventually([&] { return bus_.on("verge/devices/b1/commands").size() == 1; }));
  bus_.deliver("verge/devices/b1/desired/set", R"({"temp": 1})");  // read-only: refused
  auto refused = bus_.on("verge/devices/b1/commands");
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(*json(refused[1].payload).find("status"), Value("rejected"));

  auto answer = std::make_shared<std::promise<Result<void>>>();
  manager_->write(rules::DeviceWrite{"b1", "setpoint", Value(3), 0},
                  [answer](Result<void> r) { answer->set_value(std::move(r)); });
  auto f = answer->get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(f.get());
  auto refused_write = std::make_shared<std::promise<Result<void>>>();
  manager_->write(rules::DeviceWrite{"b1", "nope", Value(3), 0},
                  [refused_write](Result<void> r) { refused_write->set_value(std::move(r)); });
  auto g = refused_write->get_future();
  ASSERT_EQ(g.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto r = g.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "point 'nope': no such point in profile 'boiler'");
}

TEST_F(DeviceManagerTest, IngestAcceptsKnownPointsOfItsProtocol) {
  open();
  ASSERT_TRUE(manager_->put_profile(json(R"({"name": "meter", "protocol": "push", "points": [
      {"name": "kw", "type": "float32", "scale": 0.001}, {"name": "n", "type": "int16"}]})"),
                                    false));
  ASSERT_TRUE(manager_->put_device(json(R"({"id": "m1", "profile": "meter"})"), false));
  ASSERT_TRUE(manager_->put_profile(json(kProfile), false));
  ASSERT_TRUE(manager_->put_device(json(R"({"id": "b1", "profile": "boiler"})"), false));
  manager_->start();
  std::vector<NamedReading> in = {
      {"m1", "kw", Value(1500), 5, Quality::Good, ""},
      {"m1", "n", Value(7.0), 5, Quality::Good, ""},
      {"m1", "volts", Value(230), 5, Quality::Good, ""},
      {"m1", "n", Value(70000), 5, Quality::Good, ""},
      {"ghost", "kw", Value(1), 5, Quality::Good, ""},
      {"b1", "temp", Value(1), 5, Quality::Good, ""},
  };
  auto r = manager_->ingest("push", in);
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.rejected, 4u);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0], "device 'm1': unknown point 'volts'");
  EXPECT_EQ(r.errors[1], "device 'm1' point 'n': expected int16 (-32768..32767), got 70000");
  EXPECT_EQ(r.errors[2], "device 'ghost': unknown device");
  EXPECT_EQ(r.errors[3], "device 'b1': its protocol is 'fake', not 'push'");
  auto msgs = bus_.on("verge/devices/m1/data");
  ASSERT_EQ(msgs.size(), 1u);
  auto v = json(msgs[0].payload);
  EXPECT_NEAR(v.find("values")->find("kw")->as_float(), 1.5, 1e-9);
  EXPECT_EQ(*v.find("values")->find("n"), Value(7));
  // A push device is online once it sends.
  EXPECT_EQ(*manager_->device("m1")->find("status")->find("online"), Value(true));
}

TEST_F(DeviceManagerTest, RestItemsPersistAndConfigItemsAreReadOnly) {
  open();
  ASSERT_TRUE(manager_->put_profile(json(kProfile), false));
  ASSERT_TRUE(manager_->put_device(json(R"({"id": "b2", "profile": "boiler"})"), false));
  ASSERT_TRUE(manager_->put_profile(
      json(R"({"name": "cfg", "protocol": "push", "points": [{"name": "x"}]})"), true));
  ASSERT_TRUE(manager_->put_device(json(R"({"id": "c1", "profile": "cfg"})"), true));
  auto del = manager_->delete_profile("boiler");
  EXPECT_EQ(del.error().code, DeviceErrorCode::Conflict);
  EXPECT_EQ(del.error().message, "profile 'boiler' is used by device(s) b2");
  EXPECT_EQ(manager_->delete_device("c1").error().code, DeviceErrorCode::ReadOnly);
  EXPECT_EQ(manager_->put_device(json(R"({"id": "c1", "profile": "cfg"})"), false).error().code,
            DeviceErrorCode::ReadOnly);
  EXPECT_EQ(manager_->delete_profile("cfg").error().code, DeviceErrorCode::ReadOnly);
  EXPECT_EQ(manager_->delete_device("zz").error().code, DeviceErrorCode::NotFound);
  // A profile change that would orphan a device's calibration is refused.
  ASSERT_TRUE(manager_->put_device(
      json(R"({"id": "b3", "profile": "boiler", "calibration": {"temp": {"offset": 1}}})"), false));
  auto orphan = manager_->put_profile(
      json(
          R"({"name": "boiler", "protocol": "fake", "points": [{"name": "x", "address": "reg:0"}]})"),
      false);
  EXPECT_EQ(orphan.error().code, DeviceErrorCode::Conflict);
  EXPECT_EQ(orphan.error().message,
            "device 'b3': calibration.temp: no point 'temp' in profile 'boiler'");

  open();  // REST items come back; configuration items come from the configuration only
  manager_->start();
  EXPECT_TRUE(manager_->profile("boiler"));
  EXPECT_TRUE(manager_->device("b2"));
  EXPECT_TRUE(manager_->device("b3"));
  EXPECT_FALSE(manager_->device("c1"));
  EXPECT_FALSE(manager_->profile("cfg"));
  ASSERT_TRUE(manager_->delete_device("b2"));
  ASSERT_TRUE(eventually([&] {
    auto s = bus_.on("verge/devices/b2/status");
    return !s.empty() && s.back().payload.empty() && s.back().retain;
  }));
  open();
  manager_->start();
  EXPECT_FALSE(manager_->device("b2"));
  EXPECT_EQ(manager_->list_devices().as_array().size(), 1u);
}

TEST_F(DeviceManagerTest, ProfileChangeRestartsItsDevices) {
  open();
  boiler();
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  const int starts = control_.starts.load();
  std::string changed(kProfile);
  changed.replace(changed.find("\"deadband\": 0.5"), 15, "\"deadband\": 1.0");
  ASSERT_TRUE(manager_->put_profile(json(changed), true));
  ASSERT_TRUE(eventually([&] { return control_.starts.load() == starts + 1; }));
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  EXPECT_EQ(*manager_->profile("boiler")->find("points")->at(0)->find("deadband"), Value(1.0));
  // Offline while restarting, online again once the new adapter reports; writes still work.
  ASSERT_TRUE(eventually([&] {
    auto s = bus_.on("verge/devices/b1/status");
    return s.size() >= 3 && *json(s.back().payload).find("online") == Value(true);
  }));
  auto s = bus_.on("verge/devices/b1/status");
  EXPECT_EQ(*json(s[s.size() - 2].payload).find("reason"), Value("restarting"));
  EXPECT_EQ(*desired(R"({"setpoint": 4})").at(0)->find("status"), Value("applied"));
}

TEST_F(DeviceManagerTest, AWriteCutShortByAReplaceIsRetried) {
  open();
  boiler();
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  {
    std::lock_guard lock(control_.mu);
    control_.mode = WriteMode::Never;  // held until the adapter stops
  }
  EXPECT_EQ(*desired(R"({"setpoint": 4})", 100).at(0)->find("status"), Value("sent"));
  {
    std::lock_guard lock(control_.mu);
    control_.mode = WriteMode::Ok;
  }
  std::string changed(kProfile);
  changed.replace(changed.find("\"deadband\": 0.5"), 15, "\"deadband\": 1.0");
  ASSERT_TRUE(manager_->put_profile(json(changed), true));
  // Queued again by the replace, then written by the new adapter: applied, never failed.
  ASSERT_TRUE(eventually([&] {
    auto c = manager_->commands("b1");
    return c && c->find("recent")->as_array().size() == 1 &&
           *c->find("recent")->at(0)->find("status") == Value("applied");
  }));
  for (const auto& m : bus_.on("verge/devices/b1/commands")) {
    EXPECT_EQ(json(m.payload).find("status")->as_string(), "applied");
  }
}

TEST(DeviceManagerWaiter, AFinalResultIsNotOverwrittenByALateUpdate) {
  Value answer;
  Waiter w(1, -1, [&](Value v) { answer = std::move(v); });
  Command c;
  c.point = "p";
  c.status = CommandStatus::Applied;
  w.set(0, c);
  c.status = CommandStatus::Sent;
  w.set(0, c);
  ASSERT_TRUE(answer.is_array());
  EXPECT_EQ(*answer.at(0)->find("status"), Value("applied"));
  EXPECT_TRUE(w.expire(0));
}

TEST_F(DeviceManagerTest, AProfileUpdateRightAfterADeviceUpdateKeepsTheNewSpec) {
  open();
  boiler();
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  ASSERT_TRUE(manager_->put_device(
      json(R"({"id": "b1", "profile": "boiler", "connection": {}, "labels": {"v": 2}})"), true));
  std::string changed(kProfile);
  changed.replace(changed.find("\"deadband\": 0.5"), 15, "\"deadband\": 1.0");
  ASSERT_TRUE(manager_->put_profile(json(changed), true));
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  ASSERT_TRUE(eventually([&] {
    auto d = manager_->device("b1");
    return d && d->find("labels") != nullptr && *d->find("labels")->find("v") == Value(2);
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(*manager_->device("b1")->find("labels")->find("v"), Value(2));
}

TEST_F(DeviceManagerTest, ADeviceCreatedAgainKeepsItsStatus) {
  open();
  manager_->start();
  ASSERT_TRUE(manager_->put_profile(json(kProfile), false));
  const auto doc = json(R"({"id": "b1", "profile": "boiler", "connection": {}})");
  ASSERT_TRUE(manager_->put_device(doc, false));
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(manager_->delete_device("b1"));
    ASSERT_TRUE(manager_->put_device(doc, false));
  }
  ASSERT_TRUE(eventually([&] { return control_.running("b1"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto s = bus_.on("verge/devices/b1/status");
  ASSERT_FALSE(s.empty());
  EXPECT_FALSE(s.back().payload.empty());
}

}  // namespace
}  // namespace verge::devices

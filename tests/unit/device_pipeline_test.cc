// The point pipeline's finer cases: strings and bools reported on change with the compact point
// state, readings without a value, several readings of one point in one batch, many distinct
// reasons, and how raw values become engineering values (float32 as shown, exact decimals).
#include <gtest/gtest.h>

#include <filesystem>

#include "device_test_util.h"
#include "devices/manager.h"
#include "devices/point_value.h"
#include "json_test_util.h"
#include "net/loop_group.h"
#include "store/tsdb.h"

namespace verge::devices {
namespace {

using testing::eventually;
using testing::FakeBus;
using testing::FakeControl;
using testing::FakeFactory;

using test::json;

constexpr std::string_view kProfile = R"({"name": "mixed", "protocol": "fake", "points": [
  {"name": "temp", "address": "reg:0", "type": "int16", "scale": 0.1},
  {"name": "label", "address": "reg:1", "type": "string", "length": 16},
  {"name": "run", "address": "reg:3", "type": "bool"},
  {"name": "flow", "address": "reg:4", "type": "float32"}]})";

class DeviceManagerPipelineTest : public ::testing::Test {
 protected:
  DeviceManagerPipelineTest() : loops_(2) {
    char tmpl[] = "/tmp/verge_pipeline_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    registry_.add(std::make_unique<FakeFactory>("fake", true, &control_));
    loops_.start();
    tsdb_ = store::Tsdb::in_memory({});
    DeviceManagerOptions o;
    o.loops = &loops_;
    o.bus = &bus_;
    o.tsdb = tsdb_.get();
    o.meta_path = dir_ + "/meta.db";
    o.adapters = &registry_;
    auto m = DeviceManager::create(std::move(o));
    EXPECT_TRUE(m);
    if (m) manager_ = std::move(*m);
  }
  ~DeviceManagerPipelineTest() override {
    if (manager_) manager_->stop();
    manager_.reset();
    loops_.stop();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    ASSERT_TRUE(manager_->put_profile(json(kProfile), true));
    auto r =
        manager_->put_device(json(R"({"id": "m1", "profile": "mixed", "connection": {}})"), true);
    ASSERT_TRUE(r) << r.error().message;
    manager_->start();
    ASSERT_TRUE(eventually([&] { return control_.running("m1"); }));
  }
  void readings(std::vector<Reading> rs) {
    ASSERT_TRUE(
        control_.on_loop("m1", [rs](testing::FakeAdapter& a) { a.sink().on_readings(rs); }));
  }
  std::vector<Value> data() {
    std::vector<Value> out;
    for (const auto& m : bus_.on("verge/devices/m1/data")) out.push_back(json(m.payload));
    return out;
  }
  Value twin(std::string_view point) {
    auto t = manager_->twin("m1");
    EXPECT_TRUE(t);
    const Value* p = t ? t->find("reported")->find(point) : nullptr;
    return p != nullptr ? *p : Value();
  }

  std::string dir_;
  net::LoopGroup loops_;
  AdapterRegistry registry_;
  FakeControl control_;
  FakeBus bus_;
  std::unique_ptr<store::Tsdb> tsdb_;
  std::unique_ptr<DeviceManager> manager_;
};

Reading reading(uint32_t point, Value v, int64_t ts = 1000, Quality q = Quality::Good,
                std::string reason = "") {
  Reading r;
  r.point = point;
  r.value = std::move(v);
  r.ts_ms = ts;
  r.quality = q;
  r.reason = std::move(reason);
  return r;
}

TEST_F(DeviceManagerPipelineTest, StringsAndBoolsAreReportedWhenTheyChange) {
  start();
  readings({reading(1, "idle"), reading(2, false)});
  readings({reading(1, "idle"), reading(2, false)});  // unchanged: nothing
  readings({reading(1, "busy")});
  readings({reading(2, true)});
  auto msgs = data();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(*msgs[0].find("values")->find("label"), Value("idle"));
  EXPECT_EQ(*msgs[1].find("values")->find("label"), Value("busy"));
  EXPECT_EQ(*msgs[2].find("values")->find("run"), Value(true));
  EXPECT_EQ(*twin("label").find("value"), Value("busy"));
  EXPECT_EQ(*twin("run").find("value"), Value(true));
}

TEST_F(DeviceManagerPipelineTest, AReadingWithoutAValueOnlyChangesQuality) {
  start();
  readings({reading(0, 215)});
  readings({reading(0, Value(), 2000, Quality::Uncertain, "stale")});
  readings({reading(0, Value(), 3000, Quality::Uncertain, "stale")});  // the same: not again
  auto msgs = data();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].find("values")->find("temp"), nullptr);
  EXPECT_EQ(*msgs[1].find("quality")->find("temp")->find("quality"), Value("uncertain"));
  // History holds the one real reading, not a 0 for the second.
  auto h = tsdb_->range("m1/temp", 0, 5000);
  ASSERT_TRUE(h);
  EXPECT_EQ(tsdb_->latest("m1/temp")->first, 1000);
  // The twin keeps the last value with the new quality and reason.
  EXPECT_EQ(*twin("temp").find("value"), Value(21.5));
  EXPECT_EQ(*twin("temp").find("reason"), Value("stale"));
}

TEST_F(DeviceManagerPipelineTest, SeveralReadingsOfAPointMakeSeveralMessages) {
  start();
  std::vector<Reading> rs;
  for (int i = 1; i <= 10; ++i) rs.push_back(reading(0, 200 + i, 1000 + i));
  rs.push_back(reading(2, true, 1005));
  readings(rs);
  auto msgs = data();
  ASSERT_EQ(msgs.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(*msgs[static_cast<size_t>(i)].find("ts"), Value(1001 + i));
    EXPECT_EQ(*msgs[static_cast<size_t>(i)].find("values")->find("temp"),
              Value((200 + i + 1) / 10.0));
  }
  // The bool rode with the last temp (ts 1010, the newest of that message).
  EXPECT_EQ(*msgs[9].find("values")->find("run"), Value(true));
  auto h = tsdb_->range("m1/temp", 0, 5000);
  ASSERT_TRUE(h);
  EXPECT_EQ(tsdb_->latest("m1/temp")->first, 1010);
}

TEST_F(DeviceManagerPipelineTest, ManyDistinctReasonsKeepTheirText) {
  start();
  for (int i = 0; i < 100; ++i) {
    readings({reading(0, Value(), 1000, Quality::Bad, "error " + std::to_string(i)),
              reading(1, Value(), 1000, Quality::Bad, "label error")});
  }
  EXPECT_EQ(*twin("temp").find("reason"), Value("error 99"));
  EXPECT_EQ(*twin("label").find("reason"), Value("label error"));
  EXPECT_EQ(data().size(), 100u);
}

TEST_F(DeviceManagerPipelineTest, Float32ValuesAreTheirShortestText) {
  start();
  readings({reading(3, static_cast<double>(1.4970756f))});
  EXPECT_EQ(data().back().find("values")->find("flow")->to_json(), "1.4970756");
}

TEST(PointValue, Float32AsShown) {
  EXPECT_EQ(float32_as_shown(static_cast<double>(1.4970756f)), 1.4970756);
  EXPECT_EQ(float32_as_shown(static_cast<double>(0.1f)), 0.1);
  EXPECT_EQ(float32_as_shown(static_cast<double>(3e38f)), 3e38);
  EXPECT_EQ(float32_as_shown(-2.0), -2.0);
  const Value v = raw_to_engineering(Value(static_cast<double>(21.7f)), Calibration{}, 0, true);
  EXPECT_EQ(v, Value(21.7));
  // A float64 point keeps its double.
  EXPECT_EQ(raw_to_engineering(Value(static_cast<double>(21.7f)), Calibration{}, 0, false),
            Value(static_cast<double>(21.7f)));
}

TEST(PointValue, CalibratedIntegersCarryTheCalibrationsDecimals) {
  EXPECT_EQ(calibration_decimals({0.1, 0}), 1);
  EXPECT_EQ(calibration_decimals({0.25, -1.5}), 2);
  EXPECT_EQ(calibration_decimals({1e-05, 0}), 5);
  EXPECT_EQ(calibration_decimals({2.5e-07, 0}), 8);
  EXPECT_EQ(calibration_decimals({10, 0.001}), 3);
  EXPECT_EQ(calibration_decimals({1.0 / 3.0, 0}), 12);
  const Calibration tenth{0.1, 0};
  EXPECT_EQ(raw_to_engineering(Value(174), tenth, calibration_decimals(tenth)), Value(17.4));
  EXPECT_EQ(raw_to_engineering(Value(174), tenth, calibration_decimals(tenth)).to_json(), "17.4");
  const Calibration c{0.01, -40};
  EXPECT_EQ(raw_to_engineering(Value(6123), c, calibration_decimals(c)).to_json(), "21.23");
  // Not rounded without decimals (negative).
  EXPECT_EQ(raw_to_engineering(Value(174), tenth, -1).as_float(), 174 * 0.1);
}

}  // namespace
}  // namespace verge::devices

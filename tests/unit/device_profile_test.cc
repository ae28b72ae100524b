// Profiles and devices from their documents: every field error names its path.
#include <gtest/gtest.h>

#include "device_test_util.h"
#include "devices/point_value.h"
#include "devices/profile.h"
#include "json_test_util.h"

namespace verge::devices {
namespace {

using testing::FakeFactory;

using test::json;

class ProfileTest : public ::testing::Test {
 protected:
  ProfileTest() {
    registry_.add(std::make_unique<FakeFactory>("fake", true, nullptr));
    registry_.add(std::make_unique<FakeFactory>("push", false, nullptr));
  }
  std::string profile_error(std::string_view text) {
    auto r = parse_profile(json(text), registry_);
    EXPECT_FALSE(r) << text;
    return r ? "" : r.error().message;
  }
  std::string point_error(std::string_view point) {
    return profile_error(R"({"name": "p", "protocol": "fake", "points": [)" + std::string(point) +
                         "]}");
  }
  Result<Profile> good_profile() {
    return parse_profile(json(R"({"name": "boiler", "protocol": "fake", "poll": "1s",
      "points": [{"name": "temp", "address": "reg:0", "type": "float32", "scale": 0.1},
                 {"name": "setpoint", "address": "reg:10", "type": "int16", "access": "rw"},
                 {"name": "label", "address": "reg:20", "type": "string", "length": 8}]})"),
                         registry_);
  }
  std::string device_error(std::string_view text) {
    auto profile = good_profile();
    EXPECT_TRUE(profile);
    auto r = parse_device(
        json(text), [&](std::string_view name) { return name == "boiler" ? &*profile : nullptr; },
        registry_);
    EXPECT_FALSE(r) << text;
    return r ? "" : r.error().message;
  }

  AdapterRegistry registry_;
};

TEST_F(ProfileTest, ParsesEveryPointField) {
  auto p = parse_profile(json(R"({"name": "boiler", "protocol": "fake", "poll": "500ms",
    "description": "gas boiler", "points": [
      {"name": "temp", "address": "reg:0", "type": "float32", "order": "CDAB", "scale": 0.1,
       "offset": -2, "unit": "degC", "access": "r", "poll": "2s", "deadband": 0.2,
       "report": "change"},
      {"name": "energy", "address": "reg:4", "type": "float64", "order": "BADCFEHG",
       "report": "always"},
      {"name": "label", "address": "reg:8", "type": "string", "length": 10, "access": "rw"},
      {"name": "on", "address": "reg:9", "type": "bool", "order": "DCBA", "access": "w"}]})"),
                         registry_);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->name, "boiler");
  EXPECT_EQ(p->poll_ms, 500);
  EXPECT_EQ(p->description, "gas boiler");
  ASSERT_EQ(p->points.size(), 4u);
  const PointSpec& t = p->points[0];
  EXPECT_EQ(t.type, DataType::Float32);
  EXPECT_TRUE(t.word_swap);
  EXPECT_FALSE(t.byte_swap);
  EXPECT_DOUBLE_EQ(t.scale, 0.1);
  EXPECT_DOUBLE_EQ(t.offset, -2);
  EXPECT_EQ(t.unit, "degC");
  EXPECT_EQ(t.poll_ms, 2000);
  EXPECT_DOUBLE_EQ(t.deadband, 0.2);
  EXPECT_TRUE(t.report_on_change);
  EXPECT_TRUE(p->points[1].byte_swap);
  EXPECT_FALSE(p->points[1].word_swap);
  EXPECT_FALSE(p->points[1].report_on_change);
  EXPECT_EQ(p->points[2].length, 10);
  EXPECT_EQ(p->points[2].access, Access::ReadWrite);
  EXPECT_TRUE(p->points[3].byte_swap && p->points[3].word_swap);
  EXPECT_EQ(p->points[3].access, Access::Write);
  EXPECT_EQ(*p->source.find("name"), Value("boiler"));
}

TEST_F(ProfileTest, ProfileErrorsNameTheField) {
  EXPECT_EQ(profile_error(R"([1])"), "expected a profile object (name, protocol, poll, points)");
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "fake", "points": [], "colour": 1})"),
            "colour: unknown key (name, protocol, description, poll, points)");
  EXPECT_EQ(profile_error(R"({"protocol": "fake", "points": []})"), "name: missing");
  EXPECT_EQ(profile_error(R"({"name": "a b", "protocol": "fake", "points": []})"),
            "name: expected 1..64 of A-Z a-z 0-9 _ . -, got \"a b\"");
  EXPECT_EQ(profile_error(R"({"name": "p", "points": []})"), "protocol: missing");
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "modbus-tpc", "points": []})"),
            "protocol: unknown protocol 'modbus-tpc' (fake, push)");
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "fake", "poll": "soon", "points": []})")
                .rfind("poll: expected a duration", 0),
            0u);
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "fake", "poll": 1, "points": []})"),
            "poll: expected 10ms..1d");
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "fake"})"), "points: missing");
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "fake", "points": []})"),
            "points: expected a non-empty list of points");
}

TEST_F(ProfileTest, PointErrorsNameThePath) {
  const std::string ok = R"({"name": "a", "address": "reg:0"}, )";
  EXPECT_EQ(point_error(ok + R"({"name": "b", "address": "reg:1", "type": "flaot32"})"),
            "points[1].type: unknown type 'flaot32' (bool, int16, uint16, int32, uint32, int64, "
            "float32, float64, string)");
  EXPECT_EQ(point_error(ok + R"("temp")"),
            "points[1]: expected an object (name, address, type, ...)");
  EXPECT_EQ(point_error(R"({"name": "a", "adress": "reg:0"})"),
            "points[0].adress: unknown key (name, address, type, order, length, scale, offset, "
            "unit, access, poll, deadband, report)");
  EXPECT_EQ(point_error(R"({"address": "reg:0"})"), "points[0].name: missing");
  EXPECT_EQ(point_error(R"({"name": "a/b", "address": "reg:0"})"),
            "points[0].name: expected 1..64 of A-Z a-z 0-9 _ . -, got \"a/b\"");
  EXPECT_EQ(point_error(ok + R"({"name": "a", "address": "reg:1"})"),
            "points[1].name: duplicate point name 'a'");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "order": "ABDC"})"),
            "points[0].order: unknown order 'ABDC' (ABCD, CDAB, BADC, DCBA)");
  EXPECT_EQ(
      point_error(R"({"name": "a", "address": "reg:0", "type": "int32", "order": "HGFEDCBA"})"),
      "points[0].order: unknown order 'HGFEDCBA' (ABCD, CDAB, BADC, DCBA)");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "type": "int64", "order": "X"})"),
            "points[0].order: unknown order 'X' (ABCD, CDAB, BADC, DCBA, ABCDEFGH, GHEFCDAB, "
            "BADCFEHG, HGFEDCBA)");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "type": "string"})"),
            "points[0].length: missing (a string point needs its length in bytes)");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "length": 4})"),
            "points[0].length: only for type string");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "type": "string", "length": 0})"),
            "points[0].length: expected 1..250 bytes, got 0");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "scale": 0})"),
            "points[0].scale: must not be 0");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "scale": "x"})"),
            "points[0].scale: expected a number, got \"x\"");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "type": "bool", "scale": 2})"),
            "points[0].scale: not for type bool");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "access": "read"})"),
            "points[0].access: expected r, w or rw, got \"read\"");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "deadband": -1})"),
            "points[0].deadband: must be >= 0");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "type": "bool", "deadband": 1})"),
            "points[0].deadband: not for type bool");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "report": "sometimes"})"),
            "points[0].report: expected change or always, got \"sometimes\"");
  EXPECT_EQ(point_error(R"({"name": "a", "address": "reg:0", "poll": "1x"})")
                .rfind("points[0].poll: expected a duration", 0),
            0u);
  // The adapter's own check, prefixed with the point's path.
  EXPECT_EQ(point_error(R"({"name": "a", "address": "holding:0"})"),
            "points[0].address: expected reg:<n>, got 'holding:0'");
  // Push protocols have no poll intervals.
  EXPECT_EQ(profile_error(R"({"name": "p", "protocol": "push", "points": [
              {"name": "a", "poll": "1s"}]})"),
            "points[0].poll: protocol 'push' does not poll (its devices push)");
}

TEST_F(ProfileTest, ParsesADevice) {
  auto profile = good_profile();
  ASSERT_TRUE(profile) << profile.error().message;
  auto d = parse_device(
      json(R"({"id": "boiler-1", "profile": "boiler", "poll": "250ms",
      "connection": {"port": 5020}, "calibration": {"temp": {"scale": 0.5, "offset": -1.5}},
      "history": false, "enabled": false, "labels": {"site": "north"}})"),
      [&](std::string_view) { return &*profile; }, registry_);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->id, "boiler-1");
  EXPECT_EQ(d->poll_ms, 250);
  ASSERT_EQ(d->calibration.size(), 1u);
  EXPECT_EQ(d->calibration[0].first, "temp");
  EXPECT_DOUBLE_EQ(d->calibration[0].second.offset, -1.5);
  EXPECT_FALSE(d->history);
  EXPECT_FALSE(d->enabled);
  EXPECT_EQ(*d->labels.find("site"), Value("north"));
}

TEST_F(ProfileTest, DeviceErrorsNameTheField) {
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "conection": {}})"),
            "conection: unknown key (id, profile, connection, poll, calibration, history, "
            "enabled, labels)");
  EXPECT_EQ(device_error(R"({"profile": "boiler"})"), "id: missing");
  EXPECT_EQ(device_error(R"({"id": "", "profile": "boiler"})"),
            "id: expected 1..64 of A-Z a-z 0-9 _ . -, got \"\"");
  EXPECT_EQ(device_error(R"({"id": "d"})"), "profile: missing");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler2"})"),
            "profile: unknown profile 'boiler2'");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "connection": [1]})"),
            "connection: expected an object");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "connection": {"port": 70000}})"),
            "connection.port: expected 1..65535");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "poll": "0ms"})"),
            "poll: expected 10ms..1d");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "calibration": {"tmp": {}}})"),
            "calibration.tmp: no point 'tmp' in profile 'boiler'");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler",
                             "calibration": {"temp": {"scale": 0}}})"),
            "calibration.temp.scale: must not be 0");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler",
                             "calibration": {"temp": {"gain": 2}}})"),
            "calibration.temp.gain: unknown key (scale, offset)");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler",
                             "calibration": {"label": {"scale": 2}}})"),
            "calibration.label: not for type string");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "history": "yes"})"),
            "history: expected true or false, got \"yes\"");
  EXPECT_EQ(device_error(R"({"id": "d", "profile": "boiler", "labels": 3})"),
            "labels: expected an object of key: value");
}

TEST(PointValue, ConvertsToThePointType) {
  PointSpec p;
  p.type = DataType::Int16;
  EXPECT_EQ(*to_point_type(p, Value(12)), Value(12));
  EXPECT_EQ(*to_point_type(p, Value(12.0)), Value(12));
  EXPECT_EQ(to_point_type(p, Value(40000)).error().message,
            "expected int16 (-32768..32767), got 40000");
  EXPECT_EQ(to_point_type(p, Value(1.5)).error().message,
            "expected int16 (-32768..32767), got 1.5");
  p.type = DataType::Uint16;
  EXPECT_FALSE(to_point_type(p, Value(-1)));
  p.type = DataType::Bool;
  EXPECT_EQ(*to_point_type(p, Value(1)), Value(true));
  EXPECT_EQ(to_point_type(p, Value("on")).error().message,
            "expected bool (true, false, 0 or 1), got \"on\"");
  p.type = DataType::String;
  p.length = 3;
  EXPECT_EQ(*to_point_type(p, Value("abc")), Value("abc"));
  EXPECT_EQ(to_point_type(p, Value("abcd")).error().message,
            "string longer than the point's 3 bytes");
  p.type = DataType::Float32;
  EXPECT_EQ(*to_point_type(p, Value(2)), Value(2.0));
  EXPECT_FALSE(to_point_type(p, Value(1e300)));
}

TEST(PointValue, UndoesCalibrationForWrites) {
  PointSpec p;
  p.type = DataType::Int16;
  const Calibration cal{0.5, 10};
  EXPECT_EQ(*engineering_to_raw(p, cal, Value(55)), Value(90));    // (55 - 10) / 0.5
  EXPECT_EQ(*engineering_to_raw(p, cal, Value(55.2)), Value(90));  // rounded
  EXPECT_EQ(engineering_to_raw(p, cal, Value(20000)).error().message,
            "expected int16 (-32768..32767), got 39980.0 (raw value of 20000)");
  EXPECT_EQ(raw_to_engineering(Value(90), cal), Value(55.0));
  EXPECT_TRUE(raw_to_engineering(Value(90), Calibration{}).is_int());
}

}  // namespace
}  // namespace verge::devices

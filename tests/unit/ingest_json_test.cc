#include "devices/adapters/http/ingest_json.h"

#include <gtest/gtest.h>

#include <string>

namespace verge::devices {
namespace {

DecodedReadings ok(std::string_view body, std::string_view default_device = "") {
  auto r = decode_ingest_json(body, default_device);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : DecodedReadings{};
}

TEST(IngestJson, DeviceForm) {
  auto d = ok(R"({"device":"boiler-1","ts":1732190000123,"values":{"temp":21.5,"on":true,
                  "mode":"eco","count":3}})");
  EXPECT_EQ(d.rejected, 0u);
  ASSERT_EQ(d.readings.size(), 4u);
  EXPECT_EQ(d.readings[0].device, "boiler-1");
  EXPECT_EQ(d.readings[0].point, "temp");
  EXPECT_EQ(d.readings[0].value, Value(21.5));
  EXPECT_EQ(d.readings[0].ts_ms, 1732190000123);
  EXPECT_EQ(d.readings[1].value, Value(true));
  EXPECT_EQ(d.readings[2].value, Value("eco"));
  EXPECT_TRUE(d.readings[3].value.is_int());
}

TEST(IngestJson, DeviceFormQuality) {
  auto d = ok(R"({"device":"d","values":{"temp":21.5,"hum":40},
                  "quality":{"temp":"uncertain","pressure":{"quality":"bad","reason":"open"}}})");
  ASSERT_EQ(d.rejected, 0u) << d.errors[0];
  ASSERT_EQ(d.readings.size(), 3u);
  // Quality-only points come first, then values in order.
  EXPECT_EQ(d.readings[0].point, "pressure");
  EXPECT_EQ(d.readings[0].quality, Quality::Bad);
  EXPECT_EQ(d.readings[0].reason, "open");
  EXPECT_TRUE(d.readings[0].value.is_null());
  EXPECT_EQ(d.readings[1].point, "temp");
  EXPECT_EQ(d.readings[1].quality, Quality::Uncertain);
  EXPECT_EQ(d.readings[2].quality, Quality::Good);
  EXPECT_EQ(d.readings[0].ts_ms, 0) << "no ts: when received";
}

TEST(IngestJson, PointFormAndArrays) {
  auto d = ok(R"([{"device":"d","point":"temp","value":21.5,"ts":"2026-11-21T10:00:00.123Z"},
                  {"device":"d","point":"p","quality":"bad","reason":"sensor open"},
                  {"device":"e","point":"x","value":1,"quality":"uncertain"}])");
  ASSERT_EQ(d.rejected, 0u) << d.errors[0];
  ASSERT_EQ(d.readings.size(), 3u);
  EXPECT_EQ(d.readings[0].ts_ms, 1795255200123);
  EXPECT_EQ(d.readings[1].quality, Quality::Bad);
  EXPECT_EQ(d.readings[1].reason, "sensor open");
  EXPECT_TRUE(d.readings[1].value.is_null());
  EXPECT_EQ(d.readings[2].device, "e");
  EXPECT_EQ(d.readings[2].quality, Quality::Uncertain);
}

TEST(IngestJson, DefaultDevice) {
  auto d = ok(R"({"values":{"temp":1}})", "tag-7");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].device, "tag-7");
  auto explicit_device = ok(R"({"device":"other","values":{"temp":1}})", "tag-7");
  EXPECT_EQ(explicit_device.readings[0].device, "other");
  auto none = ok(R"({"values":{"temp":1}})");
  EXPECT_EQ(none.rejected, 1u);
  EXPECT_EQ(none.errors[0], "body: \"device\" missing");
}

TEST(IngestJson, ItemErrorsNameThePathAndTheRestIsKept) {
  auto d = ok(R"([{"device":"d","values":{"a":1}},
                  {"device":"d","values":{"b":2,"bad":[1]}},
                  "nope",
                  {"device":"d","values":{"temp":{"x":1}}},
                  {"device":"d","values":{"c":3},"ts":-5},
                  {"device":"d","values":{"c":3},"ts":"yesterday"},
                  {"device":"d","values":{"c":3},"extra":1},
                  {"device":"","values":{"c":3}},
                  {"device":"d"},
                  {"device":"d","point":"p","values":{}},
                  {"device":"d","point":"p"},
                  {"device":"d","point":"p","value":1,"quality":"meh"},
                  {"device":"d","values":{"q":1},"quality":{"q":{"reason":"x"}}},
                  {"device":"d","values":{"n":null}},
                  {"device":"d","values":5},
                  {"device":"d","point":"","value":1}])");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[0].point, "a");
  EXPECT_EQ(d.readings[1].point, "b");
  ASSERT_EQ(d.rejected, 15u);
  EXPECT_EQ(d.errors[0], "[1].values.bad: expected a number, bool or string");
  EXPECT_EQ(d.errors[1], "[2]: expected an object");
  EXPECT_EQ(d.errors[2], "[3].values.temp: expected a number, bool or string");
  EXPECT_EQ(d.errors[3].rfind("[4].ts: expected integer milliseconds", 0), 0u) << d.errors[3];
  EXPECT_EQ(d.errors[4].rfind("[5].ts: ", 0), 0u);
  EXPECT_EQ(d.errors[5], "[6].extra: unknown key (device, ts, values, quality)");
  EXPECT_EQ(d.errors[6], "[7].device: expected a non-empty string");
  EXPECT_EQ(d.errors[7].rfind("[8]: expected \"values\"", 0), 0u);
  EXPECT_EQ(d.errors[8].rfind("[9]: either", 0), 0u);
  EXPECT_EQ(d.errors[9], "[10].value: missing (only a bad reading may omit its value)");
  EXPECT_EQ(d.errors[10].rfind("[11].quality: quality: expected", 0), 0u) << d.errors[10];
  EXPECT_EQ(d.errors[11], "[12].quality.q: quality: missing");
  EXPECT_EQ(d.errors[12].rfind("[13].values.n: missing", 0), 0u);
  EXPECT_EQ(d.errors[13], "[14].values: expected an object of point: value");
  EXPECT_EQ(d.errors[14], "[15].point: expected a non-empty string");
}

TEST(IngestJson, AnUncertainReadingNeedsAValue) {
  auto d = ok(R"([{"device":"d","quality":{"temp":"uncertain"},"values":{}},
                  {"device":"d","point":"p","quality":"uncertain","reason":"drift"},
                  {"device":"d","quality":{"x":{"quality":"bad","reason":"open"}},"values":{}},
                  {"device":"d","point":"y","quality":"bad"}])");
  ASSERT_EQ(d.rejected, 2u);
  EXPECT_EQ(d.errors[0], "[0].quality.temp: an uncertain reading needs a value");
  EXPECT_EQ(d.errors[1], "[1].quality: an uncertain reading needs a value");
  // A bad reading reports the failure and may come without a value.
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[0].point, "x");
  EXPECT_EQ(d.readings[0].quality, Quality::Bad);
  EXPECT_EQ(d.readings[1].point, "y");
  EXPECT_TRUE(d.readings[1].value.is_null());
}

TEST(IngestJson, TimestampsOutOfRangeAreRefusedPerItem) {
  IngestLimits limits;
  limits.now_ms = 1'795'255'200'000;  // 2026-11-21T10:00:00Z
  auto d = decode_ingest_json(
      R"([{"device":"d","ts":1732190000123000,"values":{"us":1}},
          {"device":"d","ts":1732190000,"values":{"s":1}},
          {"device":"d","ts":0,"values":{"zero":1}},
          {"device":"d","ts":"2030-01-01T00:00:00Z","values":{"far":1}},
          {"device":"d","ts":1795341500000,"values":{"late":1}},
          {"device":"d","ts":1795341700000,"values":{"skewed":1}},
          {"device":"d","ts":946684800000,"values":{"y2k":1}}])",
      "", limits);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->rejected, 5u);
  EXPECT_EQ(d->errors[0],
            "[0].ts: ts 1732190000123000 is more than 1 day in the future; is it in ms?");
  EXPECT_EQ(d->errors[1], "[1].ts: ts 1732190000 is before 2000-01-01; is it in ms?");
  EXPECT_EQ(d->errors[2], "[2].ts: ts 0 is before 2000-01-01; is it in ms?");
  EXPECT_EQ(d->errors[3], "[3].ts: ts 2030-01-01T00:00:00Z is more than 1 day in the future");
  EXPECT_EQ(d->errors[4].rfind("[5].ts: ts 1795341700000 is more than 1 day", 0), 0u);
  // Up to a day ahead (clock skew) and 2000-01-01 itself are fine.
  ASSERT_EQ(d->readings.size(), 2u);
  EXPECT_EQ(d->readings[0].point, "late");
  EXPECT_EQ(d->readings[1].point, "y2k");
  EXPECT_EQ(d->readings[1].ts_ms, 946684800000);
}

TEST(IngestJson, SingleObjectPathsHaveNoIndex) {
  auto d = ok(R"({"device":"d","values":{"t":[1]}})");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0], "values.t: expected a number, bool or string");
}

TEST(IngestJson, BodyErrors) {
  auto bad = decode_ingest_json("{\"device\":", "");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("bad JSON at offset 10", 0), 0u) << bad.error().message;
  auto scalar = decode_ingest_json("42", "");
  ASSERT_FALSE(scalar);
  EXPECT_EQ(scalar.error().message, "expected an object or an array of objects");
  auto deep = decode_ingest_json(std::string(100, '[') + std::string(100, ']'), "");
  EXPECT_FALSE(deep);
}

TEST(IngestJson, Limits) {
  IngestLimits small;
  small.max_body_bytes = 10;
  auto big = decode_ingest_json(R"({"device":"d","values":{"a":1}})", "", small);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "body of 31 bytes is over the limit of 10");

  IngestLimits items;
  items.max_items = 2;
  auto many = decode_ingest_json("[{},{},{}]", "", items);
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message, "3 items are over the limit of 2");

  IngestLimits readings;
  readings.max_readings = 2;
  auto r = decode_ingest_json(R"({"device":"d","values":{"a":1,"b":2,"c":3}})", "", readings);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->readings.size(), 2u);
  EXPECT_EQ(r->rejected, 1u);
  EXPECT_EQ(r->errors[0], "values.c: over the limit of 2 readings per body");
}

}  // namespace
}  // namespace verge::devices

#include "devices/adapters/http/line_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace verge::devices {
namespace {

DecodedReadings decode(std::string_view body, Precision p = Precision::Ns,
                       const IngestLimits& limits = {}) {
  return decode_line_protocol(body, p, limits);
}

TEST(LineProtocol, SpecExampleOneFieldPerPoint) {
  auto d =
      decode("myMeasurement,tag1=value1,tag2=value2 fieldKey=\"fieldValue\" 1556813561098000000");
  EXPECT_EQ(d.rejected, 0u);
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].device, "myMeasurement");
  EXPECT_EQ(d.readings[0].point, "fieldKey");
  EXPECT_EQ(d.readings[0].value, Value("fieldValue"));
  EXPECT_EQ(d.readings[0].ts_ms, 1556813561098);
  EXPECT_EQ(d.readings[0].quality, Quality::Good);
}

TEST(LineProtocol, DeviceTagWinsOverMeasurement) {
  auto d = decode("env,site=a,device=boiler-1 temp=21.5,on=true\nboiler-2 temp=3i");
  ASSERT_EQ(d.readings.size(), 3u);
  EXPECT_EQ(d.readings[0].device, "boiler-1");
  EXPECT_EQ(d.readings[0].point, "temp");
  EXPECT_EQ(d.readings[1].device, "boiler-1");
  EXPECT_EQ(d.readings[1].point, "on");
  EXPECT_EQ(d.readings[1].value, Value(true));
  EXPECT_EQ(d.readings[2].device, "boiler-2");
  EXPECT_TRUE(d.readings[2].value.is_int());
  EXPECT_EQ(d.readings[0].ts_ms, 0) << "no timestamp: when received";
}

TEST(LineProtocol, EveryFieldType) {
  auto d = decode("d f1=1.5,f2=1e3,f3=-2,f4=12i,f5=12u,f6=\"text\",f7=-7i,f8=.5,f9=+3");
  ASSERT_EQ(d.rejected, 0u) << d.errors[0];
  ASSERT_EQ(d.readings.size(), 9u);
  EXPECT_TRUE(d.readings[0].value.is_float());
  EXPECT_DOUBLE_EQ(d.readings[0].value.as_float(), 1.5);
  EXPECT_DOUBLE_EQ(d.readings[1].value.as_float(), 1000.0);
  EXPECT_TRUE(d.readings[2].value.is_float()) << "a bare number is a float in line protocol";
  EXPECT_DOUBLE_EQ(d.readings[2].value.as_float(), -2.0);
  EXPECT_EQ(d.readings[3].value, Value(int64_t{12}));
  EXPECT_TRUE(d.readings[3].value.is_int());
  EXPECT_TRUE(d.readings[4].value.is_int());
  EXPECT_EQ(d.readings[4].value.as_int(), 12);
  EXPECT_EQ(d.readings[5].value, Value("text"));
  EXPECT_EQ(d.readings[6].value.as_int(), -7);
  EXPECT_DOUBLE_EQ(d.readings[7].value.as_float(), 0.5);
  EXPECT_DOUBLE_EQ(d.readings[8].value.as_float(), 3.0);
}

TEST(LineProtocol, EveryBooleanSpelling) {
  for (const char* t : {"t", "T", "true", "True", "TRUE"}) {
    auto d = decode(std::string("d b=") + t);
    ASSERT_EQ(d.readings.size(), 1u) << t;
    EXPECT_EQ(d.readings[0].value, Value(true)) << t;
  }
  for (const char* f : {"f", "F", "false", "False", "FALSE"}) {
    auto d = decode(std::string("d b=") + f);
    ASSERT_EQ(d.readings.size(), 1u) << f;
    EXPECT_EQ(d.readings[0].value, Value(false)) << f;
  }
  auto bad = decode("d b=tRUE");
  EXPECT_EQ(bad.rejected, 1u);
  EXPECT_EQ(bad.errors[0], "line 1: field 'b': bad float 'tRUE'");
}

TEST(LineProtocol, Escapes) {
  // Measurement: comma and space. Tag keys, values, field keys: comma, equals, space.
  auto d = decode(R"(my\ meas\,x,device=dev\ 1\,a\=b field\ key\,\=x="say \"hi\" \\ there")");
  ASSERT_EQ(d.rejected, 0u) << d.errors[0];
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].device, "dev 1,a=b");
  EXPECT_EQ(d.readings[0].point, "field key,=x");
  EXPECT_EQ(d.readings[0].value, Value(R"(say "hi" \ there)"));

  auto m = decode(R"(my\ meas\,x f=1)");
  ASSERT_EQ(m.readings.size(), 1u);
  EXPECT_EQ(m.readings[0].device, "my meas,x");

  // A backslash before anything else is literal, in names and in strings.
  auto lit = decode(R"(a\b c\d="e\f")");
  ASSERT_EQ(lit.readings.size(), 1u);
  EXPECT_EQ(lit.readings[0].device, R"(a\b)");
  EXPECT_EQ(lit.readings[0].point, R"(c\d)");
  EXPECT_EQ(lit.readings[0].value, Value(R"(e\f)"));

  // Separators inside a quoted string do not end the field.
  auto s = decode(R"(d s="a, b=c d",n=1i)");
  ASSERT_EQ(s.readings.size(), 2u);
  EXPECT_EQ(s.readings[0].value, Value("a, b=c d"));
  EXPECT_EQ(s.readings[1].value, Value(int64_t{1}));
}

TEST(LineProtocol, Precision) {
  EXPECT_EQ(decode("d v=1 1700000000123456789").readings[0].ts_ms, 1700000000123);
  EXPECT_EQ(decode("d v=1 1700000000123456", Precision::Us).readings[0].ts_ms, 1700000000123);
  EXPECT_EQ(decode("d v=1 1700000000123", Precision::Ms).readings[0].ts_ms, 1700000000123);
  EXPECT_EQ(decode("d v=1 1700000000", Precision::S).readings[0].ts_ms, 1700000000000);
  EXPECT_EQ(decode("d v=1 9223372036854775807", Precision::S).rejected, 1u);
  EXPECT_EQ(parse_precision("ns"), Precision::Ns);
  EXPECT_EQ(parse_precision("n"), Precision::Ns);
  EXPECT_EQ(parse_precision("us"), Precision::Us);
  EXPECT_EQ(parse_precision("u"), Precision::Us);
  EXPECT_EQ(parse_precision("ms"), Precision::Ms);
  EXPECT_EQ(parse_precision("s"), Precision::S);
  EXPECT_FALSE(parse_precision("h"));
  EXPECT_FALSE(parse_precision(""));
}

TEST(LineProtocol, TimestampsInTheWrongUnitAreRefusedPerLine) {
  IngestLimits limits;
  limits.now_ms = 1'795'255'200'000;  // 2026-11-21T10:00:00Z
  auto d = decode(
      "d a=1 1732190000123000\n"  // microseconds with precision=ms
      "d b=2 1732190000\n"        // seconds with precision=ms
      "d c=3 1795255200000\n"     // fine
      "d e=4 0\n",
      Precision::Ms, limits);
  ASSERT_EQ(d.rejected, 3u);
  EXPECT_EQ(d.errors[0],
            "line 1: ts 1732190000123000 is more than 1 day in the future; is it in ms (the "
            "precision parameter, default ns)?");
  EXPECT_EQ(d.errors[1],
            "line 2: ts 1732190000 is before 2000-01-01; is it in ms (the precision parameter, "
            "default ns)?");
  EXPECT_EQ(d.errors[2].rfind("line 4: ts 0 is before 2000-01-01", 0), 0u);
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].point, "c");
  // Milliseconds sent with precision=s.
  auto s = decode("d a=1 1732190000123", Precision::S, limits);
  ASSERT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.errors[0].rfind("line 1: ts 1732190000123 is more than 1 day in the future; is "
                              "it in s",
                              0),
            0u)
      << s.errors[0];
}

TEST(LineProtocol, CommentsBlankLinesAndCrlf) {
  auto d =
      decode("# a comment\n\n   \nd a=1\r\n  # indented comment\r\nd b=2 1700000000123000000\n");
  EXPECT_EQ(d.rejected, 0u);
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].point, "b");
  EXPECT_EQ(d.readings[1].ts_ms, 1700000000123);
}

TEST(LineProtocol, ErrorsNameTheLineAndKeepGoodLines) {
  auto d = decode(
      "d a=1\n"
      "d temp=1.2.3\n"
      "d x=5i\n"
      "d\n"
      "d,tag y=1\n"
      "d,=v y=1\n"
      "d s=\"open\n"
      "d n=12x\n"
      "d n=1 abc\n"
      "d n=1 5 junk\n"
      "d n=99999999999999999999i\n"
      "d n=18446744073709551615u\n"
      "d n=-1u\n"
      "d =1\n"
      "d n\n"
      "d n=1x2\n"
      ",t=1 n=1\n"
      "d n=nan\n"
      "d n=inf\n"
      "d n=1 -5\n"
      "d n=\n"
      "d,t= n=1\n");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[0].point, "a");
  EXPECT_EQ(d.readings[1].point, "x");
  EXPECT_EQ(d.rejected, 20u);
  ASSERT_EQ(d.errors.size(), 20u);
  EXPECT_EQ(d.errors[0], "line 2: field 'temp': bad float '1.2.3'");
  EXPECT_EQ(d.errors[1], "line 4: no fields");
  EXPECT_EQ(d.errors[2], "line 5: tag 'tag': expected '='");
  EXPECT_EQ(d.errors[3], "line 6: empty tag key");
  EXPECT_EQ(d.errors[4], "line 7: field 's': unterminated string");
  EXPECT_EQ(d.errors[5], "line 8: field 'n': bad float '12x'");
  EXPECT_EQ(d.errors[6], "line 9: bad timestamp 'abc' (expected an integer >= 0)");
  EXPECT_EQ(d.errors[7], "line 10: unexpected text after the timestamp");
  EXPECT_EQ(d.errors[8], "line 11: field 'n': bad integer '99999999999999999999i'");
  EXPECT_EQ(d.errors[9],
            "line 12: field 'n': unsigned integer '18446744073709551615u' is over 2^63-1");
  EXPECT_EQ(d.errors[10], "line 13: field 'n': bad unsigned integer '-1u'");
  EXPECT_EQ(d.errors[11], "line 14: empty field key");
  EXPECT_EQ(d.errors[12], "line 15: field 'n': expected '='");
  EXPECT_EQ(d.errors[13], "line 16: field 'n': bad float '1x2'");
  EXPECT_EQ(d.errors[14], "line 17: missing measurement");
  EXPECT_EQ(d.errors[15], "line 18: field 'n': bad float 'nan'");
  EXPECT_EQ(d.errors[16], "line 19: field 'n': bad float 'inf'");
  EXPECT_EQ(d.errors[17], "line 20: bad timestamp '-5' (expected an integer >= 0)");
  EXPECT_EQ(d.errors[18], "line 21: field 'n': missing value");
  EXPECT_EQ(d.errors[19], "line 22: tag 't': empty value");
}

TEST(LineProtocol, ABadFieldRefusesTheWholeLine) {
  auto d = decode("d a=1,b=oops,c=2");
  EXPECT_TRUE(d.readings.empty());
  EXPECT_EQ(d.rejected, 1u);
  EXPECT_EQ(d.errors[0], "line 1: field 'b': bad float 'oops'");
  auto after = decode("d a=\"x\"y");
  EXPECT_EQ(after.rejected, 1u);
  EXPECT_EQ(after.errors[0], "line 1: field 'a': unexpected 'y' after the value");
}

TEST(LineProtocol, Limits) {
  IngestLimits limits;
  limits.max_items = 2;
  auto d = decode("d a=1\nd b=2\nd c=3\nd e=4", Precision::Ns, limits);
  EXPECT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.rejected, 2u);
  EXPECT_EQ(d.errors[0], "line 3: over the limit of 2 lines per body");

  IngestLimits few;
  few.max_readings = 3;
  auto r = decode("d a=1,b=2\nd c=3,e=4\nd f=5", Precision::Ns, few);
  EXPECT_EQ(r.readings.size(), 3u);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_EQ(r.errors[0], "line 2: over the limit of 3 readings per body");
}

TEST(LineProtocol, KeepsAtMostTwentyErrorTextsButCountsAll) {
  std::string body;
  for (int i = 0; i < 50; ++i) body += "d x=bad\n";
  auto d = decode(body);
  EXPECT_EQ(d.rejected, 50u);
  EXPECT_EQ(d.errors.size(), DecodedReadings::kMaxErrors);
}

}  // namespace
}  // namespace verge::devices

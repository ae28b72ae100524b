#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_set>

#include "core/value.h"

namespace verge {
namespace {

Value parse_ok(std::string_view text) {
  auto r = parse_json(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
  return r ? *r : Value();
}

JsonError parse_err(std::string_view text, size_t max_depth = 64) {
  auto r = parse_json(text, max_depth);
  EXPECT_FALSE(r.has_value()) << text << " parsed as " << (r ? r->to_json() : "");
  return r ? JsonError{} : r.error();
}

std::string roundtrip(std::string_view text) { return parse_ok(text).to_json(); }

TEST(ValueJson, ParsesATypicalPayload) {
  const Value v =
      parse_ok(R"({"deviceId":"d17","temp":23.5,"humidity":61,"ok":true,"ts":1700000000000})");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.as_object().size(), 5u);
  ASSERT_NE(v.find("deviceId"), nullptr);
  EXPECT_EQ(v.find("deviceId")->as_string(), "d17");
  EXPECT_TRUE(v.find("temp")->is_float());
  EXPECT_DOUBLE_EQ(v.find("temp")->as_float(), 23.5);
  EXPECT_TRUE(v.find("humidity")->is_int());
  EXPECT_EQ(v.find("humidity")->as_int(), 61);
  EXPECT_TRUE(v.find("ok")->is_true());
  EXPECT_EQ(v.find("ts")->as_int(), 1700000000000);
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(ValueJson, NumbersIntegersStayIntsUntilTheyOverflow) {
  EXPECT_EQ(parse_ok("9223372036854775807").as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parse_ok("-9223372036854775808").as_int(), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(parse_ok("9223372036854775808").is_float());
  EXPECT_TRUE(parse_ok("-9223372036854775809").is_float());
  EXPECT_TRUE(parse_ok("123456789012345678901234567890").is_float());
  EXPECT_TRUE(parse_ok("1.0").is_float());
  EXPECT_TRUE(parse_ok("1e2").is_float());
  EXPECT_DOUBLE_EQ(parse_ok("1E+2").as_float(), 100.0);
  EXPECT_DOUBLE_EQ(parse_ok("-2.5e-3").as_float(), -0.0025);
  EXPECT_EQ(parse_ok("-0").as_int(), 0);
  EXPECT_EQ(parse_ok("0").as_int(), 0);
  EXPECT_TRUE(parse_ok("5e-324").is_float());
}

TEST(ValueJson, RejectsWhatRfc8259Rejects) {
  for (const char* bad : {"",
                          " ",
                          "[1,]",
                          "{\"a\":1,}",
                          "01",
                          "-01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "1e+",
                          "+1",
                          "NaN",
                          "nan",
                          "Infinity",
                          "-Infinity",
                          "tru",
                          "nul",
                          "[1 2]",
                          "{\"a\" 1}",
                          "{a:1}",
                          "{'a':1}",
                          "\"abc",
                          "\"a\tb\"",
                          "\"\\x\"",
                          "\"\\u12\"",
                          "\"\\u12g4\"",
                          "[",
                          "{",
                          "[1",
                          "{\"a\":",
                          "1 2",
                          "\"\\ud800\"",
                          "\"\\udc00\"",
                          "\"\\ud800\\u0041\"",
                          "\"\\ud800x\"",
                          "1e400",
                          "-1e400",
                          "[1]]",
                          "{}}",
                          "\xef\xbb\xbf{}"}) {
    parse_err(bad);
  }
}

TEST(ValueJson, ErrorsCarryAByteOffset) {
  EXPECT_EQ(parse_err("[1,]").offset, 3u);
  EXPECT_EQ(parse_err("{\"a\":1 \"b\":2}").offset, 7u);
  EXPECT_EQ(parse_err("{\"a\":1 \"b\":2}").message, "expected ',' or '}'");
  EXPECT_EQ(parse_err("  01").offset, 3u);
  EXPECT_EQ(parse_err("[1] x").offset, 4u);
  EXPECT_EQ(parse_err("\"ab\\q\"").offset, 4u);
}

TEST(ValueJson, ValidatesUtf8InStrings) {
  EXPECT_EQ(parse_ok("\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"").as_string(),
            "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
  for (const char* bad : {
           "\"\x80\"",              // continuation byte alone
           "\"\xc3\"",              // truncated
           "\"\xc0\xaf\"",          // overlong '/'
           "\"\xe0\x80\xaf\"",      // overlong
           "\"\xed\xa0\x80\"",      // UTF-16 surrogate encoded in UTF-8
           "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
           "\"\xff\"",
       }) {
    parse_err(bad);
  }
}

TEST(ValueJson, DecodesEscapesAndSurrogatePairs) {
  EXPECT_EQ(parse_ok(R"("a\"b\\c\/d\b\f\n\r\t")").as_string(), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(parse_ok(R"("\u00e9\u20AC")").as_string(), "\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(parse_ok(R"("\ud83d\ude00")").as_string(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(parse_ok(R"("\u0000")").as_string(), std::string(1, '\0'));
}

TEST(ValueJson, SpecialBytesAtEveryOffsetOfAString) {
  // The string scanner reads eight bytes at a time: put each kind of special byte at each offset.
  for (size_t at = 0; at < 24; ++at) {
    const std::string pre(at, 'a');
    const std::string post(17, 'b');
    EXPECT_EQ(parse_ok("\"" + pre + "\\n" + post + "\"").as_string(), pre + "\n" + post);
    EXPECT_EQ(parse_ok("\"" + pre + "\xc3\xa9" + post + "\"").as_string(), pre + "\xc3\xa9" + post);
    EXPECT_EQ(parse_ok("[\"" + pre + "\"," + std::to_string(at) + "]").at(1)->as_int(),
              static_cast<int64_t>(at));
    EXPECT_EQ(parse_err("\"" + pre + "\x01" + post + "\"").offset, at + 1);
    EXPECT_EQ(parse_err("\"" + pre + "\xff" + post + "\"").offset, at + 1);
    EXPECT_EQ(parse_ok("\"" + pre + "~\x7f " + post + "\"").as_string(), pre + "~\x7f " + post);
  }
}

TEST(ValueJson, DepthLimit) {
  std::string ok(64, '[');
  ok += std::string(64, ']');
  EXPECT_TRUE(parse_json(ok, 64).has_value());
  std::string deep(65, '[');
  deep += std::string(65, ']');
  EXPECT_EQ(parse_err(deep, 64).message, "nesting too deep");
  // Far deeper than the stack could take if the limit were not enforced.
  parse_err(std::string(1000000, '['));
  EXPECT_TRUE(parse_json(R"({"a":{"b":1}})", 2).has_value());
  parse_err(R"({"a":{"b":1}})", 1);
}

TEST(ValueJson, WhitespaceAndNesting) {
  const Value v = parse_ok(" \t\r\n{ \"a\" : [ 1 , { \"b\" : null } , [ ] , { } ] } \n");
  EXPECT_EQ(v.to_json(), R"({"a":[1,{"b":null},[],{}]})");
  EXPECT_EQ(v.find("a")->at(1)->find("b")->type(), Value::Type::Null);
  EXPECT_EQ(v.find("a")->at(-1)->type(), Value::Type::Object);
  EXPECT_EQ(v.find("a")->at(4), nullptr);
  EXPECT_EQ(v.find("a")->at(-5), nullptr);
}

TEST(ValueJson, DuplicateNamesKeepTheFirstPositionAndTheLastValue) {
  EXPECT_EQ(roundtrip(R"({"a":1,"b":2,"a":3})"), R"({"a":3,"b":2})");
  // The large-object path (more than 16 members) behaves the same.
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  big += "\"k5\":\"x\"}";
  const Value v = parse_ok(big);
  EXPECT_EQ(v.as_object().size(), 40u);
  EXPECT_EQ(v.find("k5")->as_string(), "x");
  EXPECT_EQ(v.as_object()[5].first, "k5");
}

TEST(ValueJson, OutputRoundTrips) {
  EXPECT_EQ(roundtrip("1.0"), "1.0");
  EXPECT_EQ(roundtrip("23.5"), "23.5");
  EXPECT_EQ(roundtrip("0.1"), "0.1");
  EXPECT_EQ(roundtrip("-0.0"), "-0.0");
  EXPECT_EQ(roundtrip("1e300"), "1e+300");
  EXPECT_EQ(roundtrip("100000000000000000000000"), "1e+23");
  EXPECT_EQ(roundtrip("\"\\u0001\\n\\\"\""), "\"\\u0001\\n\\\"\"");
  EXPECT_EQ(roundtrip("[true,false,null]"), "[true,false,null]");
  EXPECT_EQ(Value(std::nan("")).to_json(), "null");
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()).to_json(), "null");
  EXPECT_EQ(Value(3.0).to_json(), "3.0");
  EXPECT_EQ(Value(int64_t{-7}).to_json(), "-7");
  // Shortest form that reads back to the same double.
  const double third = 1.0 / 3.0;
  EXPECT_EQ(parse_ok(Value(third).to_json()).as_float(), third);
  // Every float written reads back as a float with the same value.
  for (double d : {1e16, 1e21, 123456789.0, 5e-324, 1.7976931348623157e308, -2.0}) {
    const Value back = parse_ok(Value(d).to_json());
    EXPECT_TRUE(back.is_float()) << d;
    EXPECT_EQ(back.as_float(), d);
  }
}

TEST(ValueJson, ShortDecimalsAreWrittenShortAndReadBackExactly) {
  EXPECT_EQ(Value(23.5).to_json(), "23.5");
  EXPECT_EQ(Value(-1013.25).to_json(), "-1013.25");
  EXPECT_EQ(Value(0.3).to_json(), "0.3");
  EXPECT_EQ(Value(0.1 + 0.2).to_json(), "0.30000000000000004");
  EXPECT_EQ(Value(0.000001).to_json(), "0.000001");
  EXPECT_EQ(Value(123456789012345.0).to_json(), "123456789012345.0");
  EXPECT_EQ(Value(-0.0).to_json(), "-0.0");
  // Many decimals with up to 9 fractional digits, and arbitrary doubles: exact round trips.
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 11;
  };
  static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  for (int i = 0; i < 20000; ++i) {
    const double m = static_cast<double>(next() % 100000000000ULL) - 5e10;
    const double d =
        i % 2 == 0 ? m / kPow10[i % 10] : std::bit_cast<double>(next() << 11 | (next() & 0x7ff));
    if (!std::isfinite(d)) continue;
    const std::string s = Value(d).to_json();
    auto back = parse_json(s);
    ASSERT_TRUE(back.has_value()) << s;
    ASSERT_TRUE(back->is_float()) << s;
    ASSERT_EQ(back->as_float(), d) << s;
  }
}

TEST(ValueJson, DecimalsParseExactlyAsFromChars) {
  // The parser has a fast path for short decimals; it must agree with the general conversion.
  uint64_t seed = 777;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 20;
  };
  for (int i = 0; i < 50000; ++i) {
    std::string text = next() % 2 ? "-" : "";
    const int int_digits = 1 + static_cast<int>(next() % 12);
    const int frac_digits = 1 + static_cast<int>(next() % 16);
    text += std::to_string(1 + next() % 9);
    for (int k = 1; k < int_digits; ++k) text += static_cast<char>('0' + next() % 10);
    if (next() % 4 == 0) text = text.substr(0, text[0] == '-' ? 1 : 0) + "0";
    text += '.';
    for (int k = 0; k < frac_digits; ++k) text += static_cast<char>('0' + next() % 10);
    double want = 0;
    std::from_chars(text.data(), text.data() + text.size(), want);
    const Value v = parse_ok(text);
    ASSERT_TRUE(v.is_float()) << text;
    ASSERT_EQ(std::bit_cast<uint64_t>(v.as_float()), std::bit_cast<uint64_t>(want)) << text;
  }
}

TEST(ValueJson, ParsesManyPayloadsWithTheSameResult) {
  // The parser reuses scratch stacks between calls; a failed parse must not leak into the next.
  const std::string payload = R"({"deviceId":"d17","temp":23.5,"arr":[1,[2,{"x":3}]],"ok":true})";
  const Value first = parse_ok(payload);
  for (int i = 0; i < 1000; ++i) {
    if (i % 7 == 0) parse_err(R"({"a":[1,{"b":[2,)");
    ASSERT_EQ(parse_ok(payload), first);
  }
  EXPECT_EQ(first.to_json(), payload);
}

TEST(Value, EqualityIsDeep) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_EQ(Value(1.0), Value(1));
  EXPECT_NE(Value(1), Value(1.5));
  EXPECT_NE(Value(1), Value("1"));
  EXPECT_NE(Value(true), Value(1));
  EXPECT_EQ(Value(), Value(nullptr));
  EXPECT_NE(Value(), Value(0));
  // No precision lost when an int meets a float.
  EXPECT_NE(Value(int64_t{9007199254740993}), Value(9007199254740992.0));
  EXPECT_EQ(Value(int64_t{9007199254740992}), Value(9007199254740992.0));
  EXPECT_NE(Value(std::numeric_limits<int64_t>::max()), Value(9223372036854775808.0));
  EXPECT_EQ(Value(std::nan("")), Value(std::nan("")));
  EXPECT_EQ(parse_ok(R"({"a":1,"b":[1,2]})"), parse_ok(R"({"b":[1.0,2],"a":1})"));
  EXPECT_NE(parse_ok(R"({"a":1,"b":[1,2]})"), parse_ok(R"({"b":[2,1],"a":1})"));
  EXPECT_NE(parse_ok(R"({"a":1})"), parse_ok(R"({"a":1,"b":2})"));
  EXPECT_NE(parse_ok(R"({"a":1,"c":2})"), parse_ok(R"({"a":1,"b":2})"));
  EXPECT_NE(parse_ok("[1,2]"), parse_ok("[1,2,3]"));
}

TEST(Value, HashIsConsistentWithEquality) {
  EXPECT_EQ(Value(1).hash(), Value(1.0).hash());
  EXPECT_EQ(Value(-0.0).hash(), Value(0).hash());
  EXPECT_EQ(parse_ok(R"({"a":1,"b":"x"})").hash(), parse_ok(R"({"b":"x","a":1.0})").hash());
  EXPECT_EQ(parse_ok("[1,2.0]").hash(), parse_ok("[1.0,2]").hash());
  EXPECT_EQ(Value(std::nan("")).hash(), Value(-std::nan("")).hash());
  EXPECT_NE(parse_ok("[1,2]").hash(), parse_ok("[2,1]").hash());
  struct H {
    size_t operator()(const Value& v) const { return v.hash(); }
  };
  std::unordered_set<Value, H> set;
  for (const char* s : {"1", "1.0", "\"1\"", "true", "null", "[1]", "[1.0]", "{\"a\":1}"}) {
    set.insert(parse_ok(s));
  }
  EXPECT_EQ(set.size(), 6u);
}

TEST(Value, CompareValues) {
  EXPECT_EQ(compare_values(Value(1), Value(2)), -1);
  EXPECT_EQ(compare_values(Value(2.5), Value(2)), 1);
  EXPECT_EQ(compare_values(Value(2), Value(2.0)), 0);
  EXPECT_EQ(compare_values(Value(int64_t{9007199254740993}), Value(9007199254740992.0)), 1);
  EXPECT_EQ(compare_values(Value(std::numeric_limits<int64_t>::max()), Value(1e19)), -1);
  EXPECT_EQ(compare_values(Value(std::numeric_limits<int64_t>::min()), Value(-1e19)), 1);
  EXPECT_EQ(compare_values(Value("abc"), Value("abd")), -1);
  EXPECT_EQ(compare_values(Value("b"), Value("abc")), 1);
  EXPECT_EQ(compare_values(Value(""), Value("")), 0);
  EXPECT_EQ(compare_values(Value(false), Value(true)), -1);
  EXPECT_EQ(compare_values(Value(true), Value(true)), 0);
  EXPECT_EQ(compare_values(Value(1), Value("1")), std::nullopt);
  EXPECT_EQ(compare_values(Value(), Value()), std::nullopt);
  EXPECT_EQ(compare_values(Value(), Value(1)), std::nullopt);
  EXPECT_EQ(compare_values(Value(std::nan("")), Value(1)), std::nullopt);
  EXPECT_EQ(compare_values(Value(1), Value(std::nan(""))), std::nullopt);
  EXPECT_EQ(compare_values(parse_ok("[1]"), parse_ok("[1]")), std::nullopt);
}

TEST(Value, AccessorsAndTypeNames) {
  EXPECT_EQ(Value(3).number(), 3.0);
  EXPECT_EQ(Value(2.5).number(), 2.5);
  EXPECT_EQ(Value("x").number(), std::nullopt);
  EXPECT_EQ(Value(5).find("a"), nullptr);
  EXPECT_EQ(Value(5).at(0), nullptr);
  EXPECT_FALSE(Value(1).is_true());
  EXPECT_FALSE(Value("true").is_true());
  EXPECT_TRUE(Value(true).is_true());
  EXPECT_STREQ(Value::type_name(Value::Type::Float), "float");
  EXPECT_STREQ(Value::type_name(Value("s").type()), "string");
  EXPECT_STREQ(Value::type_name(parse_ok("{}").type()), "object");
}

}  // namespace
}  // namespace verge

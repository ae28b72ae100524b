#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/value.h"
#include "json_test_util.h"
#include "rules/functions.h"

namespace verge::rules {
namespace {

using test::json;

// Calls scalar `name`; a failure is reported as a test failure and null.
Value call(std::string_view name, std::vector<Value> args, int64_t now_ms = 0) {
  const ScalarFunction* f = find_scalar(name);
  EXPECT_NE(f, nullptr) << name;
  if (f == nullptr) return Value();
  const int n = static_cast<int>(args.size());
  EXPECT_TRUE(n >= f->min_args && (f->max_args < 0 || n <= f->max_args)) << name << " arity";
  CallContext ctx;
  ctx.now_ms = now_ms;
  Value out("sentinel");
  EXPECT_TRUE(f->fn(args, ctx, out)) << name << ": " << ctx.error;
  return out;
}

// Calls scalar `name` expecting a failure; returns ctx.error.
std::string call_error(std::string_view name, std::vector<Value> args) {
  const ScalarFunction* f = find_scalar(name);
  EXPECT_NE(f, nullptr) << name;
  if (f == nullptr) return "";
  CallContext ctx;
  Value out;
  EXPECT_FALSE(f->fn(args, ctx, out)) << name << " returned " << out.to_json();
  EXPECT_FALSE(ctx.error.empty());
  return ctx.error;
}

void expect_float(const Value& v, double want) {
  ASSERT_TRUE(v.is_float()) << v.to_json();
  EXPECT_NEAR(v.as_float(), want, 1e-9 * std::max(1.0, std::fabs(want)));
}

// --- registry ---

TEST(RulesFunctionRegistry, LooksUpNamesCaseInsensitively) {
  ASSERT_NE(find_scalar("ABS"), nullptr);
  EXPECT_EQ(find_scalar("Abs"), find_scalar("abs"));
  EXPECT_EQ(find_scalar("nope"), nullptr);
  EXPECT_EQ(find_scalar("avg"), nullptr);  // an aggregate, not a scalar
  ASSERT_NE(find_aggregate("AVG"), nullptr);
  EXPECT_TRUE(find_aggregate("count")->star_allowed);
  EXPECT_FALSE(find_aggregate("sum")->star_allowed);
  ASSERT_NE(find_analytic("Lag"), nullptr);
  EXPECT_EQ(find_analytic("abs"), nullptr);
  EXPECT_TRUE(find_scalar("now")->uses_clock);
  EXPECT_TRUE(find_scalar("rand")->uses_clock);
  EXPECT_FALSE(find_scalar("abs")->uses_clock);
}

TEST(RulesFunctionRegistry, NamesAreUniqueLowerCaseAndHaveSaneArity) {
  std::set<std::string_view> names;
  auto check = [&](std::string_view name, int min_args, int max_args) {
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
    EXPECT_TRUE(max_args < 0 || max_args >= min_args) << name;
  };
  for (const auto& f : scalar_functions()) {
    check(f.name, f.min_args, f.max_args);
    EXPECT_NE(f.fn, nullptr);
  }
  for (const auto& f : aggregate_functions()) {
    check(f.name, f.min_args, f.max_args);
    EXPECT_NE(f.make, nullptr);
  }
  for (const auto& f : analytic_functions()) {
    check(f.name, f.min_args, f.max_args);
    EXPECT_NE(f.make, nullptr);
  }
  EXPECT_GT(scalar_functions().size(), 80u);
}

// Every scalar function given all-null arguments returns without crashing, and (except for the
// few documented null-handling ones) returns null.
TEST(RulesFunctionRegistry, NullArgumentsGiveNull) {
  const std::set<std::string_view> not_null = {
      "isnull",  "to_json",  "coalesce",       "cardinality", "endswith", "startswith", "indexof",
      "length",  "numbytes", "regexp_matches", "concat",      "now",      "tstamp",     "rand",
      "newuuid", "pi",       "typeof"};
  for (const auto& f : scalar_functions()) {
    const int n = f.min_args == 0 ? f.max_args == 0 ? 0 : 1 : f.min_args;
    std::vector<Value> args(static_cast<size_t>(n));
    CallContext ctx;
    Value out("sentinel");
    if (f.name == "cast") args[1] = Value("bigint");
    ASSERT_TRUE(f.fn(args, ctx, out)) << f.name << ": " << ctx.error;
    if (!not_null.contains(f.name)) {
      EXPECT_TRUE(out.is_null()) << f.name << " -> " << out.to_json();
    }
  }
}

// Every scalar function given arguments of the wrong kinds fails with an error or returns a
// value: never crashes. Runs every function over a spread of argument types.
TEST(RulesFunctionRegistry, AnyArgumentsNeverCrash) {
  const std::vector<Value> samples = {
      Value(),      Value(true),       Value(int64_t{-3}), Value(2.5),   Value(""),
      Value("a.b"), json("[1,\"x\"]"), json(R"({"a":1})"), Value(1e300), Value(int64_t{INT64_MIN})};
  for (const auto& f : scalar_functions()) {
    const int n = f.max_args < 0 ? 3 : f.max_args;
    for (int arity = f.min_args; arity <= n; ++arity) {
      for (const auto& a : samples) {
        for (const auto& b : samples) {
          std::vector<Value> args(static_cast<size_t>(arity), a);
          if (arity > 1) args[1] = b;
          CallContext ctx;
          Value out;
          if (!f.fn(args, ctx, out)) {
            EXPECT_EQ(ctx.error.rfind(std::string(f.name) + ":", 0), 0u)
                << f.name << ": " << ctx.error;
          }
        }
      }
    }
  }
}

// --- math ---

TEST(RulesFunctionMath, AbsKeepsIntsAndRejectsStrings) {
  EXPECT_EQ(call("abs", {Value(-5)}), Value(5));
  EXPECT_TRUE(call("abs", {Value(-5)}).is_int());
  expect_float(call("abs", {Value(-2.5)}), 2.5);
  EXPECT_TRUE(call("abs", {Value()}).is_null());
  EXPECT_EQ(call_error("abs", {Value("x")}), "abs: expected a number, got string");
  expect_float(call("abs", {Value(int64_t{INT64_MIN})}), 9223372036854775808.0);
}

TEST(RulesFunctionMath, TrigonometryAndLogarithms) {
  expect_float(call("acos", {Value(1)}), 0.0);
  expect_float(call("asin", {Value(1)}), M_PI / 2);
  expect_float(call("atan", {Value(1)}), M_PI / 4);
  expect_float(call("atan2", {Value(1), Value(1)}), M_PI / 4);
  expect_float(call("cos", {Value(0)}), 1.0);
  expect_float(call("cosh", {Value(0)}), 1.0);
  expect_float(call("cot", {Value(M_PI / 4)}), 1.0);
  expect_float(call("sin", {Value(0)}), 0.0);
  expect_float(call("sinh", {Value(0)}), 0.0);
  expect_float(call("tan", {Value(0)}), 0.0);
  expect_float(call("tanh", {Value(0)}), 0.0);
  expect_float(call("degrees", {Value(M_PI)}), 180.0);
  expect_float(call("radians", {Value(180)}), M_PI);
  expect_float(call("exp", {Value(0)}), 1.0);
  expect_float(call("ln", {Value(M_E)}), 1.0);
  expect_float(call("log", {Value(1000)}), 3.0);
  expect_float(call("log", {Value(2), Value(8)}), 3.0);
  expect_float(call("sqrt", {Value(16)}), 4.0);
  expect_float(call("pi", {}), M_PI);
  expect_float(call("power", {Value(2), Value(10)}), 1024.0);
  expect_float(call("pow", {Value(2.0), Value(0.5)}), std::sqrt(2.0));
  // Domain errors are null, not errors.
  EXPECT_TRUE(call("acos", {Value(2)}).is_null());
  EXPECT_TRUE(call("sqrt", {Value(-1)}).is_null());
  EXPECT_TRUE(call("ln", {Value(0)}).is_null());
  EXPECT_TRUE(call("log", {Value(1), Value(8)}).is_null());
  EXPECT_TRUE(call("exp", {Value(1000)}).is_null());
  EXPECT_TRUE(call("atan2", {Value(), Value(1)}).is_null());
  EXPECT_EQ(call_error("sin", {Value(true)}), "sin: expected a number, got bool");
  EXPECT_EQ(call_error("power", {Value(2), Value("x")}), "power: expected a number, got string");
}

TEST(RulesFunctionMath, Rounding) {
  EXPECT_EQ(call("ceil", {Value(7)}), Value(7));
  EXPECT_TRUE(call("ceil", {Value(7)}).is_int());
  expect_float(call("ceil", {Value(1.2)}), 2.0);
  expect_float(call("ceiling", {Value(-1.2)}), -1.0);
  expect_float(call("floor", {Value(-1.2)}), -2.0);
  expect_float(call("round", {Value(2.5)}), 3.0);
  expect_float(call("round", {Value(-2.5)}), -3.0);
  expect_float(call("round", {Value(3.14159), Value(2)}), 3.14);
  EXPECT_EQ(call("round", {Value(1234), Value(-2)}), Value(1200));
  EXPECT_TRUE(call("round", {Value(1234), Value(-2)}).is_int());
  expect_float(call("round", {Value(1250.0), Value(-2)}), 1300.0);
  expect_float(call("trunc", {Value(-2.7)}), -2.0);
  expect_float(call("trunc", {Value(2.789), Value(1)}), 2.7);
  EXPECT_TRUE(call("round", {Value(), Value(1)}).is_null());
  EXPECT_TRUE(call("round", {Value(1.5), Value()}).is_null());
  EXPECT_EQ(call_error("round", {Value("1")}), "round: expected a number, got string");
  EXPECT_EQ(call_error("round", {Value(1.5), Value(1.5)}),
            "round: expected an integer number of digits, got float");
  EXPECT_EQ(call_error("round", {Value(1.5), Value(40)}),
            "round: digits must be between -18 and 18");
}

TEST(RulesFunctionMath, ModSignAndBits) {
  EXPECT_EQ(call("mod", {Value(7), Value(3)}), Value(1));
  EXPECT_TRUE(call("mod", {Value(7), Value(3)}).is_int());
  EXPECT_EQ(call("mod", {Value(-7), Value(3)}), Value(-1));
  expect_float(call("mod", {Value(7.5), Value(2)}), 1.5);
  EXPECT_TRUE(call("mod", {Value(7), Value(0)}).is_null());
  EXPECT_TRUE(call("mod", {Value(7.0), Value(0)}).is_null());
  EXPECT_EQ(call("mod", {Value(int64_t{INT64_MIN}), Value(-1)}), Value(0));
  EXPECT_EQ(call_error("mod", {Value("7"), Value(3)}), "mod: expected a number, got string");
  EXPECT_EQ(call("sign", {Value(-3.5)}), Value(-1));
  EXPECT_EQ(call("sign", {Value(0)}), Value(0));
  EXPECT_EQ(call("sign", {Value(9)}), Value(1));
  EXPECT_TRUE(call("sign", {Value()}).is_null());
  EXPECT_EQ(call("bitand", {Value(12), Value(10)}), Value(8));
  EXPECT_EQ(call("bitor", {Value(12), Value(10)}), Value(14));
  EXPECT_EQ(call("bitxor", {Value(12), Value(10)}), Value(6));
  EXPECT_EQ(call("bitnot", {Value(0)}), Value(-1));
  EXPECT_EQ(call("bitand", {Value(12.0), Value(10)}), Value(8));  // whole floats are accepted
  EXPECT_TRUE(call("bitor", {Value(), Value(1)}).is_null());
  EXPECT_EQ(call_error("bitand", {Value(1.5), Value(1)}), "bitand: expected an integer, got float");
  EXPECT_EQ(call_error("bitnot", {Value("1")}), "bitnot: expected an integer, got string");
}

TEST(RulesFunctionMath, RandIsInTheUnitInterval) {
  for (int i = 0; i < 100; ++i) {
    const Value v = call("rand", {});
    ASSERT_TRUE(v.is_float());
    EXPECT_GE(v.as_float(), 0.0);
    EXPECT_LT(v.as_float(), 1.0);
  }
}

// --- strings ---

TEST(RulesFunctionString, ConcatSkipsNullsAndFormatsNumbers) {
  EXPECT_EQ(call("concat", {Value("a"), Value(1), Value(), Value(2.5), Value(true)}),
            Value("a12.5true"));
  EXPECT_EQ(call("concat", {}), Value(""));
  EXPECT_EQ(call("concat", {Value(), Value()}), Value(""));
}

TEST(RulesFunctionString, Predicates) {
  EXPECT_EQ(call("startswith", {Value("hello"), Value("he")}), Value(true));
  EXPECT_EQ(call("startswith", {Value("hello"), Value("lo")}), Value(false));
  EXPECT_EQ(call("endswith", {Value("hello"), Value("lo")}), Value(true));
  EXPECT_EQ(call("endswith", {Value(), Value("lo")}), Value(false));  // as eKuiper
  EXPECT_EQ(call("startswith", {Value("x"), Value()}), Value(false));
  EXPECT_EQ(call_error("startswith", {Value(1), Value("x")}),
            "startswith: expected a string, got int");
  EXPECT_EQ(call("indexof", {Value("hello"), Value("l")}), Value(2));
  EXPECT_EQ(call("indexof", {Value("h\xc3\xa9llo"), Value("l")}), Value(2));  // characters
  EXPECT_EQ(call("indexof", {Value("hello"), Value("z")}), Value(-1));
  EXPECT_EQ(call("indexof", {Value("x"), Value()}), Value(-1));
  EXPECT_EQ(call_error("indexof", {Value("x"), Value(1)}), "indexof: expected a string, got int");
}

TEST(RulesFunctionString, LengthsAndCase) {
  EXPECT_EQ(call("length", {Value("h\xc3\xa9llo")}), Value(5));
  EXPECT_EQ(call("numbytes", {Value("h\xc3\xa9llo")}), Value(6));
  EXPECT_EQ(call("length", {Value()}), Value(0));
  EXPECT_EQ(call("numbytes", {Value()}), Value(0));
  EXPECT_EQ(call("length", {json("[1,2,3]")}), Value(3));
  EXPECT_EQ(call("length", {json(R"({"a":1})")}), Value(1));
  EXPECT_EQ(call_error("length", {Value(5)}), "length: expected a string, got int");
  EXPECT_EQ(call_error("numbytes", {json("[]")}), "numbytes: expected a string, got array");
  EXPECT_EQ(call_error("length", {Value(true)}), "length: expected a string, got bool");
  EXPECT_EQ(call("lower", {Value("AbC\xc3\x89")}), Value("abc\xc3\x89"));
  EXPECT_EQ(call("upper", {Value("aBc")}), Value("ABC"));
  EXPECT_TRUE(call("upper", {Value()}).is_null());
  EXPECT_EQ(call_error("lower", {Value(1.5)}), "lower: expected a string, got float");
}

TEST(RulesFunctionString, TrimPadReverse) {
  EXPECT_EQ(call("trim", {Value(" \t x y \n")}), Value("x y"));
  EXPECT_EQ(call("ltrim", {Value("  x ")}), Value("x "));
  EXPECT_EQ(call("rtrim", {Value("  x ")}), Value("  x"));
  EXPECT_TRUE(call("trim", {Value()}).is_null());
  EXPECT_EQ(call_error("rtrim", {Value(true)}), "rtrim: expected a string, got bool");
  EXPECT_EQ(call("lpad", {Value("ab"), Value(3)}), Value("   ab"));
  EXPECT_EQ(call("rpad", {Value("ab"), Value(2)}), Value("ab  "));
  EXPECT_TRUE(call("lpad", {Value("ab"), Value()}).is_null());
  EXPECT_EQ(call_error("lpad", {Value("ab"), Value(-1)}),
            "lpad: the padding must be between 0 and 1048576");
  EXPECT_EQ(call_error("rpad", {Value("ab"), Value("2")}), "rpad: expected an integer, got string");
  EXPECT_EQ(call("reverse", {Value("ab\xc3\xa9")}), Value("\xc3\xa9"
                                                          "ba"));
  EXPECT_TRUE(call("reverse", {Value()}).is_null());
  EXPECT_EQ(call_error("ltrim", {Value(1)}), "ltrim: expected a string, got int");
}

TEST(RulesFunctionString, SubstringAndSplit) {
  EXPECT_EQ(call("substring", {Value("hello"), Value(1)}), Value("ello"));
  EXPECT_EQ(call("substring", {Value("hello"), Value(1), Value(3)}), Value("el"));
  EXPECT_EQ(call("substring", {Value("h\xc3\xa9llo"), Value(1), Value(2)}), Value("\xc3\xa9"));
  EXPECT_EQ(call("substring", {Value("hello"), Value(9)}), Value(""));
  EXPECT_EQ(call("substring", {Value("hello"), Value(2), Value(99)}), Value("llo"));
  EXPECT_TRUE(call("substring", {Value(), Value(1)}).is_null());
  EXPECT_EQ(call_error("substring", {Value("hello"), Value(-1)}),
            "substring: start must not be negative");
  EXPECT_EQ(call_error("substring", {Value("hello"), Value(3), Value(1)}),
            "substring: end must not be before start");
  EXPECT_EQ(call("split_value", {Value("a/b/c"), Value("/"), Value(0)}), Value("a"));
  EXPECT_EQ(call("split_value", {Value("a/b/c"), Value("/"), Value(2)}), Value("c"));
  EXPECT_EQ(call("split_value", {Value("a::b"), Value("::"), Value(1)}), Value("b"));
  EXPECT_TRUE(call("split_value", {Value("a/b/c"), Value("/"), Value(3)}).is_null());
  EXPECT_EQ(call("split_value", {Value("a/b/c"), Value("/"), Value(-1)}), Value("c"));
  EXPECT_EQ(call("split_value", {Value("a/b/c"), Value("/"), Value(-3)}), Value("a"));
  EXPECT_TRUE(call("split_value", {Value("a/b/c"), Value("/"), Value(-4)}).is_null());
  EXPECT_TRUE(call("split_value", {Value(), Value("/"), Value(0)}).is_null());
  EXPECT_EQ(call_error("split_value", {Value("a"), Value(""), Value(0)}),
            "split_value: the separator must not be empty");
  EXPECT_EQ(call_error("split_value", {Value(1), Value("/"), Value(0)}),
            "split_value: expected a string, got int");
}

TEST(RulesFunctionString, RegularExpressions) {
  EXPECT_EQ(call("regexp_matches", {Value("device-17"), Value("^device-[0-9]+$")}), Value(true));
  EXPECT_EQ(call("regexp_matches", {Value("sensor-17"), Value("^device")}), Value(false));
  EXPECT_EQ(call("regexp_matches", {Value("a17b"), Value("[0-9]+")}), Value(true));  // search
  EXPECT_EQ(call("regexp_replace", {Value("a1b22c"), Value("[0-9]+"), Value("#")}), Value("a#b#c"));
  EXPECT_EQ(call("regexp_replace", {Value("John Smith"), Value("(\\w+) (\\w+)"), Value("$2 $1")}),
            Value("Smith John"));
  EXPECT_EQ(call("regexp_substr", {Value("temp=23.5C"), Value("[0-9.]+")}), Value("23.5"));
  EXPECT_TRUE(call("regexp_substr", {Value("abc"), Value("[0-9]")}).is_null());
  EXPECT_EQ(call("regexp_matches", {Value(), Value("x")}), Value(false));
  EXPECT_EQ(call_error("regexp_matches", {Value(1), Value("x")}),
            "regexp_matches: expected a string, got int");
  EXPECT_EQ(call_error("regexp_matches", {Value("x"), Value("(")})
                .rfind("regexp_matches: invalid regular expression '(':", 0),
            0u);
  EXPECT_EQ(call_error("regexp_substr", {Value(std::string(5000, 'a')), Value("a+")}),
            "regexp_substr: input longer than 4096 bytes for a regular expression");
  // Repeated repetitions backtrack exponentially in std::regex: refused (found by fuzzing).
  for (const char* bad :
       {"(a+)+", "a?*", "(x*)*y", "((a)+)+", "(a{2,3})*", "}?*}}bc", "P???", "a*?*", "[]??**",
        "a{1001}", "a{1,8888888888888888888}", "(a)\\8888888888888888888"}) {
    EXPECT_NE(
        call_error("regexp_matches", {Value("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"), Value(bad)})
            .find("is refused: it repeats a repetition"),
        std::string::npos)
        << bad;
  }
  for (const char* good : {"(ab)+", "a*?b", "(?:ab)+c", "[+*]+", "\\++", "a{2,3}b", "((a)+)",
                           "x+y*z?", "a??b", "a{1000}"}) {
    EXPECT_TRUE(call("regexp_matches", {Value("abab"), Value(good)}).is_bool()) << good;
  }
  EXPECT_EQ(call_error("regexp_matches", {Value("a"), Value(std::string(1025, 'a'))}),
            "regexp_matches: regular expression longer than 1024 bytes");
  // Many distinct patterns: the bounded cache evicts and still answers correctly.
  for (int i = 0; i < 200; ++i) {
    const std::string p = "^x" + std::to_string(i) + "$";
    EXPECT_EQ(call("regexp_matches", {Value("x" + std::to_string(i)), Value(p)}), Value(true));
  }
}

TEST(RulesFunctionString, Format) {
  EXPECT_EQ(call("format", {Value(12332.123456), Value(2)}), Value("12,332.12"));
  EXPECT_EQ(call("format", {Value(-1234567), Value(0)}), Value("-1,234,567"));
  EXPECT_EQ(call("format", {Value(12.5), Value(3)}), Value("12.500"));
  EXPECT_TRUE(call("format", {Value(), Value(2)}).is_null());
  EXPECT_EQ(call_error("format", {Value("1"), Value(2)}), "format: expected a number, got string");
}

// --- hashing and encoding ---

TEST(RulesFunctionHash, Digests) {
  EXPECT_EQ(call("md5", {Value("abc")}), Value("900150983cd24fb0d6963f7d28e17f72"));
  EXPECT_EQ(call("sha1", {Value("abc")}), Value("a9993e364706816aba3e25717850c26c9cd0d89d"));
  EXPECT_EQ(call("sha256", {Value("abc")}),
            Value("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(call("sha224", {Value("abc")}).as_string().size(), 56u);
  EXPECT_EQ(call("sha384", {Value("abc")}).as_string().size(), 96u);
  EXPECT_EQ(call("sha512", {Value("abc")}).as_string().size(), 128u);
  EXPECT_EQ(call("md5", {Value(1)}), call("md5", {Value("1")}));  // numbers hash as their text
  EXPECT_TRUE(call("sha256", {Value()}).is_null());
  EXPECT_EQ(call_error("md5", {json("[1]")}), "md5: expected a string, got array");
}

TEST(RulesFunctionHash, EncodeDecode) {
  EXPECT_EQ(call("encode", {Value("hello"), Value("base64")}), Value("aGVsbG8="));
  EXPECT_EQ(call("encode", {Value("hi"), Value("base64")}), Value("aGk="));
  EXPECT_EQ(call("encode", {Value("abc"), Value("base64")}), Value("YWJj"));
  EXPECT_EQ(call("decode", {Value("aGVsbG8="), Value("base64")}), Value("hello"));
  EXPECT_EQ(call("decode", {Value("aGVsbG8"), Value("base64")}), Value("hello"));
  EXPECT_EQ(call("encode", {Value("\x01\xff"), Value("hex")}), Value("01ff"));
  EXPECT_EQ(call("decode", {Value("01FF"), Value("hex")}), Value("\x01\xff"));
  EXPECT_TRUE(call("encode", {Value(), Value("base64")}).is_null());
  EXPECT_EQ(call_error("decode", {Value("a$"), Value("base64")}), "decode: invalid base64");
  EXPECT_EQ(call_error("decode", {Value("abc"), Value("hex")}), "decode: invalid hex");
  EXPECT_EQ(call_error("encode", {Value("x"), Value("rot13")}),
            "encode: unknown encoding 'rot13' (expected base64 or hex)");
  EXPECT_EQ(call_error("encode", {Value(1), Value("base64")}),
            "encode: expected a string, got int");
}

// --- conversion ---

TEST(RulesFunctionConvert, Cast) {
  EXPECT_EQ(call("cast", {Value("42"), Value("bigint")}), Value(42));
  EXPECT_EQ(call("cast", {Value(" 42 "), Value("BIGINT")}), Value(42));
  EXPECT_EQ(call("cast", {Value(3.9), Value("bigint")}), Value(3));
  EXPECT_EQ(call("cast", {Value(-3.9), Value("bigint")}), Value(-3));
  EXPECT_EQ(call("cast", {Value("12.7"), Value("bigint")}), Value(12));
  EXPECT_EQ(call("cast", {Value(true), Value("bigint")}), Value(1));
  expect_float(call("cast", {Value("2.5"), Value("float")}), 2.5);
  expect_float(call("cast", {Value(2), Value("float")}), 2.0);
  EXPECT_EQ(call("cast", {Value(2.5), Value("string")}), Value("2.5"));
  EXPECT_EQ(call("cast", {json(R"({"a":[1]})"), Value("string")}), Value(R"({"a":[1]})"));
  EXPECT_EQ(call("cast", {Value("true"), Value("boolean")}), Value(true));
  EXPECT_EQ(call("cast", {Value("F"), Value("boolean")}), Value(false));
  EXPECT_EQ(call("cast", {Value(0), Value("boolean")}), Value(false));
  EXPECT_EQ(call("cast", {Value("2023-11-14T22:13:20Z"), Value("datetime")}),
            Value(int64_t{1700000000000}));
  EXPECT_EQ(call("cast", {Value("2023-11-14 23:13:20.5+01:00"), Value("datetime")}),
            Value(int64_t{1700000000500}));
  EXPECT_EQ(call("cast", {Value("1970-01-02"), Value("datetime")}), Value(int64_t{86400000}));
  EXPECT_EQ(call("cast", {Value(int64_t{1700000000000}), Value("datetime")}),
            Value(int64_t{1700000000000}));
  EXPECT_TRUE(call("cast", {Value(), Value("bigint")}).is_null());
  EXPECT_EQ(call_error("cast", {Value("abc"), Value("bigint")}),
            "cast: cannot convert 'abc' to bigint");
  EXPECT_EQ(call_error("cast", {json("[1]"), Value("float")}),
            "cast: cannot convert array to float");
  EXPECT_EQ(call_error("cast", {Value("maybe"), Value("boolean")}),
            "cast: cannot convert 'maybe' to boolean");
  EXPECT_EQ(call_error("cast", {Value("2023-13-01"), Value("datetime")}),
            "cast: cannot convert '2023-13-01' to datetime");
  EXPECT_EQ(call_error("cast", {Value(1), Value("decimal")}),
            "cast: unknown type 'decimal' (expected bigint, float, string, boolean or datetime)");
  EXPECT_EQ(call_error("cast", {Value(1), Value(2)}), "cast: expected a type name string, got int");
}

TEST(RulesFunctionConvert, JsonNullsAndMisc) {
  EXPECT_EQ(call("to_json", {json(R"({"a":[1,2.0,"x"]})")}), Value(R"({"a":[1,2.0,"x"]})"));
  EXPECT_EQ(call("to_json", {Value()}), Value("null"));
  EXPECT_EQ(call("parse_json", {Value(R"({"a":1})")}), json(R"({"a":1})"));
  EXPECT_TRUE(call("parse_json", {Value()}).is_null());
  EXPECT_EQ(call_error("parse_json", {Value("{")}), "parse_json: expected a member name at byte 1");
  EXPECT_EQ(call_error("parse_json", {Value(1)}), "parse_json: expected a string, got int");
  EXPECT_EQ(call("isnull", {Value()}), Value(true));
  EXPECT_EQ(call("isnull", {Value(0)}), Value(false));
  EXPECT_EQ(call("coalesce", {Value(), Value(), Value(3), Value(4)}), Value(3));
  EXPECT_TRUE(call("coalesce", {Value(), Value()}).is_null());
  EXPECT_EQ(call("typeof", {Value(1.5)}), Value("float"));
  EXPECT_EQ(call("typeof", {Value()}), Value("null"));
  EXPECT_EQ(call("cardinality", {json("[1,2,3]")}), Value(3));
  EXPECT_EQ(call("cardinality", {json(R"({"a":1})")}), Value(1));
  EXPECT_EQ(call("cardinality", {Value()}), Value(0));
  EXPECT_EQ(call_error("cardinality", {Value("abc")}),
            "cardinality: expected an array or object, got string");
  EXPECT_EQ(call("dec2hex", {Value(255)}), Value("ff"));
  EXPECT_EQ(call("dec2hex", {Value(-255)}), Value("-ff"));
  EXPECT_TRUE(call("dec2hex", {Value()}).is_null());
  EXPECT_EQ(call_error("dec2hex", {Value("ff")}), "dec2hex: expected an integer, got string");
  EXPECT_EQ(call("hex2dec", {Value("0xFF")}), Value(255));
  EXPECT_EQ(call("hex2dec", {Value("-ff")}), Value(-255));
  EXPECT_TRUE(call("hex2dec", {Value()}).is_null());
  EXPECT_EQ(call_error("hex2dec", {Value("xyz")}), "hex2dec: not a hexadecimal integer: 'xyz'");
  EXPECT_EQ(call_error("hex2dec", {Value(1)}), "hex2dec: expected a string, got int");
}

TEST(RulesFunctionConvert, NewUuidIsAVersion4Uuid) {
  const Value a = call("newuuid", {});
  const Value b = call("newuuid", {});
  ASSERT_TRUE(a.is_string());
  const std::string& s = a.as_string();
  ASSERT_EQ(s.size(), 36u);
  EXPECT_EQ(s[8], '-');
  EXPECT_EQ(s[14], '4');
  EXPECT_TRUE(s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
  EXPECT_NE(a, b);
}

// --- time ---

TEST(RulesFunctionTime, NowUsesTheCallContextClock) {
  EXPECT_EQ(call("now", {}, 1700000000123), Value(int64_t{1700000000123}));
  EXPECT_EQ(call("tstamp", {}, 42), Value(42));
}

TEST(RulesFunctionTime, FormatTime) {
  const Value t(int64_t{1700000000123});  // 2023-11-14 22:13:20.123 UTC, a Tuesday
  EXPECT_EQ(call("format_time", {t, Value("yyyy-MM-dd HH:mm:ss")}), Value("2023-11-14 22:13:20"));
  EXPECT_EQ(call("format_time", {t, Value("yyyy-MM-dd'T'HH:mm:ss.SSSZ")}),
            Value("2023-11-14T22:13:20.123+0000"));
  EXPECT_EQ(call("format_time", {t, Value("EEE, d MMM yy h:mm a z")}),
            Value("Tue, 14 Nov 23 10:13 PM UTC"));
  EXPECT_EQ(call("format_time", {t, Value("EEEE MMMM")}), Value("Tuesday November"));
  EXPECT_EQ(call("format_time", {t, Value("'o''clock' hh S SS")}), Value("o'clock 10 1 12"));
  EXPECT_EQ(call("format_time", {Value("2024-02-29T01:02:03Z"), Value("dd/MM/yyyy")}),
            Value("29/02/2024"));
  EXPECT_EQ(call("format_time", {Value(int64_t{-1}), Value("yyyy-MM-dd HH:mm:ss.SSS")}),
            Value("1969-12-31 23:59:59.999"));
  EXPECT_TRUE(call("format_time", {Value(), Value("yyyy")}).is_null());
  EXPECT_EQ(call_error("format_time", {Value(true), Value("yyyy")}),
            "format_time: expected a time (ms since the epoch or an RFC 3339 string), got bool");
  EXPECT_EQ(call_error("format_time", {t, Value(1)}),
            "format_time: expected a layout string, got int");
}

TEST(RulesFunctionTime, CalendarFields) {
  const Value t(int64_t{1700000000123});
  EXPECT_EQ(call("year", {t}), Value(2023));
  EXPECT_EQ(call("month", {t}), Value(11));
  EXPECT_EQ(call("day", {t}), Value(14));
  EXPECT_EQ(call("day_of_month", {t}), Value(14));
  EXPECT_EQ(call("hour", {t}), Value(22));
  EXPECT_EQ(call("minute", {t}), Value(13));
  EXPECT_EQ(call("second", {t}), Value(20));
  EXPECT_EQ(call("day_of_week", {t}), Value(3));  // 1 = Sunday
  EXPECT_EQ(call("day_of_year", {t}), Value(318));
  EXPECT_EQ(call("day_name", {t}), Value("Tuesday"));
  EXPECT_EQ(call("month_name", {t}), Value("November"));
  EXPECT_EQ(call("day_of_year", {Value("2024-12-31T00:00:00Z")}), Value(366));
  EXPECT_EQ(call("year", {Value(int64_t{0})}), Value(1970));
  EXPECT_EQ(call("from_unix_time", {Value(1700000000)}), Value(int64_t{1700000000000}));
  EXPECT_TRUE(call("hour", {Value()}).is_null());
  EXPECT_EQ(call_error("hour", {Value("noon")}),
            "hour: expected a time (ms since the epoch or an RFC 3339 string), got string");
  EXPECT_EQ(call_error("year", {Value(int64_t{INT64_MAX})}), "year: time out of range");
  EXPECT_EQ(call_error("from_unix_time", {Value("x")}),
            "from_unix_time: expected a number of seconds, got string");
}

// --- JSON path ---

TEST(RulesFunctionJson, PathQueries) {
  const Value doc = json(R"({"a":{"b":[{"c":1},{"c":2},{"d":3}]},"x y":true,"n":null})");
  EXPECT_EQ(call("json_path_query", {doc, Value("$.a.b[1].c")}), Value(2));
  EXPECT_EQ(call("json_path_query", {doc, Value("$.a.b[-1]")}), json(R"({"d":3})"));
  EXPECT_EQ(call("json_path_query", {doc, Value("$['x y']")}), Value(true));
  EXPECT_EQ(call("json_path_query", {doc, Value("$[\"a\"].b[0]")}), json(R"({"c":1})"));
  EXPECT_EQ(call("json_path_query", {doc, Value("$.a.b[*].c")}), json("[1,2]"));
  EXPECT_EQ(call("json_path_query", {doc, Value("$.a.*")}), json(R"([[{"c":1},{"c":2},{"d":3}]])"));
  EXPECT_EQ(call("json_path_query", {doc, Value("$.zz[*]")}), json("[]"));
  EXPECT_EQ(call("json_path_query", {doc, Value("$")}), doc);
  EXPECT_TRUE(call("json_path_query", {doc, Value("$.a.zz")}).is_null());
  EXPECT_EQ(call("json_path_query_first", {doc, Value("$.a.b[*].c")}), Value(1));
  EXPECT_TRUE(call("json_path_query_first", {doc, Value("$.q[*]")}).is_null());
  EXPECT_EQ(call("json_path_exists", {doc, Value("$.a.b[2].d")}), Value(true));
  EXPECT_EQ(call("json_path_exists", {doc, Value("$.n")}), Value(true));
  EXPECT_EQ(call("json_path_exists", {doc, Value("$.a.b[3]")}), Value(false));
  EXPECT_EQ(call("json_path_exists", {Value(), Value("$.a")}), Value(false));
  EXPECT_TRUE(call("json_path_query", {Value(), Value("$.a")}).is_null());
  EXPECT_EQ(call_error("json_path_query", {doc, Value("a.b")}),
            "json_path_query: invalid path 'a.b': a path starts with '$'");
  EXPECT_EQ(call_error("json_path_query", {doc, Value("$.a[x]")}),
            "json_path_query: invalid path '$.a[x]': expected an index, '*' or a quoted name in "
            "[...]");
  EXPECT_EQ(call_error("json_path_exists", {doc, Value(1)}),
            "json_path_exists: expected a path string, got int");
}

// --- aggregates ---

Value aggregate(std::string_view name, const std::vector<std::vector<Value>>& rows) {
  const AggregateFunction* f = find_aggregate(name);
  EXPECT_NE(f, nullptr) << name;
  if (f == nullptr) return Value();
  auto acc = f->make();
  for (const auto& row : rows) {
    CallContext ctx;
    EXPECT_TRUE(acc->add(row, ctx)) << name << ": " << ctx.error;
  }
  return acc->result();
}

// One argument per row.
Value agg1(std::string_view name, std::vector<Value> values) {
  std::vector<std::vector<Value>> rows;
  for (auto& v : values) rows.push_back({std::move(v)});
  return aggregate(name, rows);
}

std::string aggregate_error(std::string_view name, const std::vector<std::vector<Value>>& rows) {
  auto acc = find_aggregate(name)->make();
  for (const auto& row : rows) {
    CallContext ctx;
    if (!acc->add(row, ctx)) return ctx.error;
  }
  ADD_FAILURE() << name << " accepted every row";
  return "";
}

TEST(RulesFunctionAggregate, CountSumAvg) {
  EXPECT_EQ(agg1("count", {Value(1), Value(), Value("x")}), Value(2));
  EXPECT_EQ(aggregate("count", {{}, {}, {}}), Value(3));  // count(*): rows, nulls included
  EXPECT_EQ(agg1("count", {}), Value(0));
  const Value s = agg1("sum", {Value(1), Value(2), Value()});
  EXPECT_TRUE(s.is_int());
  EXPECT_EQ(s, Value(3));
  expect_float(agg1("sum", {Value(1), Value(2.5)}), 3.5);
  expect_float(agg1("sum", {Value(2.5), Value(1)}), 3.5);
  expect_float(agg1("sum", {Value(int64_t{INT64_MAX}), Value(1)}), 9223372036854775808.0);
  EXPECT_TRUE(agg1("sum", {}).is_null());
  EXPECT_TRUE(agg1("sum", {Value(), Value()}).is_null());
  EXPECT_EQ(aggregate_error("sum", {{Value(1)}, {Value("2")}}),
            "sum: expected a number, got string");
  expect_float(agg1("avg", {Value(1), Value(2), Value()}), 1.5);
  expect_float(agg1("avg", {Value(1e308), Value(1e308)}), 1e308);  // no overflow
  EXPECT_TRUE(agg1("avg", {}).is_null());
  EXPECT_EQ(aggregate_error("avg", {{Value(true)}}), "avg: expected a number, got bool");
}

TEST(RulesFunctionAggregate, MinMax) {
  EXPECT_EQ(agg1("min", {Value(3), Value(1.5), Value(), Value(2)}), Value(1.5));
  EXPECT_EQ(agg1("max", {Value(3), Value(1.5), Value(), Value(2)}), Value(3));
  EXPECT_TRUE(agg1("max", {Value(3)}).is_int());
  EXPECT_EQ(agg1("min", {Value("b"), Value("a"), Value("c")}), Value("a"));
  EXPECT_EQ(agg1("max", {Value(false), Value(true)}), Value(true));
  EXPECT_TRUE(agg1("min", {}).is_null());
  EXPECT_TRUE(agg1("max", {Value()}).is_null());
  EXPECT_EQ(aggregate_error("min", {{Value(1)}, {Value("a")}}),
            "min: cannot compare string with int");
  EXPECT_EQ(aggregate_error("max", {{json("[1]")}}), "max: expected a number or string, got array");
}

TEST(RulesFunctionAggregate, Spread) {
  // 2, 4, 4, 4, 5, 5, 7, 9: population variance 4, sample variance 32/7.
  std::vector<Value> v = {Value(2), Value(4), Value(4),   Value(), Value(4),
                          Value(5), Value(5), Value(7.0), Value(9)};
  expect_float(agg1("var", v), 4.0);
  expect_float(agg1("stddev", v), 2.0);
  expect_float(agg1("vars", v), 32.0 / 7.0);
  expect_float(agg1("stddevs", v), std::sqrt(32.0 / 7.0));
  expect_float(agg1("var", {Value(5)}), 0.0);
  EXPECT_TRUE(agg1("vars", {Value(5)}).is_null());
  EXPECT_TRUE(agg1("stddev", {}).is_null());
  // Welford stays accurate with a large offset.
  expect_float(agg1("var", {Value(1e9 + 4), Value(1e9 + 7), Value(1e9 + 13), Value(1e9 + 16)}),
               22.5);
  EXPECT_EQ(aggregate_error("stddev", {{Value("x")}}), "stddev: expected a number, got string");
}

TEST(RulesFunctionAggregate, MedianAndPercentiles) {
  expect_float(agg1("median", {Value(3), Value(1), Value(2)}), 2.0);
  expect_float(agg1("median", {Value(4), Value(1), Value(2), Value(3), Value()}), 2.5);
  EXPECT_TRUE(agg1("median", {}).is_null());
  EXPECT_EQ(aggregate_error("median", {{Value("x")}}), "median: expected a number, got string");
  auto rows = [](std::vector<double> xs, double p) {
    std::vector<std::vector<Value>> r;
    for (double x : xs) r.push_back({Value(x), Value(p)});
    return r;
  };
  expect_float(aggregate("percentile_cont", rows({10, 20, 30, 40}, 0.5)), 25.0);
  expect_float(aggregate("percentile_cont", rows({10, 20, 30, 40}, 0.0)), 10.0);
  expect_float(aggregate("percentile_cont", rows({10, 20, 30, 40}, 1.0)), 40.0);
  expect_float(aggregate("percentile_cont", rows({10, 20, 30, 40, 50}, 0.9)), 46.0);
  expect_float(aggregate("percentile", rows({10, 20, 30, 40, 50}, 0.9)), 46.0);
  expect_float(aggregate("percentile_disc", rows({10, 20, 30, 40}, 0.5)), 20.0);
  expect_float(aggregate("percentile_disc", rows({10, 20, 30, 40}, 0.51)), 30.0);
  expect_float(aggregate("percentile_disc", rows({10, 20, 30, 40}, 0.0)), 10.0);
  EXPECT_EQ(aggregate("percentile_disc", {{Value(3), Value(0.5)}, {Value(1), Value(0.5)}}),
            Value(1));
  EXPECT_TRUE(aggregate("percentile_disc", {{Value(3), Value(0.5)}}).is_int());
  EXPECT_TRUE(aggregate("percentile_cont", {{Value(), Value(0.5)}}).is_null());
  EXPECT_EQ(aggregate_error("percentile_cont", {{Value(1), Value(1.5)}}),
            "percentile_cont: the fraction must be between 0 and 1");
  EXPECT_EQ(aggregate_error("percentile_disc", {{Value(1), Value("half")}}),
            "percentile_disc: expected a fraction between 0 and 1, got string");
}

TEST(RulesFunctionAggregate, FirstLastValue) {
  std::vector<std::vector<Value>> rows = {{Value()}, {Value(1)}, {Value(2)}, {Value()}};
  EXPECT_EQ(aggregate("first_value", rows), Value(1));  // nulls ignored by default
  EXPECT_EQ(aggregate("last_value", rows), Value(2));
  std::vector<std::vector<Value>> keep = {
      {Value(), Value(false)}, {Value(1), Value(false)}, {Value(), Value(false)}};
  EXPECT_TRUE(aggregate("first_value", keep).is_null());
  EXPECT_TRUE(aggregate("last_value", keep).is_null());
  EXPECT_TRUE(aggregate("last_value", {}).is_null());
  EXPECT_EQ(aggregate_error("last_value", {{Value(1), Value("yes")}}),
            "last_value: expected a boolean ignore_null flag, got string");
}

TEST(RulesFunctionAggregate, Collections) {
  EXPECT_EQ(agg1("collect", {Value(1), Value(), Value("a"), Value(1)}), json(R"([1,"a",1])"));
  EXPECT_EQ(agg1("collect", {}), json("[]"));
  EXPECT_EQ(agg1("deduplicate", {Value(1), Value(1.0), Value(), Value("a"), Value(2), Value("a")}),
            json(R"([1,"a",2])"));
  EXPECT_EQ(aggregate("deduplicate",
                      {{Value(), Value(false)}, {Value(1), Value(false)}, {Value(), Value(false)}}),
            json("[null,1]"));
  EXPECT_EQ(agg1("deduplicate", {}), json("[]"));
  EXPECT_EQ(aggregate_error("deduplicate", {{Value(1), Value(1)}}),
            "deduplicate: expected a boolean ignore_null flag, got int");
  EXPECT_EQ(agg1("merge_agg", {json(R"({"a":1,"b":2})"), Value(), json(R"({"b":3,"c":4})")}),
            json(R"({"a":1,"b":3,"c":4})"));
  EXPECT_EQ(agg1("merge_agg", {}), json("{}"));
  EXPECT_EQ(aggregate_error("merge_agg", {{Value(1)}}), "merge_agg: expected an object, got int");
}

// --- analytic ---

std::vector<Value> run_analytic(std::string_view name,
                                const std::vector<std::vector<Value>>& calls) {
  const AnalyticFunction* f = find_analytic(name);
  EXPECT_NE(f, nullptr) << name;
  std::vector<Value> out;
  if (f == nullptr) return out;
  auto state = f->make();
  for (const auto& args : calls) {
    CallContext ctx;
    Value v;
    EXPECT_TRUE(state->call(args, ctx, v)) << name << ": " << ctx.error;
    out.push_back(v);
  }
  return out;
}

std::string values_json(const std::vector<Value>& vs) { return Value(ValueArray(vs)).to_json(); }

TEST(RulesFunctionAnalytic, Lag) {
  EXPECT_EQ(values_json(run_analytic("lag", {{Value(1)}, {Value(2)}, {Value(3)}})), "[null,1,2]");
  EXPECT_EQ(values_json(run_analytic(
                "lag", {{Value(1), Value(2)}, {Value(2), Value(2)}, {Value(3), Value(2)}})),
            "[null,null,1]");
  EXPECT_EQ(values_json(run_analytic(
                "lag", {{Value(1), Value(1), Value(0)}, {Value(2), Value(1), Value(0)}})),
            "[0,1]");
  // eKuiper's duration idiom: ts - lag(ts, 1, ts, true); the default is the first call's.
  EXPECT_EQ(values_json(run_analytic("lag", {{Value(100), Value(1), Value(100), Value(true)},
                                             {Value(), Value(1), Value(), Value(true)},
                                             {Value(300), Value(1), Value(300), Value(true)}})),
            "[100,100,100]");
  // Without ignore_null the null is remembered.
  EXPECT_EQ(values_json(run_analytic("lag", {{Value(1)}, {Value()}, {Value(3)}})), "[null,1,null]");
  EXPECT_EQ(values_json(run_analytic("lag", {{Value(7), Value(0)}})), "[7]");
  const AnalyticFunction* lag = find_analytic("lag");
  auto st = lag->make();
  CallContext ctx;
  Value out;
  std::vector<Value> bad = {Value(1), Value(-1)};
  EXPECT_FALSE(st->call(bad, ctx, out));
  EXPECT_EQ(ctx.error, "lag: the offset must be between 0 and 10000");
  auto st2 = lag->make();
  std::vector<Value> bad2 = {Value(1), Value("x")};
  EXPECT_FALSE(st2->call(bad2, ctx, out));
  EXPECT_EQ(ctx.error, "lag: expected an integer offset, got string");
}

TEST(RulesFunctionAnalytic, Latest) {
  EXPECT_EQ(
      values_json(run_analytic(
          "latest",
          {{Value(), Value(0)}, {Value(5), Value(0)}, {Value(), Value(0)}, {Value(6), Value(0)}})),
      "[0,5,5,6]");
  EXPECT_EQ(values_json(run_analytic("latest", {{Value()}, {Value("a")}})), "[null,\"a\"]");
}

TEST(RulesFunctionAnalytic, ChangedCol) {
  const Value t(true);
  const Value f(false);
  EXPECT_EQ(values_json(run_analytic(
                "changed_col",
                {{t, Value(1)}, {t, Value(1)}, {t, Value()}, {t, Value(2)}, {t, Value(2.0)}})),
            "[1,null,null,2,null]");
  EXPECT_EQ(values_json(run_analytic("changed_col", {{f, Value(1)}, {f, Value()}, {f, Value(1)}})),
            "[1,null,1]");
  auto st = find_analytic("changed_col")->make();
  CallContext ctx;
  Value out;
  std::vector<Value> bad = {Value(1), Value(1)};
  EXPECT_FALSE(st->call(bad, ctx, out));
  EXPECT_EQ(ctx.error, "changed_col: expected a boolean ignore_null flag, got int");
}

TEST(RulesFunctionAnalytic, HadChanged) {
  const Value t(true);
  const Value f(false);
  EXPECT_EQ(values_json(run_analytic("had_changed", {{t, Value(1), Value("a")},
                                                     {t, Value(1), Value("a")},
                                                     {t, Value(), Value("a")},
                                                     {t, Value(1), Value("b")},
                                                     {t, Value(2), Value("b")}})),
            "[true,false,false,true,true]");
  EXPECT_EQ(values_json(run_analytic("had_changed", {{f, Value(1)}, {f, Value()}, {f, Value()}})),
            "[true,true,false]");
  auto st = find_analytic("had_changed")->make();
  CallContext ctx;
  Value out;
  std::vector<Value> bad = {Value("yes"), Value(1)};
  EXPECT_FALSE(st->call(bad, ctx, out));
  EXPECT_EQ(ctx.error, "had_changed: expected a boolean ignore_null flag, got string");
}

}  // namespace
}  // namespace verge::rules

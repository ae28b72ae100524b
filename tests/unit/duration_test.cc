#include "core/duration.h"

#include <gtest/gtest.h>

namespace verge {
namespace {

TEST(Duration, UnitsAndBareMilliseconds) {
  EXPECT_EQ(*parse_duration_ms("250ms"), 250);
  EXPECT_EQ(*parse_duration_ms("5m"), 300'000);
  EXPECT_EQ(*parse_duration_ms("1s"), 1000);
  EXPECT_EQ(*parse_duration_ms("2h"), 7'200'000);
  EXPECT_EQ(*parse_duration_ms("30d"), 2'592'000'000);
  EXPECT_EQ(*parse_duration_ms("1500"), 1500);
  EXPECT_EQ(*parse_duration_ms("0s"), 0);
  EXPECT_EQ(*duration_ms_from_value(Value(int64_t{42})), 42);
  EXPECT_EQ(*duration_ms_from_value(Value("3s")), 3000);
}

TEST(Duration, BadTextSaysWhatWasExpected) {
  for (const char* text : {"", "ms", "ten", "5 s", "-1s", "1.5s", "5y", "36501d", "s5"}) {
    auto r = parse_duration_ms(text);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_NE(r.error().message.find("expected a duration"), std::string::npos) << text;
  }
  EXPECT_FALSE(duration_ms_from_value(Value(int64_t{-5})).has_value());
  EXPECT_FALSE(duration_ms_from_value(Value(true)).has_value());
  EXPECT_FALSE(duration_ms_from_value(Value(1.5)).has_value());
}

}  // namespace
}  // namespace verge

#include <gtest/gtest.h>

#include "core/json.h"

namespace verge {
namespace {

std::string as_json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(Json, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(as_json(""), "\"\"");
  EXPECT_EQ(as_json("plain text"), "\"plain text\"");
  EXPECT_EQ(as_json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(as_json("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(as_json(std::string("\x00\x1f\x7f", 3)), "\"\\u0000\\u001f\\u007f\"");
  EXPECT_EQ(as_json("\xc3\xa9"), "\"\xc3\xa9\"");  // UTF-8 passes through
}

}  // namespace
}  // namespace verge

// A Value from JSON text in tests: the test fails (and gets null) when the text does not parse.
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "core/value.h"

namespace verge::test {

inline Value json(std::string_view text) {
  auto v = parse_json(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v ? *v : Value();
}

}  // namespace verge::test

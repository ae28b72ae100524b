// Paths into a JSON payload, as MQTT device addresses write them: "main.temp",
// "readings[0].value", "[2]", or empty (the whole payload).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"

namespace verge::devices {

class JsonPath {
 public:
  // Members are separated by '.', array elements are [n] (negative counts from the end).
  // Member names cannot hold '.', '[' or ']'.
  static Result<JsonPath> parse(std::string_view text);

  bool empty() const { return steps_.empty(); }
  // The value at the path, or null when a member or element is missing.
  const Value* find(const Value& root) const;

 private:
  struct Step {
    std::string member;  // empty for an element
    int64_t index = 0;
  };
  std::vector<Step> steps_;
};

}  // namespace verge::devices

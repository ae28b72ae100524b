// The payload of `verge/devices/<id>/data`, built straight into reused buffers (no Values):
//   {"device":"boiler-1","ts":1732190000123,"values":{"temp":21.5},
//    "quality":{"pressure":{"quality":"bad","reason":"timeout"}}}
// `values` holds good and uncertain readings, `quality` only the points that are not good.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/value.h"
#include "devices/types.h"

namespace verge::devices {

class SampleMessage {
 public:
  void clear();
  void add_value(std::string_view point, const Value& v);
  void add_quality(std::string_view point, Quality q, std::string_view reason);
  bool empty() const { return values_.empty() && quality_.empty(); }
  // Writes the whole message into `out` (cleared first).
  void write(std::string_view device, int64_t ts_ms, std::string& out) const;

 private:
  std::string values_;   // "\"temp\":21.5,\"on\":true" (members without braces)
  std::string quality_;  // likewise
};

}  // namespace verge::devices

// Fuzzes the line-protocol decoder: any bytes decode without crashing, every refusal names its
// line, and every reading has a device, a point and a scalar value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "devices/adapters/http/line_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace verge::devices;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  IngestLimits limits;
  limits.max_items = 64;
  limits.max_readings = 256;
  for (Precision p : {Precision::Ns, Precision::S}) {
    const DecodedReadings d = decode_line_protocol(text, p, limits);
    if (d.errors.size() > d.rejected || d.errors.size() > DecodedReadings::kMaxErrors) std::abort();
    if (d.readings.size() > limits.max_readings) std::abort();
    for (const auto& e : d.errors) {
      if (e.rfind("line ", 0) != 0) std::abort();
    }
    for (const auto& r : d.readings) {
      if (r.device.empty() || r.point.empty() || r.ts_ms < 0) std::abort();
      if (!(r.value.is_number() || r.value.is_bool() || r.value.is_string())) std::abort();
    }
  }
  return 0;
}

// Fuzzes the JSON sample decoder: any bytes either are refused whole with a message or decode
// item by item; every reading has a device, a point and a scalar value (null only for a reading
// that is not good).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "devices/adapters/http/ingest_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace verge::devices;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  IngestLimits limits;
  limits.max_items = 64;
  limits.max_readings = 256;
  auto r = decode_ingest_json(text, size % 2 == 0 ? "dflt" : "", limits);
  if (!r) {
    if (r.error().message.empty()) std::abort();
    return 0;
  }
  const DecodedReadings& d = *r;
  if (d.errors.size() > d.rejected || d.errors.size() > DecodedReadings::kMaxErrors) std::abort();
  if (d.readings.size() > limits.max_readings) std::abort();
  for (const auto& nr : d.readings) {
    if (nr.device.empty() || nr.point.empty() || nr.ts_ms < 0) std::abort();
    if (nr.value.is_null()) {
      if (nr.quality == Quality::Good) std::abort();
    } else if (!(nr.value.is_number() || nr.value.is_bool() || nr.value.is_string())) {
      std::abort();
    }
  }
  return 0;
}

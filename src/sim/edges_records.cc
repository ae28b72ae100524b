#include "sim/edges_records.h"

#include <cmath>
#include <cstdio>

namespace verge::sim {

namespace {

// Milliseconds between two live records (the backlog uses the same spacing).
double spacing_ms(const RecordTimeline& t) { return t.rate > 0 ? 1000.0 / t.rate : 1000.0; }

}  // namespace

uint64_t records_due(const RecordTimeline& t, int64_t elapsed_ms) {
  if (elapsed_ms <= 0 || t.rate <= 0) return t.backlog;
  // +1: live record 0 is due at the start itself.
  return t.backlog +
         static_cast<uint64_t>(std::floor(static_cast<double>(elapsed_ms) * t.rate / 1000.0)) + 1;
}

int64_t record_ts(const RecordTimeline& t, uint64_t i) {
  const double offset = (static_cast<double>(i) - static_cast<double>(t.backlog)) * spacing_ms(t);
  return t.start_ms + static_cast<int64_t>(std::floor(offset));
}

std::string make_record(const RecordTimeline& t, uint64_t i) {
  const uint32_t devices = t.devices == 0 ? 1 : t.devices;
  const uint64_t device = i % devices;
  const uint64_t step = i / devices;  // the device's own reading number
  // A slow wave per device, rounded to 0.1 degree: neighbouring readings repeat their digits.
  const double temp = std::round((21.5 + 3.0 * std::sin(static_cast<double>(step) / 50.0 +
                                                        static_cast<double>(device))) *
                                 10.0) /
                      10.0;
  char buf[128];
  const int n = std::snprintf(buf, sizeof buf, R"({"device":"d%llu","ts":%lld,"temp":%.1f})",
                              static_cast<unsigned long long>(device),
                              static_cast<long long>(record_ts(t, i)), temp);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace verge::sim

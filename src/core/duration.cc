#include "core/duration.h"

#include <charconv>
#include <string>
#include <utility>

namespace verge {

namespace {

constexpr int64_t kMaxMs = 36500LL * 86'400'000;  // 100 years

Error bad(std::string_view text) {
  return Error{"expected a duration like 500ms, 10s, 5m, 2h or 1d, got '" + std::string(text) +
               "'"};
}

}  // namespace

Result<int64_t> parse_duration_ms(std::string_view text) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  int64_t scale = 1;
  std::string_view digits = text;
  for (const auto& [unit, ms] : kUnits) {
    // "ms" is tried before "m" and "s", so "5ms" is not read as 5 minutes.
    if (text.size() > unit.size() && text.ends_with(unit)) {
      scale = ms;
      digits = text.substr(0, text.size() - unit.size());
      break;
    }
  }
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      n > static_cast<uint64_t>(kMaxMs / scale)) {
    return unexpected(bad(text));
  }
  return static_cast<int64_t>(n) * scale;
}

Result<int64_t> duration_ms_from_value(const Value& v) {
  if (v.is_int()) {
    if (v.as_int() < 0 || v.as_int() > kMaxMs) return unexpected(bad(std::to_string(v.as_int())));
    return v.as_int();
  }
  if (v.is_string()) return parse_duration_ms(v.as_string());
  return unexpected(Error{"expected a duration like 500ms, 10s, 5m, 2h or 1d, got a " +
                          std::string(Value::type_name(v.type()))});
}

}  // namespace verge

#include "devices/point_value.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace verge::devices {

namespace {

struct IntRange {
  double lo, hi;
  const char* text;
};

std::optional<IntRange> int_range(DataType t) {
  switch (t) {
    case DataType::Int16:
      return IntRange{-32768.0, 32767.0, "-32768..32767"};
    case DataType::Uint16:
      return IntRange{0.0, 65535.0, "0..65535"};
    case DataType::Int32:
      return IntRange{-2147483648.0, 2147483647.0, "-2147483648..2147483647"};
    case DataType::Uint32:
      return IntRange{0.0, 4294967295.0, "0..4294967295"};
    case DataType::Int64:
      // Doubles above 2^63 do not fit; the bounds are the doubles that do.
      return IntRange{-9223372036854775808.0, 9223372036854774784.0, "a 64-bit integer"};
    default:
      return std::nullopt;
  }
}

// Through a named Value: GCC 12 with sanitizers warns (falsely) that the string alternative
// may be uninitialized when a temporary Value of a scalar is moved into a Result.
template <typename T>
Result<Value> as_result(T scalar) {
  const Value out(scalar);
  return out;
}

Unexpected<Error> wrong(const PointSpec& p, const std::string& expected, const Value& v) {
  return unexpected(
      Error{std::string("expected ") + data_type_name(p.type) + expected + ", got " + v.to_json()});
}

// Digits after the point of a double's shortest text ("1e-05" -> 5, "2.5e-07" -> 8).
int decimals_of(double x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  if (r.ec != std::errc()) return 0;
  const std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e = text.find_first_of("eE");
  const std::string_view mantissa = text.substr(0, e);
  const size_t dot = mantissa.find('.');
  int digits = dot == std::string_view::npos ? 0 : static_cast<int>(mantissa.size() - dot - 1);
  if (e != std::string_view::npos) digits -= std::atoi(std::string(text.substr(e + 1)).c_str());
  return std::max(digits, 0);
}

}  // namespace

int calibration_decimals(const Calibration& cal) {
  return std::min(std::max(decimals_of(cal.scale), decimals_of(cal.offset)), 12);
}

double float32_as_shown(double v) {
  if (!std::isfinite(v) || std::fabs(v) > FLT_MAX) return v;
  char buf[64];
  auto w = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v));
  if (w.ec != std::errc()) return v;
  double out = v;
  auto r = std::from_chars(buf, w.ptr, out);
  return r.ec == std::errc() ? out : v;
}

Value raw_to_engineering(const Value& raw, const Calibration& cal, int decimals, bool float32) {
  const bool identity = cal.scale == 1.0 && cal.offset == 0.0;
  if (raw.is_float()) {
    const double f = float32 ? float32_as_shown(raw.as_float()) : raw.as_float();
    return identity ? Value(f) : Value(f * cal.scale + cal.offset);
  }
  if (identity || !raw.is_int()) return raw;
  const double x = static_cast<double>(raw.as_int()) * cal.scale + cal.offset;
  if (decimals < 0 || !std::isfinite(x)) return x;
  // n / 10^d with n and 10^d exact doubles is the double nearest the decimal n / 10^d.
  static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3,  1e4,  1e5, 1e6,
                                      1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
  const double p = kPow10[std::min(decimals, 12)];
  const double n = std::round(x * p);
  if (std::fabs(n) >= 9007199254740992.0) return x;  // 2^53: n would not be exact
  return n / p;
}

Result<Value> to_point_type(const PointSpec& point, const Value& v) {
  switch (point.type) {
    case DataType::Bool:
      if (v.is_bool()) return v;
      if (v.is_int() && (v.as_int() == 0 || v.as_int() == 1)) return as_result(v.as_int() == 1);
      return wrong(point, " (true, false, 0 or 1)", v);
    case DataType::String:
      if (!v.is_string()) return wrong(point, "", v);
      if (v.as_string().size() > point.length) {
        return unexpected(
            Error{"string longer than the point's " + std::to_string(point.length) + " bytes"});
      }
      return v;
    case DataType::Float32:
    case DataType::Float64: {
      auto n = v.number();
      if (!n || !std::isfinite(*n)) return wrong(point, " (a number)", v);
      if (point.type == DataType::Float32 && std::fabs(*n) > FLT_MAX) {
        return wrong(point, " (within float32 range)", v);
      }
      return as_result(*n);
    }
    default:
      break;
  }
  const IntRange range = *int_range(point.type);
  const std::string expected = std::string(" (") + range.text + ")";
  if (v.is_int()) {
    const int64_t i = v.as_int();
    if (point.type != DataType::Int64 &&
        (static_cast<double>(i) < range.lo || static_cast<double>(i) > range.hi)) {
      return wrong(point, expected, v);
    }
    return v;
  }
  if (v.is_float()) {
    const double d = v.as_float();
    if (!std::isfinite(d) || d != std::floor(d) || d < range.lo || d > range.hi) {
      return wrong(point, expected, v);
    }
    return as_result(static_cast<int64_t>(d));
  }
  if (v.is_bool()) return as_result(int64_t{v.as_bool() ? 1 : 0});
  return wrong(point, expected, v);
}

Result<Value> engineering_to_raw(const PointSpec& point, const Calibration& cal, const Value& v) {
  if (point.type == DataType::Bool || point.type == DataType::String) {
    return to_point_type(point, v);
  }
  auto n = v.number();
  if (!n || !std::isfinite(*n)) {
    return unexpected(Error{std::string("expected a number for ") + data_type_name(point.type) +
                            ", got " + v.to_json()});
  }
  if (cal.scale == 1.0 && cal.offset == 0.0 && v.is_int()) return to_point_type(point, v);
  double raw = (*n - cal.offset) / cal.scale;
  if (int_range(point.type)) raw = std::round(raw);
  auto out = to_point_type(point, Value(raw));
  if (!out && (cal.scale != 1.0 || cal.offset != 0.0)) {
    return unexpected(Error{out.error().message + " (raw value of " + v.to_json() + ")"});
  }
  return out;
}

}  // namespace verge::devices

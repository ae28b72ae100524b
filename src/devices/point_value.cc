#include "devices/point_value.h"

#include <cfloat>
#include <cmath>
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

}  // namespace

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

// Values crossing the device boundary: a pushed or desired value converted to a point's type,
// and calibration applied (readings) or undone (writes).
#pragma once

#include "core/result.h"
#include "core/value.h"
#include "devices/types.h"

namespace verge::devices {

// `v` as a raw value of the point's type: bool (true/false, 0/1), integers (a float must be
// whole) in the type's range, floats, strings up to the point's length. The error says why, e.g.
// "expected int16 (-32768..32767), got 40000".
Result<Value> to_point_type(const PointSpec& point, const Value& v);

// Engineering value -> raw: calibration undone, (v - offset) / scale, rounded for integer types,
// then to_point_type.
Result<Value> engineering_to_raw(const PointSpec& point, const Calibration& cal, const Value& v);

// Raw -> engineering: raw * scale + offset as a float, or the raw value itself when the
// calibration is the identity (integers stay integers) or the value is not a number.
inline Value raw_to_engineering(const Value& raw, const Calibration& cal) {
  if (cal.scale == 1.0 && cal.offset == 0.0) return raw;
  if (raw.is_int()) return static_cast<double>(raw.as_int()) * cal.scale + cal.offset;
  if (raw.is_float()) return raw.as_float() * cal.scale + cal.offset;
  return raw;
}

}  // namespace verge::devices

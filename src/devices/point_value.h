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

// Digits after the point in the shortest text of the calibration's scale and offset (the more of
// the two, at most 12): 0.1 -> 1, 0.25 -> 2, 1e-05 -> 5.
int calibration_decimals(const Calibration& cal);

// A float32 register value as the double nearest its shortest decimal text (1.4970756, not
// 1.4970755577087402): what a person reads, and it compresses better in the time-series store.
double float32_as_shown(double v);

// Raw -> engineering: raw * scale + offset as a float, or the raw value itself when the
// calibration is the identity (integers stay integers) or the value is not a number. An integer
// raw value is rounded to `decimals` (calibration_decimals; negative: not rounded), so raw 174 x
// 0.1 is 17.4 rather than 17.400000000000002; a `float32` point's value goes through
// float32_as_shown first.
Value raw_to_engineering(const Value& raw, const Calibration& cal, int decimals = -1,
                         bool float32 = false);

}  // namespace verge::devices

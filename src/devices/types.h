// The point model shared by every adapter: what a profile says about a device type, what a
// device instance adds, and what a reading carries (docs/devices.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"

namespace verge::devices {

enum class DataType : uint8_t {
  Bool,
  Int16,
  Uint16,
  Int32,
  Uint32,
  Int64,
  Float32,
  Float64,
  String
};
std::optional<DataType> parse_data_type(std::string_view s);  // "bool", "int16", ... "string"
const char* data_type_name(DataType t);

enum class Access : uint8_t { Read, Write, ReadWrite };
std::optional<Access> parse_access(std::string_view s);  // "r", "w", "rw"
const char* access_name(Access a);

enum class Quality : uint8_t { Good, Uncertain, Bad };
const char* quality_name(Quality q);  // "good", "uncertain", "bad"

// One point of a device type.
struct PointSpec {
  std::string name;     // [A-Za-z0-9_.-], 1..64; unique in the profile
  std::string address;  // adapter-specific syntax (docs/devices.md, per adapter)
  DataType type = DataType::Float32;
  // Word layout of multi-register values. ABCD is big-endian (Modbus' default); `byte_swap`
  // swaps the two bytes of each 16-bit word (BADC), `word_swap` reverses the word order (CDAB);
  // both give DCBA. "order" in YAML.
  bool byte_swap = false;
  bool word_swap = false;
  uint16_t length = 0;  // string: bytes (Modbus: two per register); 0 for other types
  double scale = 1.0;   // engineering value = raw * scale + offset (numbers only)
  double offset = 0.0;
  std::string unit;  // free text ("degC", "kW")
  Access access = Access::Read;
  int64_t poll_ms = 0;    // 0 = the profile's (or device's) poll interval
  double deadband = 0.0;  // report a numeric change only when |new - last reported| > deadband
  bool report_on_change = true;  // false: every poll is reported, changed or not
};

// A device type: its protocol and its points.
struct Profile {
  std::string name;      // [A-Za-z0-9_.-], 1..64
  std::string protocol;  // an adapter's name: "modbus-tcp", "modbus-rtu", "mqtt", "http", "coap"
  std::string description;
  int64_t poll_ms = 1000;  // default poll interval of the profile's points (polling adapters)
  std::vector<PointSpec> points;
  Value source;  // the document it was parsed from (for REST GET and persistence)
};

struct Calibration {
  double scale = 1.0;
  double offset = 0.0;
};

// One device: a profile plus its own connection and overrides.
struct DeviceSpec {
  std::string id;  // [A-Za-z0-9_.-], 1..64; unique on the node; used in bus topics
  std::string profile;
  Value connection;     // adapter-specific object (host, port, unit, serial line, topics ...)
  int64_t poll_ms = 0;  // 0 = the profile's
  // Replaces the profile's scale and offset of the named points (this unit's calibration).
  std::vector<std::pair<std::string, Calibration>> calibration;
  bool history = true;  // readings go to the time-series store as series "<id>/<point>"
  bool enabled = true;  // false: declared but not polled
  Value labels;         // free key/value object, shown by the API
  Value source;         // the document it was parsed from
};

// One reading of one point, as an adapter delivers it to its DeviceSink.
struct Reading {
  uint32_t point = 0;  // index into the profile's points
  Value value;         // raw: of the point's type (bool, int, float, string), before scale/offset
  int64_t ts_ms = 0;   // source timestamp: the device's own if it sends one, else when received
  Quality quality = Quality::Good;
  std::string reason;  // why uncertain or bad ("exception 2: illegal data address", "timeout")
};

}  // namespace verge::devices

// One MQTT message of a device's topic turned into Readings of the points mapped to that topic.
// Pure (no I/O), so it runs on the broker thread that delivers the message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/value.h"
#include "devices/adapters/mqtt/json_path.h"
#include "devices/types.h"

namespace verge::devices {

// The points of a profile read from one topic.
struct TopicPoints {
  std::string topic;                                  // expanded: {device} replaced
  std::vector<std::pair<uint32_t, JsonPath>> points;  // point index, path in the payload
};

struct MqttDecodeStats {
  bool bad_payload = false;  // not JSON, and some point wanted a path into it
  uint32_t bad_values = 0;   // values that did not fit their point's type
  bool bad_ts = false;       // the payload's timestamp was out of range (receipt time used)
};

// A JSON value as a raw value of the point's type. Beyond the manager's to_point_type, numbers
// and booleans sent as strings ("21.5", "true") are read as such, and a string point takes any
// scalar as its text (devices publish what they like).
Result<Value> mqtt_value_to_point(const PointSpec& point, const Value& v);

// Readings of the topic's points found in `payload` (missing ones are not reported). A payload
// that is not JSON is the value itself as text for points without a path; points with a path get
// a bad reading. The timestamp is `ts_path` in the payload when present, else `now_ms`. A
// timestamp before 2000-01-01 or more than 1 day after `now_ms` (a unit mistake) is replaced by
// `now_ms` and the readings become uncertain with the reason "device timestamp out of range".
std::vector<Reading> decode_mqtt_message(const Profile& profile, const TopicPoints& topic,
                                         const std::optional<JsonPath>& ts_path,
                                         std::string_view payload, int64_t now_ms,
                                         MqttDecodeStats& stats);

}  // namespace verge::devices

// What an MQTT device's profile and connection say: point addresses "<topic>#<json path>" and
// the connection keys (ts_path, command_topic, command_format, offline_after).
// docs/devices/ingest.md, "MQTT devices".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/value.h"
#include "devices/adapters/mqtt/json_path.h"

namespace verge::devices {

// "sensors/{device}/state#main.temp": the topic template and the path in its JSON payload
// (empty: the whole payload is the value).
struct MqttAddress {
  std::string topic;  // a template: {device} is replaced by the device id
  JsonPath path;
};
Result<MqttAddress> parse_mqtt_address(std::string_view address);

// Checks a topic template: not empty, no wildcards (+ #), no NUL, and only the placeholders
// named in `allowed` ("device", "point").
Result<void> check_topic_template(std::string_view topic,
                                  std::initializer_list<std::string_view> allowed);
// Replaces {device} and {point}.
std::string expand_topic(std::string_view topic, std::string_view device, std::string_view point);

enum class CommandFormat : uint8_t { Json, Raw };

struct MqttConnection {
  std::optional<JsonPath> ts_path;  // milliseconds (or an RFC 3339 string) in the payload
  std::string command_topic;        // empty: points cannot be written
  CommandFormat command_format = CommandFormat::Json;
  int64_t offline_after_ms = 0;  // 0: never offline for silence
};
// Strict: unknown keys are errors ("command_format: expected json or raw").
Result<MqttConnection> parse_mqtt_connection(const Value& connection);

}  // namespace verge::devices

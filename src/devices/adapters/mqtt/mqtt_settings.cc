#include "devices/adapters/mqtt/mqtt_settings.h"

#include <utility>

#include "core/duration.h"

namespace verge::devices {

Result<void> check_topic_template(std::string_view topic,
                                  std::initializer_list<std::string_view> allowed) {
  if (topic.empty()) return unexpected(Error{"empty topic"});
  if (topic.size() > 1024) return unexpected(Error{"topic over 1024 bytes"});
  for (size_t i = 0; i < topic.size(); ++i) {
    const char c = topic[i];
    if (c == '+' || c == '#') {
      return unexpected(Error{"topic '" + std::string(topic) +
                              "' holds a wildcard (a device's topics are exact)"});
    }
    if (c == '\0') return unexpected(Error{"topic holds a NUL byte"});
    if (c == '}') return unexpected(Error{"topic has a '}' without '{'"});
    if (c != '{') continue;
    const size_t close = topic.find('}', i);
    if (close == std::string_view::npos) return unexpected(Error{"topic has a '{' without '}'"});
    const std::string_view name = topic.substr(i + 1, close - i - 1);
    bool known = false;
    std::string names;
    for (std::string_view a : allowed) {
      known = known || a == name;
      names += names.empty() ? "{" : ", {";
      names += a;
      names += "}";
    }
    if (!known) {
      return unexpected(Error{"unknown placeholder '{" + std::string(name) + "}' (" + names + ")"});
    }
    i = close;
  }
  return {};
}

std::string expand_topic(std::string_view topic, std::string_view device, std::string_view point) {
  std::string out;
  out.reserve(topic.size() + device.size());
  for (size_t i = 0; i < topic.size(); ++i) {
    if (topic.substr(i, 8) == "{device}") {
      out += device;
      i += 7;
    } else if (topic.substr(i, 7) == "{point}") {
      out += point;
      i += 6;
    } else {
      out += topic[i];
    }
  }
  return out;
}

Result<MqttAddress> parse_mqtt_address(std::string_view address) {
  const size_t hash = address.find('#');
  const std::string_view topic = address.substr(0, hash);
  if (auto ok = check_topic_template(topic, {"device"}); !ok) {
    return unexpected(
        Error{"address: " + ok.error().message +
              " (expected <topic>#<json path>, e.g. sensors/{device}/state#main.temp)"});
  }
  MqttAddress a;
  a.topic = std::string(topic);
  if (hash != std::string_view::npos) {
    auto path = JsonPath::parse(address.substr(hash + 1));
    if (!path) return unexpected(Error{"address: " + path.error().message});
    a.path = std::move(*path);
  }
  return a;
}

Result<MqttConnection> parse_mqtt_connection(const Value& connection) {
  MqttConnection c;
  if (connection.is_null()) return c;
  if (!connection.is_object()) return unexpected(Error{"connection: expected an object"});
  for (const auto& [key, v] : connection.as_object()) {
    if (key == "ts_path") {
      if (!v.is_string()) return unexpected(Error{"ts_path: expected a JSON path string"});
      auto p = JsonPath::parse(v.as_string());
      if (!p) return unexpected(Error{"ts_path: " + p.error().message});
      if (p->empty()) return unexpected(Error{"ts_path: empty path"});
      c.ts_path = std::move(*p);
    } else if (key == "command_topic") {
      if (!v.is_string()) return unexpected(Error{"command_topic: expected a topic string"});
      if (auto ok = check_topic_template(v.as_string(), {"device", "point"}); !ok) {
        return unexpected(Error{"command_topic: " + ok.error().message});
      }
      c.command_topic = v.as_string();
    } else if (key == "command_format") {
      if (v.is_string() && v.as_string() == "json") {
        c.command_format = CommandFormat::Json;
      } else if (v.is_string() && v.as_string() == "raw") {
        c.command_format = CommandFormat::Raw;
      } else {
        return unexpected(Error{"command_format: expected json or raw"});
      }
    } else if (key == "offline_after") {
      auto ms = duration_ms_from_value(v);
      if (!ms) return unexpected(Error{"offline_after: " + ms.error().message});
      if (*ms <= 0) return unexpected(Error{"offline_after: expected a duration above 0"});
      c.offline_after_ms = *ms;
    } else {
      return unexpected(
          Error{key + ": unknown key (ts_path, command_topic, command_format, offline_after)"});
    }
  }
  return c;
}

}  // namespace verge::devices

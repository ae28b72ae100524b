#include "devices/adapters/mqtt/mqtt_decode.h"

#include <cmath>
#include <utility>

#include "devices/adapters/http/decoded.h"  // the pushed timestamp bounds
#include "devices/point_value.h"
#include "rules/functions_internal.h"  // to_datetime_ms: the rule engine's RFC 3339 reader

namespace verge::devices {
namespace {

constexpr size_t kMaxDepth = 32;

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<int64_t> timestamp_ms(const Value& v) {
  if (v.is_float()) {
    if (!std::isfinite(v.as_float()) || v.as_float() < 0 || v.as_float() > 9.2e18) {
      return std::nullopt;
    }
    return static_cast<int64_t>(std::llround(v.as_float()));
  }
  auto t = rules::fn::to_datetime_ms(v);
  if (!t || *t < 0) return std::nullopt;
  return t;
}

}  // namespace

Result<Value> mqtt_value_to_point(const PointSpec& point, const Value& v) {
  if (point.type == DataType::String) {
    std::string text = v.is_string() ? v.as_string() : v.to_json();
    if (point.length > 0 && text.size() > point.length) {
      return unexpected(
          Error{"string longer than the point's " + std::to_string(point.length) + " bytes"});
    }
    return Value(std::move(text));
  }
  if (v.is_string()) {
    // "21.5" or "true" in a string: read the JSON scalar inside.
    auto inner = parse_json(trim(v.as_string()), 1);
    if (inner && (inner->is_number() || inner->is_bool())) return to_point_type(point, *inner);
  }
  return to_point_type(point, v);
}

std::vector<Reading> decode_mqtt_message(const Profile& profile, const TopicPoints& topic,
                                         const std::optional<JsonPath>& ts_path,
                                         std::string_view payload, int64_t now_ms,
                                         MqttDecodeStats& stats) {
  std::vector<Reading> out;
  auto doc = parse_json(payload, kMaxDepth);
  int64_t ts = now_ms;
  // A device clock in the wrong unit would put the point far in the future, where the store
  // would take it as its newest and refuse every later reading; the value is still worth having,
  // so it keeps the receipt time and is marked uncertain instead of being dropped.
  bool ts_out_of_range = false;
  if (doc && ts_path) {
    if (const Value* t = ts_path->find(*doc)) {
      if (auto ms = timestamp_ms(*t)) {
        if (pushed_ts_error(*ms, now_ms, "", "")) {
          ts_out_of_range = true;
          stats.bad_ts = true;
        } else {
          ts = *ms;
        }
      }
    }
  }
  // Not JSON: the payload as text is the value of whole-payload points ("21.5" parsed already,
  // so this is "on", "OK" and the like).
  const Value text = doc ? Value() : Value(std::string(trim(payload)));
  for (const auto& [index, path] : topic.points) {
    const PointSpec& spec = profile.points[index];
    Reading r;
    r.point = index;
    r.ts_ms = ts;
    if (!doc && !path.empty()) {
      stats.bad_payload = true;
      r.quality = Quality::Bad;
      r.reason = "payload is not JSON: " + doc.error().message + " at offset " +
                 std::to_string(doc.error().offset);
      out.push_back(std::move(r));
      continue;
    }
    const Value* v = doc ? path.find(*doc) : &text;
    if (v == nullptr || v->is_null()) continue;  // not in this message
    auto raw = mqtt_value_to_point(spec, *v);
    if (raw) {
      r.value = std::move(*raw);
      if (ts_out_of_range) {
        r.quality = Quality::Uncertain;
        r.reason = "device timestamp out of range";
      }
    } else {
      ++stats.bad_values;
      r.quality = Quality::Bad;
      r.reason = raw.error().message;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace verge::devices

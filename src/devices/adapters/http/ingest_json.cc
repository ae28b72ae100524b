#include "devices/adapters/http/ingest_json.h"

#include <optional>
#include <string>
#include <utility>

#include "rules/functions_internal.h"  // to_datetime_ms: the rule engine's RFC 3339 reader

namespace verge::devices {
namespace {

// Items nest at most array > item > quality > point: anything deeper is not a sample.
constexpr size_t kMaxDepth = 8;

struct QualityInfo {
  Quality quality = Quality::Good;
  std::string reason;
};

std::optional<Quality> quality_from_name(std::string_view s) {
  if (s == "good") return Quality::Good;
  if (s == "uncertain") return Quality::Uncertain;
  if (s == "bad") return Quality::Bad;
  return std::nullopt;
}

// "uncertain" or {"quality":"bad","reason":"..."}.
Result<QualityInfo> parse_quality(const Value& v) {
  constexpr const char* kExpected =
      "expected \"good\", \"uncertain\", \"bad\" or {\"quality\": ..., \"reason\": ...}";
  QualityInfo q;
  if (v.is_string()) {
    auto parsed = quality_from_name(v.as_string());
    if (!parsed) return unexpected(Error{kExpected});
    q.quality = *parsed;
    return q;
  }
  if (!v.is_object()) return unexpected(Error{kExpected});
  bool have_quality = false;
  for (const auto& [key, member] : v.as_object()) {
    if (key == "quality") {
      auto parsed = member.is_string() ? quality_from_name(member.as_string()) : std::nullopt;
      if (!parsed) return unexpected(Error{std::string("quality: ") + kExpected});
      q.quality = *parsed;
      have_quality = true;
    } else if (key == "reason") {
      if (!member.is_string()) return unexpected(Error{"reason: expected a string"});
      q.reason = member.as_string();
    } else {
      return unexpected(Error{"unknown key '" + key + "' (quality, reason)"});
    }
  }
  if (!have_quality) return unexpected(Error{"quality: missing"});
  return q;
}

// Integer milliseconds since the epoch or an RFC 3339 string; absent = 0 (when received).
// Within 2000-01-01 .. now + 1 day (see pushed_ts_error).
Result<int64_t> parse_ts(const Value& v, int64_t now_ms) {
  std::optional<int64_t> ms;
  if (v.is_int()) ms = v.as_int();
  if (v.is_string()) ms = rules::fn::to_datetime_ms(v);
  if (!ms || *ms < 0) {
    return unexpected(
        Error{"expected integer milliseconds since 1970 or an RFC 3339 time like "
              "\"2026-11-21T10:00:00.123Z\""});
  }
  auto e = v.is_string() ? pushed_ts_error(*ms, now_ms, v.as_string(), "")
                         : pushed_ts_error(*ms, now_ms, std::to_string(*ms), "; is it in ms?");
  if (e) {
    return unexpected(Error{std::move(*e)});
  }
  return *ms;
}

bool is_scalar(const Value& v) { return v.is_number() || v.is_bool() || v.is_string(); }

class Decoder {
 public:
  Decoder(std::string_view default_device, const IngestLimits& limits, DecodedReadings& out)
      : default_device_(default_device),
        limits_(limits),
        now_ms_(pushed_ts_now_ms(limits.now_ms)),
        out_(out) {}

  void item(const Value& v, const std::string& path) {
    const std::string prefix = path.empty() ? "" : path + ".";
    const std::string at = path.empty() ? "body" : path;
    if (!v.is_object()) {
      out_.reject(at + ": expected an object");
      return;
    }
    const Value* values = v.find("values");
    const Value* point = v.find("point");
    if (values != nullptr && point != nullptr) {
      out_.reject(at + ": either \"values\" (device form) or \"point\" (point form), not both");
      return;
    }
    if (values == nullptr && point == nullptr) {
      out_.reject(at +
                  ": expected \"values\" (device form) or \"point\" and \"value\" (point form)");
      return;
    }
    Common common;
    if (!read_common(v, prefix, at, values != nullptr, common)) return;
    if (values != nullptr) {
      device_form(v, *values, prefix, common);
    } else {
      point_form(v, *point, prefix, common);
    }
  }

 private:
  struct Common {
    std::string device;
    int64_t ts_ms = 0;
  };

  bool read_common(const Value& v, const std::string& prefix, const std::string& at,
                   bool device_form, Common& c) {
    for (const auto& [key, member] : v.as_object()) {
      const bool known =
          key == "device" || key == "ts" || key == "quality" ||
          (device_form ? key == "values" : (key == "point" || key == "value" || key == "reason"));
      if (!known) {
        out_.reject(prefix + key + ": unknown key (" +
                    (device_form ? "device, ts, values, quality"
                                 : "device, point, value, ts, quality, reason") +
                    ")");
        return false;
      }
    }
    if (const Value* d = v.find("device")) {
      if (!d->is_string() || d->as_string().empty()) {
        out_.reject(prefix + "device: expected a non-empty string");
        return false;
      }
      c.device = d->as_string();
    } else if (!default_device_.empty()) {
      c.device = std::string(default_device_);
    } else {
      out_.reject(at + ": \"device\" missing");
      return false;
    }
    if (const Value* ts = v.find("ts"); ts != nullptr && !ts->is_null()) {
      auto t = parse_ts(*ts, now_ms_);
      if (!t) {
        out_.reject(prefix + "ts: " + t.error().message);
        return false;
      }
      c.ts_ms = *t;
    }
    return true;
  }

  void device_form(const Value& item, const Value& values, const std::string& prefix,
                   const Common& c) {
    if (!values.is_object()) {
      out_.reject(prefix + "values: expected an object of point: value");
      return;
    }
    const Value* quality = item.find("quality");
    if (quality != nullptr && !quality->is_object()) {
      out_.reject(prefix + "quality: expected an object of point: quality");
      return;
    }
    // Points named only in "quality" are readings without a value (a bad sensor).
    if (quality != nullptr) {
      for (const auto& [name, q] : quality->as_object()) {
        if (values.find(name) == nullptr) {
          add(c, name, Value(), &q, prefix + "quality." + name, prefix + "values." + name);
        }
      }
    }
    for (const auto& [name, value] : values.as_object()) {
      const Value* q = quality != nullptr ? quality->find(name) : nullptr;
      add(c, name, value, q, prefix + "quality." + name, prefix + "values." + name);
    }
  }

  void point_form(const Value& item, const Value& point, const std::string& prefix,
                  const Common& c) {
    if (!point.is_string() || point.as_string().empty()) {
      out_.reject(prefix + "point: expected a non-empty string");
      return;
    }
    const Value* value = item.find("value");
    const Value* quality = item.find("quality");
    const Value* reason = item.find("reason");
    if (reason != nullptr && !reason->is_string()) {
      out_.reject(prefix + "reason: expected a string");
      return;
    }
    // The point form's quality is a bare name with a sibling "reason": fold them into one.
    Value q_obj;
    if (quality != nullptr) {
      ValueObject o{{"quality", *quality}};
      if (reason != nullptr) o.emplace_back("reason", *reason);
      q_obj = Value(std::move(o));
    }
    add(c, point.as_string(), value != nullptr ? *value : Value(),
        quality != nullptr ? &q_obj : nullptr, prefix + "quality", prefix + "value");
  }

  void add(const Common& c, const std::string& point, const Value& value, const Value* quality,
           const std::string& quality_path, const std::string& value_path) {
    if (point.empty()) {
      out_.reject(value_path + ": empty point name");
      return;
    }
    NamedReading r;
    if (quality != nullptr) {
      auto q = parse_quality(*quality);
      if (!q) {
        out_.reject(quality_path + ": " + q.error().message);
        return;
      }
      r.quality = q->quality;
      r.reason = std::move(q->reason);
    }
    // Only a bad reading may come without a value: it reports the failure. An uncertain one
    // is still a measurement, and without a value it would reach history as a made-up 0.
    if (value.is_null() && r.quality == Quality::Uncertain) {
      out_.reject(quality_path + ": an uncertain reading needs a value");
      return;
    }
    if (value.is_null() && r.quality == Quality::Good) {
      out_.reject(value_path + ": missing (only a bad reading may omit its value)");
      return;
    }
    if (!value.is_null() && !is_scalar(value)) {
      out_.reject(value_path + ": expected a number, bool or string");
      return;
    }
    if (out_.readings.size() >= limits_.max_readings) {
      out_.reject(value_path + ": over the limit of " + std::to_string(limits_.max_readings) +
                  " readings per body");
      return;
    }
    r.device = c.device;
    r.point = point;
    r.value = value;
    r.ts_ms = c.ts_ms;
    out_.readings.push_back(std::move(r));
  }

  std::string_view default_device_;
  const IngestLimits& limits_;
  int64_t now_ms_;  // read once per body, for the timestamp bounds
  DecodedReadings& out_;
};

}  // namespace

Result<DecodedReadings> decode_ingest_json(std::string_view body, std::string_view default_device,
                                           const IngestLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return unexpected(Error{"body of " + std::to_string(body.size()) +
                            " bytes is over the limit of " +
                            std::to_string(limits.max_body_bytes)});
  }
  auto doc = parse_json(body, kMaxDepth);
  if (!doc) {
    return unexpected(Error{"bad JSON at offset " + std::to_string(doc.error().offset) + ": " +
                            doc.error().message});
  }
  DecodedReadings out;
  Decoder decoder(default_device, limits, out);
  if (doc->is_object()) {
    decoder.item(*doc, "");
  } else if (doc->is_array()) {
    const ValueArray& items = doc->as_array();
    if (items.size() > limits.max_items) {
      return unexpected(Error{std::to_string(items.size()) + " items are over the limit of " +
                              std::to_string(limits.max_items)});
    }
    for (size_t i = 0; i < items.size(); ++i) decoder.item(items[i], "[" + std::to_string(i) + "]");
  } else {
    return unexpected(Error{"expected an object or an array of objects"});
  }
  return out;
}

}  // namespace verge::devices

#include "devices/profile.h"

#include <cmath>
#include <initializer_list>
#include <set>
#include <string>

#include "core/duration.h"

namespace verge::devices {

namespace {

Unexpected<Error> fail(const std::string& path, const std::string& msg) {
  return unexpected(Error{path + ": " + msg});
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// `prefix` + key: "points[2]." + "type"; the top level has no prefix.
std::string field(const std::string& prefix, std::string_view key) {
  return prefix + std::string(key);
}

Result<void> only_keys(const Value& obj, const std::string& prefix,
                       std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : obj.as_object()) {
    bool ok = false;
    for (auto name : known) ok = ok || name == k;
    if (!ok) return fail(field(prefix, k), "unknown key (" + join(known) + ")");
  }
  return {};
}

Result<std::string> name_of(const Value& obj, const std::string& prefix, std::string_view key,
                            bool required) {
  const Value* v = obj.find(key);
  if (v == nullptr || v->is_null()) {
    if (required) return fail(field(prefix, key), "missing");
    return std::string();
  }
  if (!v->is_string() || !valid_name(v->as_string())) {
    return fail(field(prefix, key), "expected 1..64 of A-Z a-z 0-9 _ . -, got " + v->to_json());
  }
  return v->as_string();
}

Result<std::string> text_of(const Value& obj, const std::string& prefix, std::string_view key) {
  const Value* v = obj.find(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) return fail(field(prefix, key), "expected a string, got " + v->to_json());
  return v->as_string();
}

Result<double> number_of(const Value& obj, const std::string& prefix, std::string_view key,
                         double fallback) {
  const Value* v = obj.find(key);
  if (v == nullptr || v->is_null()) return fallback;
  auto n = v->number();
  if (!n || !std::isfinite(*n)) {
    return fail(field(prefix, key), "expected a number, got " + v->to_json());
  }
  return *n;
}

Result<bool> bool_of(const Value& obj, const std::string& prefix, std::string_view key,
                     bool fallback) {
  const Value* v = obj.find(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return fail(field(prefix, key), "expected true or false, got " + v->to_json());
  return v->as_bool();
}

// A poll interval: 0 (not set) or 10 ms .. 1 day.
Result<int64_t> poll_of(const Value& obj, const std::string& prefix, int64_t fallback) {
  const Value* v = obj.find("poll");
  if (v == nullptr || v->is_null()) return fallback;
  auto ms = duration_ms_from_value(*v);
  if (!ms) return fail(field(prefix, "poll"), ms.error().message);
  if (*ms < 10 || *ms > 86'400'000) return fail(field(prefix, "poll"), "expected 10ms..1d");
  return *ms;
}

// An adapter's message under a path: "port: expected 1..65535" becomes
// "connection.port: expected 1..65535"; a message not naming a field gets "connection: ".
std::string nested(const std::string& path, const std::string& msg) {
  const size_t colon = msg.find(": ");
  if (colon == std::string::npos || colon == 0) return path + ": " + msg;
  const std::string key = msg.substr(0, colon);
  return valid_name(key.substr(0, key.find('['))) ? path + "." + msg : path + ": " + msg;
}

bool is_64bit(DataType t) { return t == DataType::Int64 || t == DataType::Float64; }

// "order": which swaps turn the device's layout into big-endian.
Result<void> parse_order(const Value& v, const std::string& path, PointSpec& p) {
  struct Order {
    std::string_view name;
    bool byte_swap, word_swap, wide;
  };
  static constexpr Order kOrders[] = {
      {"ABCD", false, false, false},    {"CDAB", false, true, false},
      {"BADC", true, false, false},     {"DCBA", true, true, false},
      {"ABCDEFGH", false, false, true}, {"GHEFCDAB", false, true, true},
      {"BADCFEHG", true, false, true},  {"HGFEDCBA", true, true, true},
  };
  const bool wide = is_64bit(p.type);
  if (v.is_string()) {
    for (const auto& o : kOrders) {
      if (o.name == v.as_string() && (!o.wide || wide)) {
        p.byte_swap = o.byte_swap;
        p.word_swap = o.word_swap;
        return {};
      }
    }
  }
  std::string known = "ABCD, CDAB, BADC, DCBA";
  if (wide) known += ", ABCDEFGH, GHEFCDAB, BADCFEHG, HGFEDCBA";
  return fail(path, "unknown order " + (v.is_string() ? quoted(v.as_string()) : v.to_json()) +
                        " (" + known + ")");
}

Result<PointSpec> parse_point(const Value& doc, const std::string& prefix,
                              const AdapterFactory& factory) {
  const std::string where = prefix.substr(0, prefix.size() - 1);  // without the final '.'
  if (!doc.is_object()) return fail(where, "expected an object (name, address, type, ...)");
  if (auto r = only_keys(doc, prefix,
                         {"name", "address", "type", "order", "length", "scale", "offset", "unit",
                          "access", "poll", "deadband", "report"});
      !r) {
    return unexpected(r.error());
  }
  PointSpec p;
  auto name = name_of(doc, prefix, "name", true);
  if (!name) return unexpected(name.error());
  p.name = std::move(*name);
  auto address = text_of(doc, prefix, "address");
  if (!address) return unexpected(address.error());
  p.address = std::move(*address);

  const Value* type = doc.find("type");
  if (type != nullptr && !type->is_null()) {
    auto t = type->is_string() ? parse_data_type(type->as_string()) : std::nullopt;
    if (!t) {
      return fail(field(prefix, "type"),
                  "unknown type " +
                      (type->is_string() ? quoted(type->as_string()) : type->to_json()) +
                      " (bool, int16, uint16, int32, uint32, int64, float32, float64, string)");
    }
    p.type = *t;
  }
  if (const Value* order = doc.find("order"); order != nullptr && !order->is_null()) {
    if (auto r = parse_order(*order, field(prefix, "order"), p); !r) return unexpected(r.error());
  }
  const Value* length = doc.find("length");
  if (length != nullptr && !length->is_null()) {
    if (p.type != DataType::String) return fail(field(prefix, "length"), "only for type string");
    if (!length->is_int() || length->as_int() < 1 || length->as_int() > 250) {
      return fail(field(prefix, "length"), "expected 1..250 bytes, got " + length->to_json());
    }
    p.length = static_cast<uint16_t>(length->as_int());
  } else if (p.type == DataType::String) {
    return fail(field(prefix, "length"), "missing (a string point needs its length in bytes)");
  }
  auto scale = number_of(doc, prefix, "scale", 1.0);
  if (!scale) return unexpected(scale.error());
  if (*scale == 0) return fail(field(prefix, "scale"), "must not be 0");
  auto offset = number_of(doc, prefix, "offset", 0.0);
  if (!offset) return unexpected(offset.error());
  const bool numeric = p.type != DataType::Bool && p.type != DataType::String;
  if (!numeric && (*scale != 1.0 || *offset != 0.0)) {
    return fail(field(prefix, doc.find("scale") != nullptr ? "scale" : "offset"),
                std::string("not for type ") + data_type_name(p.type));
  }
  p.scale = *scale;
  p.offset = *offset;
  auto unit = text_of(doc, prefix, "unit");
  if (!unit) return unexpected(unit.error());
  p.unit = std::move(*unit);
  if (const Value* access = doc.find("access"); access != nullptr && !access->is_null()) {
    auto a = access->is_string() ? parse_access(access->as_string()) : std::nullopt;
    if (!a) return fail(field(prefix, "access"), "expected r, w or rw, got " + access->to_json());
    p.access = *a;
  }
  auto poll = poll_of(doc, prefix, 0);
  if (!poll) return unexpected(poll.error());
  if (*poll != 0 && !factory.polls()) {
    return fail(field(prefix, "poll"),
                "protocol " + quoted(factory.protocol()) + " does not poll (its devices push)");
  }
  p.poll_ms = *poll;
  auto deadband = number_of(doc, prefix, "deadband", 0.0);
  if (!deadband) return unexpected(deadband.error());
  if (*deadband < 0) return fail(field(prefix, "deadband"), "must be >= 0");
  if (*deadband > 0 && !numeric) {
    return fail(field(prefix, "deadband"), std::string("not for type ") + data_type_name(p.type));
  }
  p.deadband = *deadband;
  if (const Value* report = doc.find("report"); report != nullptr && !report->is_null()) {
    if (report->is_string() && report->as_string() == "change") {
      p.report_on_change = true;
    } else if (report->is_string() && report->as_string() == "always") {
      p.report_on_change = false;
    } else {
      return fail(field(prefix, "report"), "expected change or always, got " + report->to_json());
    }
  }
  if (auto r = factory.check_point(p); !r) {
    return unexpected(Error{nested(where, r.error().message)});
  }
  return p;
}

}  // namespace

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<Profile> parse_profile(const Value& doc, const AdapterRegistry& adapters) {
  if (!doc.is_object()) {
    return unexpected(Error{"expected a profile object (name, protocol, poll, points)"});
  }
  if (auto r = only_keys(doc, "", {"name", "protocol", "description", "poll", "points"}); !r) {
    return unexpected(r.error());
  }
  Profile p;
  auto name = name_of(doc, "", "name", true);
  if (!name) return unexpected(name.error());
  p.name = std::move(*name);
  const Value* protocol = doc.find("protocol");
  if (protocol == nullptr || protocol->is_null()) return fail("protocol", "missing");
  const AdapterFactory* factory =
      protocol->is_string() ? adapters.find(protocol->as_string()) : nullptr;
  if (factory == nullptr) {
    return fail("protocol",
                "unknown protocol " +
                    (protocol->is_string() ? quoted(protocol->as_string()) : protocol->to_json()) +
                    " (" + join(adapters.protocols()) + ")");
  }
  p.protocol = protocol->as_string();
  auto description = text_of(doc, "", "description");
  if (!description) return unexpected(description.error());
  p.description = std::move(*description);
  auto poll = poll_of(doc, "", factory->polls() ? 1000 : 0);
  if (!poll) return unexpected(poll.error());
  p.poll_ms = *poll;
  const Value* points = doc.find("points");
  if (points == nullptr || points->is_null()) return fail("points", "missing");
  if (!points->is_array() || points->as_array().empty()) {
    return fail("points", "expected a non-empty list of points");
  }
  if (points->as_array().size() > 10'000) return fail("points", "more than 10000 points");
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < points->as_array().size(); ++i) {
    const std::string prefix = "points[" + std::to_string(i) + "].";
    auto point = parse_point(points->as_array()[i], prefix, *factory);
    if (!point) return unexpected(point.error());
    if (!seen.insert(point->name).second) {
      return fail(prefix + "name", "duplicate point name " + quoted(point->name));
    }
    p.points.push_back(std::move(*point));
  }
  p.source = doc;
  return p;
}

Result<void> check_device_against(const DeviceSpec& device, const Profile& profile) {
  for (const auto& [point, cal] : device.calibration) {
    bool found = false;
    for (const auto& p : profile.points) {
      if (p.name != point) continue;
      found = true;
      if (p.type == DataType::Bool || p.type == DataType::String) {
        return fail("calibration." + point, std::string("not for type ") + data_type_name(p.type));
      }
    }
    if (!found) {
      return fail("calibration." + point,
                  "no point " + quoted(point) + " in profile " + quoted(profile.name));
    }
  }
  return {};
}

Result<DeviceSpec> parse_device(const Value& doc, const ProfileLookup& find_profile,
                                const AdapterRegistry& adapters) {
  if (!doc.is_object()) {
    return unexpected(Error{"expected a device object (id, profile, connection, ...)"});
  }
  if (auto r = only_keys(
          doc, "",
          {"id", "profile", "connection", "poll", "calibration", "history", "enabled", "labels"});
      !r) {
    return unexpected(r.error());
  }
  DeviceSpec d;
  auto id = name_of(doc, "", "id", true);
  if (!id) return unexpected(id.error());
  d.id = std::move(*id);
  auto profile_name = name_of(doc, "", "profile", true);
  if (!profile_name) return unexpected(profile_name.error());
  d.profile = std::move(*profile_name);
  const Profile* profile = find_profile(d.profile);
  if (profile == nullptr) return fail("profile", "unknown profile " + quoted(d.profile));
  const AdapterFactory* factory = adapters.find(profile->protocol);
  if (factory == nullptr) {
    return fail("profile", "protocol " + quoted(profile->protocol) + " is not available");
  }
  const Value* connection = doc.find("connection");
  d.connection = connection != nullptr ? *connection : Value(ValueObject{});
  if (d.connection.is_null()) d.connection = ValueObject{};
  if (!d.connection.is_object()) return fail("connection", "expected an object");
  if (auto r = factory->check_connection(d.connection); !r) {
    return unexpected(Error{nested("connection", r.error().message)});
  }
  auto poll = poll_of(doc, "", 0);
  if (!poll) return unexpected(poll.error());
  if (*poll != 0 && !factory->polls()) {
    return fail("poll", "protocol " + quoted(profile->protocol) + " does not poll");
  }
  d.poll_ms = *poll;
  if (const Value* cal = doc.find("calibration"); cal != nullptr && !cal->is_null()) {
    if (!cal->is_object()) return fail("calibration", "expected {point: {scale, offset}}");
    for (const auto& [point, c] : cal->as_object()) {
      const std::string prefix = "calibration." + point + ".";
      if (!c.is_object()) return fail("calibration." + point, "expected {scale, offset}");
      if (auto r = only_keys(c, prefix, {"scale", "offset"}); !r) return unexpected(r.error());
      auto scale = number_of(c, prefix, "scale", 1.0);
      if (!scale) return unexpected(scale.error());
      if (*scale == 0) return fail(prefix + "scale", "must not be 0");
      auto offset = number_of(c, prefix, "offset", 0.0);
      if (!offset) return unexpected(offset.error());
      d.calibration.emplace_back(point, Calibration{*scale, *offset});
    }
  }
  if (auto r = check_device_against(d, *profile); !r) return unexpected(r.error());
  auto history = bool_of(doc, "", "history", true);
  if (!history) return unexpected(history.error());
  d.history = *history;
  auto enabled = bool_of(doc, "", "enabled", true);
  if (!enabled) return unexpected(enabled.error());
  d.enabled = *enabled;
  if (const Value* labels = doc.find("labels"); labels != nullptr && !labels->is_null()) {
    if (!labels->is_object()) return fail("labels", "expected an object of key: value");
    d.labels = *labels;
  }
  d.source = doc;
  return d;
}

}  // namespace verge::devices

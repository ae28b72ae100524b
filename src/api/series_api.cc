#include "api/series_api.h"

#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "api/json_writer.h"

namespace verge::api {
namespace {

constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTs = std::numeric_limits<int64_t>::max();
constexpr const char* kJson = "application/json";

net::HttpReply json_error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  json_string(body, message);
  body += "}\n";
  return net::HttpReply{status, kJson, std::move(body)};
}

net::HttpReply bad_param(std::string_view name, std::string_view why) {
  return json_error(400, "bad parameter '" + std::string(name) + "': " + std::string(why));
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of a query component ('+' is a space); nullopt on a broken escape.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "250ms", "10s", "5m", "1h", "7d", or a bare number of milliseconds.
std::optional<int64_t> parse_duration(std::string_view s) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (auto [unit, scale] : kUnits) {
    if (s.size() > unit.size() && s.ends_with(unit)) {
      auto n = parse_int(s.substr(0, s.size() - unit.size()));
      if (!n || *n < 0 || *n > kMaxTs / scale) return std::nullopt;
      return *n * scale;
    }
  }
  return parse_int(s);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds since the epoch, "now", or "now-DURATION".
std::optional<int64_t> parse_time(std::string_view s) {
  if (s == "now") return now_ms();
  if (s.starts_with("now-")) {
    auto d = parse_duration(s.substr(4));
    if (!d) return std::nullopt;
    return now_ms() - *d;
  }
  return parse_int(s);
}

using Params = std::map<std::string, std::string, std::less<>>;

// Splits the query; nullopt + the offending key on a bad escape or a repeated key.
std::optional<Params> parse_query(std::string_view q, std::string& bad_key) {
  Params p;
  while (!q.empty()) {
    const size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    auto key = url_decode(part.substr(0, eq));
    auto value = url_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!key || !value) {
      bad_key = key ? *key : std::string(part.substr(0, eq));
      return std::nullopt;
    }
    if (!p.emplace(*key, *value).second) {
      bad_key = *key;
      return std::nullopt;
    }
  }
  return p;
}

void put_value(std::string& out, const store::DecodedChunk& d, size_t k) {
  switch (d.type) {
    case store::ValueType::Float:
      json_number(out, d.floats[k]);
      break;
    case store::ValueType::Int:
      json_number(out, d.ints[k]);
      break;
    case store::ValueType::Bool:
      out += d.ints[k] != 0 ? "true" : "false";
      break;
    case store::ValueType::String:
      json_string(out, d.strings[k]);
      break;
  }
}

net::HttpReply list(const store::Tsdb& db) {
  std::string out = "{\"series\":[";
  bool first = true;
  for (const store::SeriesInfo& s : db.list()) {
    if (!first) out.push_back(',');
    first = false;
    out += "{\"name\":";
    json_string(out, s.name);
    out += ",\"group\":";
    json_string(out, s.group);
    out += ",\"type\":";
    json_string(out, store::value_type_name(s.type));
    out += ",\"points\":";
    json_number(out, s.points);
    out += ",\"first\":";
    json_number(out, s.first_ts);
    out += ",\"last\":";
    json_number(out, s.last_ts);
    out.push_back('}');
  }
  out += "]}\n";
  return net::HttpReply{200, kJson, std::move(out)};
}

net::HttpReply latest(const store::Tsdb& db, const std::string& name) {
  auto p = db.latest(name);
  if (!p) return json_error(404, "no points in series " + name);
  std::string out = "{\"name\":";
  json_string(out, name);
  out += ",\"ts\":";
  json_number(out, p->first);
  out += ",\"value\":";
  std::visit(
      [&out](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<V, std::string>) {
          json_string(out, v);
        } else {
          json_number(out, v);
        }
      },
      p->second);
  out += "}\n";
  return net::HttpReply{200, kJson, std::move(out)};
}

}  // namespace

bool is_series_path(std::string_view path) {
  return path == kSeriesPath || path == std::string(kSeriesPath) + "/latest";
}

net::HttpReply handle_series_request(const store::Tsdb& db, const net::HttpRequest& req,
                                     const SeriesApiOptions& options) {
  const size_t qmark = req.target.find('?');
  const std::string_view path = std::string_view(req.target).substr(0, qmark);
  std::string bad_key;
  auto params =
      parse_query(qmark == std::string::npos ? std::string_view()
                                             : std::string_view(req.target).substr(qmark + 1),
                  bad_key);
  if (!params) return bad_param(bad_key, "bad escape or given twice");
  for (const auto& [k, v] : *params) {
    if (k != "name" && k != "from" && k != "to" && k != "step" && k != "agg") {
      return bad_param(k, "unknown (expected name, from, to, step, agg)");
    }
  }
  auto get = [&](std::string_view k) -> const std::string* {
    auto it = params->find(k);
    return it == params->end() ? nullptr : &it->second;
  };
  const std::string* name = get("name");
  const bool is_latest = path != kSeriesPath;
  if (name == nullptr) {
    if (is_latest) return bad_param("name", "required");
    if (params->empty()) return list(db);
    return bad_param("name", "required with from, to, step or agg");
  }
  if (name->empty()) return bad_param("name", "empty");
  if (is_latest) {
    for (const auto& [k, v] : *params) {
      if (k != "name") return bad_param(k, "not used by latest");
    }
    if (!db.find(*name)) return json_error(404, "no series " + *name);
    return latest(db, *name);
  }

  int64_t from = kMinTs, to = kMaxTs;
  if (const std::string* s = get("from")) {
    auto t = parse_time(*s);
    if (!t) return bad_param("from", "expected milliseconds since the epoch, now or now-DURATION");
    from = *t;
  }
  if (const std::string* s = get("to")) {
    auto t = parse_time(*s);
    if (!t) return bad_param("to", "expected milliseconds since the epoch, now or now-DURATION");
    to = *t;
  }
  if (to < from) return bad_param("to", "before from");
  std::optional<int64_t> step;
  if (const std::string* s = get("step")) {
    step = parse_duration(*s);
    if (!step || *step <= 0)
      return bad_param("step", "expected a positive duration (10s, 5m, 1h, or ms)");
  }
  store::Agg agg = store::Agg::Avg;
  if (const std::string* s = get("agg")) {
    if (!step) return bad_param("agg", "needs step");
    auto a = store::parse_agg(*s);
    if (!a) return bad_param("agg", "expected avg, min, max, sum, count, first or last");
    agg = *a;
  }

  if (!db.find(*name)) return json_error(404, "no series " + *name);

  std::string out = "{\"name\":";
  json_string(out, *name);
  if (step) {
    auto buckets = db.downsample(*name, from, to, *step, agg);
    if (!buckets) return bad_param("step", buckets.error().message);
    if (buckets->size() > options.max_points) {
      return bad_param("step", std::to_string(buckets->size()) + " buckets, more than " +
                                   std::to_string(options.max_points) +
                                   ": use a larger step or a shorter range");
    }
    out += ",\"step\":";
    json_number(out, *step);
    out += ",\"agg\":";
    json_string(out, store::agg_name(agg));
    out += ",\"buckets\":[";
    for (size_t k = 0; k < buckets->size(); ++k) {
      const store::Bucket& b = (*buckets)[k];
      if (k > 0) out.push_back(',');
      out.push_back('[');
      json_number(out, b.start_ms);
      out.push_back(',');
      json_number(out, b.value);
      out.push_back(',');
      json_number(out, b.count);
      out.push_back(']');
    }
  } else {
    auto points = db.range(*name, from, to);
    if (!points) return json_error(500, points.error().message);
    if (points->ts.size() > options.max_points) {
      return bad_param("from", std::to_string(points->ts.size()) + " points, more than " +
                                   std::to_string(options.max_points) +
                                   ": narrow from/to or set step");
    }
    out += ",\"type\":";
    json_string(out, store::value_type_name(points->type));
    out += ",\"points\":[";
    for (size_t k = 0; k < points->ts.size(); ++k) {
      if (k > 0) out.push_back(',');
      out.push_back('[');
      json_number(out, points->ts[k]);
      out.push_back(',');
      put_value(out, *points, k);
      out.push_back(']');
    }
  }
  out += "]}\n";
  return net::HttpReply{200, kJson, std::move(out)};
}

}  // namespace verge::api

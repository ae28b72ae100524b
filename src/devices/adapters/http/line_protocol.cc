#include "devices/adapters/http/line_protocol.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace verge::devices {
namespace {

// Measurements escape comma and space; tag keys, tag values and field keys also the equals sign.
// A backslash before any other character is a literal backslash, as in InfluxDB.
constexpr std::string_view kMeasurementEscapes = ", \\";
constexpr std::string_view kKeyEscapes = ",= \\";

bool contains(std::string_view set, char c) { return set.find(c) != std::string_view::npos; }

// Scans from `pos` to the first unescaped character of `stops`; `pos` ends on it (or at the end).
// The span is returned raw; `escaped` says whether it needs unescape().
std::string_view scan(std::string_view s, size_t& pos, std::string_view stops,
                      std::string_view escapes, bool& escaped) {
  const size_t start = pos;
  escaped = false;
  while (pos < s.size() && !contains(stops, s[pos])) {
    if (s[pos] == '\\' && pos + 1 < s.size() && contains(escapes, s[pos + 1])) {
      escaped = true;
      ++pos;
    }
    ++pos;
  }
  return s.substr(start, pos - start);
}

std::string unescape(std::string_view raw, std::string_view escapes) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && contains(escapes, raw[i + 1])) ++i;
    out.push_back(raw[i]);
  }
  return out;
}

std::string text(std::string_view raw, bool escaped, std::string_view escapes) {
  return escaped ? unescape(raw, escapes) : std::string(raw);
}

template <class T>
bool parse_whole(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool is_true(std::string_view s) {
  return s == "t" || s == "T" || s == "true" || s == "True" || s == "TRUE";
}
bool is_false(std::string_view s) {
  return s == "f" || s == "F" || s == "false" || s == "False" || s == "FALSE";
}

// An unquoted field value: 1.5, 1e3, -2 (floats), 12i, 12u, or a boolean.
Result<Value> field_value(std::string_view v) {
  if (v.empty()) return unexpected(Error{"missing value"});
  const char last = v.back();
  if (last == 'i') {
    int64_t i = 0;
    if (!parse_whole(v.substr(0, v.size() - 1), i)) {
      return unexpected(Error{"bad integer '" + std::string(v) + "'"});
    }
    return Value(i);
  }
  if (last == 'u') {
    uint64_t u = 0;
    if (!parse_whole(v.substr(0, v.size() - 1), u)) {
      return unexpected(Error{"bad unsigned integer '" + std::string(v) + "'"});
    }
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return unexpected(Error{"unsigned integer '" + std::string(v) + "' is over 2^63-1"});
    }
    return Value(static_cast<int64_t>(u));
  }
  if (is_true(v)) return Value(true);
  if (is_false(v)) return Value(false);
  // from_chars also reads "inf" and "nan", which line protocol does not have.
  double d = 0;
  const char first = v.front();
  const bool numeric =
      first == '-' || first == '+' || first == '.' || (first >= '0' && first <= '9');
  std::string_view digits = first == '+' ? v.substr(1) : v;  // from_chars refuses a leading '+'
  if (!numeric || !parse_whole(digits, d) || !std::isfinite(d)) {
    return unexpected(Error{"bad float '" + std::string(v) + "'"});
  }
  return Value(d);
}

// A quoted string field value starting at s[pos] == '"'; \" and \\ are its escapes.
Result<Value> string_value(std::string_view s, size_t& pos) {
  std::string out;
  for (size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
      out.push_back(s[++i]);
    } else if (s[i] == '"') {
      pos = i + 1;
      return Value(std::move(out));
    } else {
      out.push_back(s[i]);
    }
  }
  return unexpected(Error{"unterminated string"});
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Ns:
      return "ns";
    case Precision::Us:
      return "us";
    case Precision::Ms:
      return "ms";
    case Precision::S:
      return "s";
  }
  return "ns";
}

// In ms, within 2000-01-01 .. now + 1 day: a timestamp of another unit than the precision
// says lands far outside (see pushed_ts_error).
Result<int64_t> timestamp_ms(std::string_view raw, Precision p, int64_t now_ms) {
  int64_t t = 0;
  if (!parse_whole(raw, t) || t < 0) {
    return unexpected(Error{"bad timestamp '" + std::string(raw) + "' (expected an integer >= 0)"});
  }
  const std::string hint =
      std::string("; is it in ") + precision_name(p) + " (the precision parameter, default ns)?";
  int64_t ms = t;
  switch (p) {
    case Precision::Ns:
      ms = t / 1'000'000;
      break;
    case Precision::Us:
      ms = t / 1'000;
      break;
    case Precision::Ms:
      break;
    case Precision::S:
      if (t > std::numeric_limits<int64_t>::max() / 1000) {
        return unexpected(
            Error{"ts " + std::string(raw) + " is more than 1 day in the future" + hint});
      }
      ms = t * 1000;
      break;
  }
  if (auto e = pushed_ts_error(ms, now_ms, std::string(raw), hint)) {
    return unexpected(Error{std::move(*e)});
  }
  return ms;
}

// One line (no newline in it) into `out`, which the caller empties first (and again if it fails).
Result<void> decode_line(std::string_view s, Precision precision, int64_t now_ms,
                         std::vector<NamedReading>& out) {
  size_t pos = 0;
  bool esc = false;
  std::string_view raw = scan(s, pos, ", ", kMeasurementEscapes, esc);
  if (raw.empty()) return unexpected(Error{"missing measurement"});
  std::string device = text(raw, esc, kMeasurementEscapes);

  while (pos < s.size() && s[pos] == ',') {
    ++pos;
    std::string_view key = scan(s, pos, ",= ", kKeyEscapes, esc);
    const bool key_escaped = esc;
    if (key.empty()) return unexpected(Error{"empty tag key"});
    if (pos >= s.size() || s[pos] != '=') {
      return unexpected(Error{"tag '" + std::string(key) + "': expected '='"});
    }
    ++pos;
    std::string_view value = scan(s, pos, ", ", kKeyEscapes, esc);
    if (value.empty()) return unexpected(Error{"tag '" + std::string(key) + "': empty value"});
    if (!key_escaped && key == "device") device = text(value, esc, kKeyEscapes);
  }
  if (pos >= s.size()) return unexpected(Error{"no fields"});
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos >= s.size()) return unexpected(Error{"no fields"});

  while (true) {
    std::string_view key = scan(s, pos, ",= ", kKeyEscapes, esc);
    if (key.empty()) return unexpected(Error{"empty field key"});
    std::string name = text(key, esc, kKeyEscapes);
    if (pos >= s.size() || s[pos] != '=') {
      return unexpected(Error{"field '" + name + "': expected '='"});
    }
    ++pos;
    Result<Value> v = Value();
    if (pos < s.size() && s[pos] == '"') {
      v = string_value(s, pos);
    } else {
      const size_t start = pos;
      while (pos < s.size() && s[pos] != ',' && s[pos] != ' ') ++pos;
      v = field_value(s.substr(start, pos - start));
    }
    if (!v) return unexpected(Error{"field '" + name + "': " + v.error().message});
    NamedReading& r = out.emplace_back();
    r.device = device;
    r.point = std::move(name);
    r.value = std::move(*v);
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < s.size() && s[pos] != ' ') {
      return unexpected(Error{"field '" + out.back().point + "': unexpected '" +
                              std::string(1, s[pos]) + "' after the value"});
    }
    break;
  }

  int64_t ts_ms = 0;
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos < s.size()) {
    const size_t start = pos;
    while (pos < s.size() && s[pos] != ' ') ++pos;
    const std::string_view ts_text = s.substr(start, pos - start);
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos < s.size()) return unexpected(Error{"unexpected text after the timestamp"});
    auto ts = timestamp_ms(ts_text, precision, now_ms);
    if (!ts) return unexpected(ts.error());
    ts_ms = *ts;
  }

  for (NamedReading& r : out) r.ts_ms = ts_ms;
  return {};
}

}  // namespace

std::optional<Precision> parse_precision(std::string_view s) {
  if (s == "ns" || s == "n") return Precision::Ns;
  if (s == "us" || s == "u") return Precision::Us;
  if (s == "ms") return Precision::Ms;
  if (s == "s") return Precision::S;
  return std::nullopt;
}

DecodedReadings decode_line_protocol(std::string_view body, Precision precision,
                                     const IngestLimits& limits) {
  DecodedReadings out;
  const int64_t now_ms = pushed_ts_now_ms(limits.now_ms);  // once per body, not per line
  size_t line_no = 0;
  size_t lines = 0;
  std::vector<NamedReading> line_readings;
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    // Only refused lines pay for their "line N: " text.
    auto where = [line_no] { return "line " + std::to_string(line_no) + ": "; };
    if (++lines > limits.max_items) {
      out.reject(where() + "over the limit of " + std::to_string(limits.max_items) +
                 " lines per body");
      continue;
    }
    line_readings.clear();
    auto r = decode_line(line, precision, now_ms, line_readings);
    if (!r) {
      out.reject(where() + r.error().message);
      continue;
    }
    if (out.readings.size() + line_readings.size() > limits.max_readings) {
      out.reject(where() + "over the limit of " + std::to_string(limits.max_readings) +
                 " readings per body");
      continue;
    }
    for (NamedReading& nr : line_readings) out.readings.push_back(std::move(nr));
  }
  return out;
}

}  // namespace verge::devices

// Conversion and null-handling functions (cast, to_json, parse_json, isnull, coalesce, newuuid,
// typeof, cardinality, dec2hex, hex2dec) and the conversions the other files share.
#include <charconv>
#include <chrono>
#include <cmath>
#include <random>

#include "rules/functions_internal.h"

namespace verge::rules::fn {

std::optional<int64_t> integral(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_float()) {
    const double d = v.as_float();
    if (d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 && std::trunc(d) == d) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

namespace {

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequal(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim_space(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return d;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<int64_t> parse_datetime(std::string_view s) {
  s = trim_space(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  size_t at = 10;
  int64_t ms = 0;
  if (at < s.size() && (s[at] == 'T' || s[at] == 't' || s[at] == ' ')) {
    if (!digits(s, at + 1, 2, h) || at + 3 >= s.size() || s[at + 3] != ':' ||
        !digits(s, at + 4, 2, mi)) {
      return std::nullopt;
    }
    at += 6;
    if (at < s.size() && s[at] == ':') {
      if (!digits(s, at + 1, 2, sec)) return std::nullopt;
      at += 3;
      if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
        ++at;
        int64_t scale = 100;
        const size_t start = at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
          ms += (s[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (at < s.size()) {
    if ((s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) {
      at += 1;
    } else if (s[at] == '+' || s[at] == '-') {
      int oh = 0, om = 0;
      if (!digits(s, at + 1, 2, oh)) return std::nullopt;
      size_t next = at + 3;
      if (next < s.size() && s[next] == ':') ++next;
      if (!digits(s, next, 2, om) || next + 2 != s.size() || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_min = (oh * 60 + om) * (s[at] == '-' ? -1 : 1);
      at = s.size();
    } else {
      return std::nullopt;
    }
  }
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi - offset_min) * 60000 + sec * 1000 + ms;
}

}  // namespace

std::optional<double> to_float(const Value& v) {
  switch (v.type()) {
    case Value::Type::Int:
      return static_cast<double>(v.as_int());
    case Value::Type::Float:
      return v.as_float();
    case Value::Type::Bool:
      return v.as_bool() ? 1.0 : 0.0;
    case Value::Type::String:
      return parse_double(v.as_string());
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> to_bigint(const Value& v) {
  switch (v.type()) {
    case Value::Type::Int:
      return v.as_int();
    case Value::Type::Bool:
      return v.as_bool() ? 1 : 0;
    case Value::Type::Float: {
      // Truncates toward zero, as eKuiper (Go's int64(f)) does; out of range has no answer.
      const double d = std::trunc(v.as_float());
      if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    case Value::Type::String: {
      std::string_view s = trim_space(v.as_string());
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      int64_t i = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) return i;
      // "12.7" as a bigint is 12, as for a float.
      if (auto d = parse_double(s)) return to_bigint(Value(*d));
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<bool> to_boolean(const Value& v) {
  switch (v.type()) {
    case Value::Type::Bool:
      return v.as_bool();
    case Value::Type::Int:
      return v.as_int() != 0;
    case Value::Type::Float:
      return v.as_float() != 0;
    case Value::Type::String: {
      // The spellings Go's strconv.ParseBool accepts, as eKuiper does.
      const std::string_view s = trim_space(v.as_string());
      for (auto t : {"1", "t", "true"}) {
        if (iequal(s, t)) return true;
      }
      for (auto f : {"0", "f", "false"}) {
        if (iequal(s, f)) return false;
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::string to_text(const Value& v) {
  if (v.is_string()) return v.as_string();
  return v.to_json();
}

std::optional<int64_t> to_datetime_ms(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_float()) return to_bigint(v);
  if (v.is_string()) return parse_datetime(v.as_string());
  return std::nullopt;
}

namespace {

using Args = std::span<const Value>;

bool f_cast(Args a, CallContext& ctx, Value& out) {
  if (!a[1].is_string()) return type_error(ctx, "cast", "a type name string", a[1]);
  const std::string_view type = a[1].as_string();
  const Value& x = a[0];
  if (x.is_null()) {
    out = Value();
    return true;
  }
  auto cannot = [&](std::string_view to) {
    std::string m = "cannot convert ";
    m += x.is_string() ? "'" + x.as_string() + "'" : std::string(Value::type_name(x.type()));
    m += " to ";
    m += to;
    return fail(ctx, "cast", m);
  };
  if (iequal(type, "bigint") || iequal(type, "int") || iequal(type, "integer")) {
    auto i = to_bigint(x);
    if (!i) return cannot("bigint");
    out = Value(*i);
  } else if (iequal(type, "float") || iequal(type, "double")) {
    auto d = to_float(x);
    if (!d) return cannot("float");
    out = Value(*d);
  } else if (iequal(type, "string")) {
    out = Value(to_text(x));
  } else if (iequal(type, "boolean") || iequal(type, "bool")) {
    auto b = to_boolean(x);
    if (!b) return cannot("boolean");
    out = Value(*b);
  } else if (iequal(type, "datetime")) {
    auto t = to_datetime_ms(x);
    if (!t) return cannot("datetime");
    out = Value(*t);
  } else {
    return fail(ctx, "cast",
                "unknown type '" + std::string(type) +
                    "' (expected bigint, float, string, boolean or datetime)");
  }
  return true;
}

bool f_to_json(Args a, CallContext&, Value& out) {
  // Null becomes the text "null": the point of to_json is a JSON document.
  out = Value(a[0].to_json());
  return true;
}

bool f_parse_json(Args a, CallContext& ctx, Value& out) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  if (!a[0].is_string()) return type_error(ctx, "parse_json", "a string", a[0]);
  auto r = parse_json(a[0].as_string());
  if (!r) {
    return fail(ctx, "parse_json",
                r.error().message + " at byte " + std::to_string(r.error().offset));
  }
  out = std::move(*r);
  return true;
}

bool f_isnull(Args a, CallContext&, Value& out) {
  out = Value(a[0].is_null());
  return true;
}

bool f_coalesce(Args a, CallContext&, Value& out) {
  for (const auto& v : a) {
    if (!v.is_null()) {
      out = v;
      return true;
    }
  }
  out = Value();
  return true;
}

bool f_newuuid(Args, CallContext&, Value& out) {
  // A random (version 4) UUID.
  thread_local std::mt19937_64 gen{std::random_device{}()};
  uint8_t b[16];
  const uint64_t hi = gen();
  const uint64_t lo = gen();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (8 * i));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 0x0f];
  }
  out = Value(std::move(s));
  return true;
}

bool f_typeof(Args a, CallContext&, Value& out) {
  out = Value(Value::type_name(a[0].type()));
  return true;
}

bool f_cardinality(Args a, CallContext& ctx, Value& out) {
  const Value& x = a[0];
  if (x.is_null()) {
    out = Value(int64_t{0});
  } else if (x.is_array()) {
    out = Value(static_cast<int64_t>(x.as_array().size()));
  } else if (x.is_object()) {
    out = Value(static_cast<int64_t>(x.as_object().size()));
  } else {
    return type_error(ctx, "cardinality", "an array or object", x);
  }
  return true;
}

bool f_dec2hex(Args a, CallContext& ctx, Value& out) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  auto i = integral(a[0]);
  if (!i) return type_error(ctx, "dec2hex", "an integer", a[0]);
  char buf[24];
  char* p = buf;
  uint64_t u = static_cast<uint64_t>(*i);
  if (*i < 0) {
    *p++ = '-';
    u = 0 - u;
  }
  auto r = std::to_chars(p, buf + sizeof buf, u, 16);
  out = Value(std::string(buf, r.ptr));
  return true;
}

bool f_hex2dec(Args a, CallContext& ctx, Value& out) {
  if (a[0].is_null()) {
    out = Value();
    return true;
  }
  if (!a[0].is_string()) return type_error(ctx, "hex2dec", "a string", a[0]);
  std::string_view s = trim_space(a[0].as_string());
  bool neg = false;
  if (!s.empty() && s.front() == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  uint64_t u = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), u, 16);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() ||
      u > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) {
    return fail(ctx, "hex2dec", "not a hexadecimal integer: '" + a[0].as_string() + "'");
  }
  out = Value(neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u));
  return true;
}

const ScalarFunction kConvert[] = {
    {"cast", 2, 2, f_cast},
    {"to_json", 1, 1, f_to_json},
    {"parse_json", 1, 1, f_parse_json},
    {"isnull", 1, 1, f_isnull},
    {"coalesce", 1, -1, f_coalesce},
    {"newuuid", 0, 0, f_newuuid, true},  // not folded: a new id per call
    {"typeof", 1, 1, f_typeof},
    {"cardinality", 1, 1, f_cardinality},
    {"dec2hex", 1, 1, f_dec2hex},
    {"hex2dec", 1, 1, f_hex2dec},
};

}  // namespace

std::span<const ScalarFunction> convert_functions() { return kConvert; }

}  // namespace verge::rules::fn

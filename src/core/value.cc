// Value: accessors, JSON output, equality, hashing and ordering. Parsing lives in json_parse.cc.
#include "core/value.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>

#include "core/json.h"

namespace verge {
namespace {

// 2^63 as a double: the first value above every int64.
constexpr double kTwo63 = 9223372036854775808.0;

// The int64 a float holds exactly, if it does; equality and hashing treat such floats as ints.
std::optional<int64_t> exact_int(double d) {
  if (!(d >= -kTwo63 && d < kTwo63)) return std::nullopt;  // also rejects NaN
  const auto i = static_cast<int64_t>(d);
  if (static_cast<double>(i) != d) return std::nullopt;
  return i;
}

// Three-way comparison of an int with a float without losing precision in either direction.
std::optional<int> compare_int_float(int64_t i, double d) {
  if (std::isnan(d)) return std::nullopt;
  const auto di = static_cast<double>(i);
  if (di < d) return -1;
  if (di > d) return 1;
  // di == d, so d is integral; the rounding of i may still hide a difference.
  if (d >= kTwo63) return -1;
  const auto dd = static_cast<int64_t>(d);
  return i < dd ? -1 : (i > dd ? 1 : 0);
}

size_t mix(size_t h) {
  // splitmix64's finaliser: spreads small ints over the whole word.
  uint64_t x = h;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return static_cast<size_t>(x);
}

// Sensor readings are mostly short decimals (23.5, 1013.25). When d is exactly the double
// nearest to m / 10^k for a small k, "m / 10^k" written out in decimal reads back as d; writing it
// with integer arithmetic is several times cheaper than the general shortest-form search.
bool append_decimal(std::string& out, double d) {
  static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  static constexpr uint64_t kPow10i[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  if (d == 0 || !(std::fabs(d) < 1e15)) return false;  // zeros keep their sign via to_chars
  for (int k = 0; k <= 6; ++k) {
    const double m = d * kPow10[k];
    if (std::fabs(m) >= 9007199254740992.0) return false;  // beyond 2^53: not exact
    if (m != std::trunc(m) || m / kPow10[k] != d) continue;
    uint64_t u = static_cast<uint64_t>(std::fabs(m));
    const uint64_t whole = u / kPow10i[k];
    uint64_t frac = u % kPow10i[k];
    char buf[40];
    char* p = buf;
    if (d < 0) *p++ = '-';
    p = std::to_chars(p, buf + sizeof buf, whole).ptr;
    *p++ = '.';
    if (k == 0) {
      *p++ = '0';
    } else {
      int digits = k;
      while (digits > 1 && frac % 10 == 0) {  // k is the smallest that worked; be safe anyway
        frac /= 10;
        --digits;
      }
      char tmp[8];
      for (int i = digits - 1; i >= 0; --i) {
        tmp[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
      }
      std::memcpy(p, tmp, static_cast<size_t>(digits));
      p += digits;
    }
    out.append(buf, p);
    return true;
  }
  return false;
}

// Most strings need no escaping: copy them whole instead of byte by byte.
void append_string(std::string& out, const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      append_json_string(out, s);
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

bool objects_equal(const ValueObject& a, const ValueObject& b) {
  if (a.size() != b.size()) return false;
  // Fast path: same member order, the common case for payloads from one producer.
  size_t i = 0;
  for (; i < a.size(); ++i) {
    if (a[i].first != b[i].first || !(a[i].second == b[i].second)) break;
  }
  if (i == a.size()) return true;
  for (; i < a.size(); ++i) {
    bool found = false;
    for (const auto& m : b) {
      if (m.first == a[i].first) {
        if (!(m.second == a[i].second)) return false;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  // Members before i matched positionally; names are unique, so equal sizes make this complete.
  return true;
}

}  // namespace

std::optional<double> Value::number() const {
  if (is_int()) return static_cast<double>(as_int());
  if (is_float()) return as_float();
  return std::nullopt;
}

const Value* Value::find(std::string_view name) const {
  if (!is_object()) return nullptr;
  for (const auto& m : as_object()) {
    if (m.first == name) return &m.second;
  }
  return nullptr;
}

const Value* Value::at(int64_t i) const {
  if (!is_array()) return nullptr;
  const auto& a = as_array();
  const auto n = static_cast<int64_t>(a.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n) return nullptr;
  return &a[static_cast<size_t>(i)];
}

void Value::append_json(std::string& out) const {
  switch (type()) {
    case Type::Null:
      out += "null";
      return;
    case Type::Bool:
      out += as_bool() ? "true" : "false";
      return;
    case Type::Int: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, as_int());
      out.append(buf, r.ptr);
      return;
    }
    case Type::Float: {
      const double d = as_float();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      if (append_decimal(out, d)) return;
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
      out.append(buf, r.ptr);
      if (std::memchr(buf, '.', static_cast<size_t>(r.ptr - buf)) == nullptr &&
          std::memchr(buf, 'e', static_cast<size_t>(r.ptr - buf)) == nullptr) {
        out += ".0";
      }
      return;
    }
    case Type::String:
      append_string(out, as_string());
      return;
    case Type::Array: {
      out += '[';
      bool first = true;
      for (const auto& e : as_array()) {
        if (!first) out += ',';
        first = false;
        e.append_json(out);
      }
      out += ']';
      return;
    }
    case Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& m : as_object()) {
        if (!first) out += ',';
        first = false;
        append_string(out, m.first);
        out += ':';
        m.second.append_json(out);
      }
      out += '}';
      return;
    }
  }
}

std::string Value::to_json() const {
  std::string out;
  append_json(out);
  return out;
}

bool operator==(const Value& a, const Value& b) {
  using T = Value::Type;
  const T ta = a.type();
  const T tb = b.type();
  if (ta != tb) {
    if (ta == T::Int && tb == T::Float) return exact_int(b.as_float()) == a.as_int();
    if (ta == T::Float && tb == T::Int) return exact_int(a.as_float()) == b.as_int();
    return false;
  }
  switch (ta) {
    case T::Null:
      return true;
    case T::Bool:
      return a.as_bool() == b.as_bool();
    case T::Int:
      return a.as_int() == b.as_int();
    case T::Float: {
      const double x = a.as_float();
      const double y = b.as_float();
      // NaN equals NaN here so that == stays an equivalence (group keys, deduplicate).
      return x == y || (std::isnan(x) && std::isnan(y));
    }
    case T::String:
      return a.as_string() == b.as_string();
    case T::Array: {
      const auto& x = a.as_array();
      const auto& y = b.as_array();
      if (&x == &y) return true;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!(x[i] == y[i])) return false;
      }
      return true;
    }
    case T::Object: {
      const auto& x = a.as_object();
      const auto& y = b.as_object();
      return &x == &y || objects_equal(x, y);
    }
  }
  return false;
}

size_t Value::hash() const {
  switch (type()) {
    case Type::Null:
      return 0x9e3779b97f4a7c15ULL;
    case Type::Bool:
      return mix(as_bool() ? 0x51 : 0x50);
    case Type::Int:
      return mix(static_cast<size_t>(as_int()));
    case Type::Float: {
      const double d = as_float();
      if (auto i = exact_int(d)) return mix(static_cast<size_t>(*i));  // 1.0 hashes as 1
      if (std::isnan(d)) return mix(0x7ff8);
      return mix(std::bit_cast<uint64_t>(d));
    }
    case Type::String:
      return std::hash<std::string>{}(as_string());
    case Type::Array: {
      size_t h = 0xa11a7;
      for (const auto& e : as_array()) h = mix(h ^ e.hash()) + 0x9e3779b9;
      return h;
    }
    case Type::Object: {
      // Order-insensitive: a sum of per-member hashes.
      size_t h = 0x0b1ec7;
      for (const auto& m : as_object()) {
        h += mix(std::hash<std::string>{}(m.first) ^ (m.second.hash() * 31));
      }
      return h;
    }
  }
  return 0;
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::Float:
      return "float";
    case Type::String:
      return "string";
    case Type::Array:
      return "array";
    case Type::Object:
      return "object";
  }
  return "unknown";
}

std::optional<int> compare_values(const Value& a, const Value& b) {
  using T = Value::Type;
  if (a.is_int() && b.is_int()) {
    const int64_t x = a.as_int();
    const int64_t y = b.as_int();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_float() && b.is_float()) {
    const double x = a.as_float();
    const double y = b.as_float();
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_int() && b.is_float()) return compare_int_float(a.as_int(), b.as_float());
  if (a.is_float() && b.is_int()) {
    auto r = compare_int_float(b.as_int(), a.as_float());
    if (!r) return std::nullopt;
    return -*r;
  }
  if (a.type() != b.type()) return std::nullopt;
  if (a.type() == T::String) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.type() == T::Bool) return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
  return std::nullopt;
}

}  // namespace verge

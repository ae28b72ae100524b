// A strict RFC 8259 parser into Value. It sits on the rule engine's hot path (every payload of
// every JSON stream), so it is a plain recursive descent over a pointer with no per-character
// indirection. Array elements gather on a scratch stack reused across calls, so an array
// allocates once at its final size; object members go straight into a reserved vector.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include "core/value.h"

namespace verge {
namespace {

using Member = std::pair<std::string, Value>;

// Scratch stacks shared by nested containers: a container's items are the tail of the stack
// from where it began. Thread-local so concurrent parses on different threads do not share.
struct Scratch {
  std::vector<Value> elements;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Bytes that end the fast copy of a string: quote, backslash, control characters, non-ASCII.
constexpr bool is_plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

struct PlainTable {
  bool t[256];
  constexpr PlainTable() : t() {
    for (int i = 0; i < 256; ++i) t[i] = is_plain(static_cast<unsigned char>(i));
  }
};
constexpr PlainTable kPlain;

// Advances p to the first byte that is not plain, eight bytes at a time while it can: payload
// strings are short and ASCII, and this loop is where string parsing spends its time.
const char* skip_plain(const char* p, const char* end) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t q = x ^ (kOnes * '"');
    const uint64_t b = x ^ (kOnes * '\\');
    // A high bit for a byte that is a control character, a quote, a backslash or non-ASCII. A
    // borrow may also flag bytes above such a byte, never below it, so the lowest flag is exact.
    const uint64_t stop = ((x - kOnes * 0x20) | (q - kOnes) | (b - kOnes) | x) & kHigh;
    if (stop != 0) {
      if constexpr (std::endian::native == std::endian::little) {
        return p + (std::countr_zero(stop) >> 3);
      }
      break;  // big-endian: let the byte loop find it
    }
    p += 8;
  }
  while (p != end && kPlain.t[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 if it is not one.
size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  auto cont = [&](size_t i, unsigned char lo, unsigned char hi) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1, 0x80, 0xbf) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0, 0xbf) && cont(2, 0x80, 0xbf) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
    return cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) ? 3 : 0;
  }
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2, 0x80, 0xbf) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) {
    return cont(1, 0x80, 0xbf) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
  }
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2, 0x80, 0xbf) && cont(3, 0x80, 0xbf) ? 4 : 0;
  return 0;
}

class Parser {
 public:
  Parser(std::string_view text, size_t max_depth)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(max_depth) {}

  Result<Value, JsonError> run() {
    Scratch& s = scratch();
    const size_t elements_base = s.elements.size();
    skip_ws();
    Value v = parse_value(0);
    if (ok_) {
      skip_ws();
      if (p_ != end_) fail("unexpected data after the JSON value");
    }
    // On error the stacks may hold a partial document: drop it, keep the capacity.
    s.elements.resize(elements_base);
    if (!ok_) return unexpected(std::move(error_));
    return v;
  }

 private:
  // Records the first error; callers check ok_ and unwind.
  void fail(const char* message) { fail_at(message, p_); }
  void fail_at(const char* message, const char* at) {
    if (!ok_) return;
    ok_ = false;
    error_.message = message;
    error_.offset = static_cast<size_t>(at - begin_);
  }

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) {
      fail("invalid literal");
      return false;
    }
    p_ += n;
    return true;
  }

  // Values are returned (not assigned through an out-parameter) so each is constructed in place.
  Value parse_value(size_t depth) {
    if (p_ == end_) {
      fail("unexpected end of input, expected a value");
      return Value();
    }
    switch (*p_) {
      case '{':
        return parse_object(depth + 1);
      case '[':
        return parse_array(depth + 1);
      case '"': {
        std::string_view s;
        if (!parse_string(s)) return Value();
        return Value(s);
      }
      case 't':
        return literal("true", 4) ? Value(true) : Value();
      case 'f':
        return literal("false", 5) ? Value(false) : Value();
      case 'n':
        literal("null", 4);
        return Value();
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return parse_number();
        fail("expected a value");
        return Value();
    }
  }

  Value parse_number() {
    const char* start = p_;
    bool negative = false;
    if (*p_ == '-') {
      negative = true;
      ++p_;
    }
    if (p_ == end_ || *p_ < '0' || *p_ > '9') {
      fail("expected a digit");
      return Value();
    }
    // Accumulate the integer part as we validate it: most payload numbers are small integers.
    uint64_t mag = 0;
    bool overflow = false;
    if (*p_ == '0') {
      ++p_;
      if (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
        fail("leading zeros are not allowed");
        return Value();
      }
    } else {
      const char* digits = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
        mag = mag * 10 + static_cast<uint64_t>(*p_ - '0');
        ++p_;
      }
      // 19 digits always fit in a uint64; 20 may wrap; more always overflow.
      const auto n = p_ - digits;
      if (n > 20 || (n == 20 && (digits[0] > '1' || mag < 10000000000000000000ULL))) {
        overflow = true;
      }
    }
    bool is_float = false;
    bool has_exponent = false;
    const char* int_end = p_;
    int frac_digits = 0;
    uint64_t decimal = mag;  // all the digits, integer and fraction, while few enough
    if (p_ != end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') {
        fail("expected a digit after '.'");
        return Value();
      }
      const char* frac = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
        if (p_ - frac < 16) decimal = decimal * 10 + static_cast<uint64_t>(*p_ - '0');
        ++p_;
      }
      frac_digits = static_cast<int>(p_ - frac);
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      has_exponent = true;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') {
        fail("expected a digit in the exponent");
        return Value();
      }
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (!is_float && !overflow) {
      if (!negative && mag <= static_cast<uint64_t>(INT64_MAX)) {
        return Value(static_cast<int64_t>(mag));
      }
      if (negative && mag <= static_cast<uint64_t>(INT64_MAX) + 1) {
        return Value(static_cast<int64_t>(0 - mag));
      }
    }
    // Clinger's fast path: with at most 15 significant digits the mantissa and 10^k are exact
    // doubles, and one correctly rounded division gives the correctly rounded result.
    const auto int_digits = int_end - (start + (negative ? 1 : 0));
    if (is_float && !has_exponent && int_digits + frac_digits <= 15) {
      static constexpr double kPow10[] = {1,   1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                          1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
      const double v = static_cast<double>(decimal) / kPow10[frac_digits];
      return Value(negative ? -v : v);
    }
    double d = 0;
    auto r = std::from_chars(start, p_, d);
    // from_chars reports out-of-range (1e400) without setting d; JSON has no infinity, so such a
    // number is an error rather than a silent inf.
    if (r.ec != std::errc() || r.ptr != p_) {
      fail_at("number out of range", start);
      return Value();
    }
    return Value(d);
  }

  bool parse_hex4(uint32_t& cp) {
    if (end_ - p_ < 4) {
      fail("truncated \\u escape");
      return false;
    }
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex_digit(p_[i]);
      if (h < 0) {
        fail_at("invalid \\u escape", p_ + i);
        return false;
      }
      cp = cp << 4 | static_cast<uint32_t>(h);
    }
    p_ += 4;
    return true;
  }

  // Skips the well-formed UTF-8 sequence at p_ (a byte >= 0x80).
  bool skip_utf8() {
    const size_t n = utf8_sequence(reinterpret_cast<const unsigned char*>(p_),
                                   reinterpret_cast<const unsigned char*>(end_));
    if (n == 0) {
      fail("invalid UTF-8 in string");
      return false;
    }
    p_ += n;
    return true;
  }

  // p_ at the opening quote. On success `out` views the string's bytes: the input itself when
  // the string has no escapes (the common case, no copy), else unescaped_, valid until the next
  // call.
  bool parse_string(std::string_view& out) {
    ++p_;
    const char* start = p_;
    for (;;) {
      p_ = skip_plain(p_, end_);
      if (p_ == end_) {
        fail("unterminated string");
        return false;
      }
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c >= 0x80) {
        if (!skip_utf8()) return false;
        continue;
      }
      if (c < 0x20) {
        fail("control character in string");
        return false;
      }
      unescaped_.assign(start, p_);  // a backslash: decode from here on
      if (!parse_escaped()) return false;
      out = unescaped_;
      return true;
    }
  }

  // p_ at a backslash inside a string; appends the rest of the string to unescaped_.
  bool parse_escaped() {
    const char* run = p_;
    for (;;) {
      p_ = skip_plain(p_, end_);
      if (p_ == end_) {
        fail("unterminated string");
        return false;
      }
      const auto c = static_cast<unsigned char>(*p_);
      if (c >= 0x80) {
        if (!skip_utf8()) return false;
        continue;
      }
      unescaped_.append(run, p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) {
        fail("control character in string");
        return false;
      }
      if (!parse_escape()) return false;  // c is a backslash
      run = p_;
    }
  }

  // p_ at a backslash.
  bool parse_escape() {
    ++p_;
    if (p_ == end_) {
      fail("unterminated string");
      return false;
    }
    switch (*p_++) {
      case '"':
        unescaped_ += '"';
        return true;
      case '\\':
        unescaped_ += '\\';
        return true;
      case '/':
        unescaped_ += '/';
        return true;
      case 'b':
        unescaped_ += '\b';
        return true;
      case 'f':
        unescaped_ += '\f';
        return true;
      case 'n':
        unescaped_ += '\n';
        return true;
      case 'r':
        unescaped_ += '\r';
        return true;
      case 't':
        unescaped_ += '\t';
        return true;
      case 'u': {
        const char* esc = p_ - 2;
        uint32_t cp = 0;
        if (!parse_hex4(cp)) return false;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
          fail_at("lone low surrogate", esc);
          return false;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
            fail_at("high surrogate without a low surrogate", esc);
            return false;
          }
          p_ += 2;
          uint32_t lo = 0;
          if (!parse_hex4(lo)) return false;
          if (lo < 0xdc00 || lo > 0xdfff) {
            fail_at("high surrogate without a low surrogate", esc);
            return false;
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        append_utf8(unescaped_, cp);
        return true;
      }
      default:
        fail_at("invalid escape", p_ - 1);
        return false;
    }
  }

  Value parse_array(size_t depth) {
    if (depth > max_depth_) {
      fail("nesting too deep");
      return Value();
    }
    ++p_;
    auto& stack = scratch().elements;
    const size_t base = stack.size();
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return Value(ValueArray{});
    }
    for (;;) {
      // A nested container grows the same stack before this element is pushed: no dangling.
      stack.push_back(parse_value(depth));
      if (!ok_) return Value();
      skip_ws();
      if (p_ == end_) {
        fail("unexpected end of input, expected ',' or ']'");
        return Value();
      }
      if (*p_ == ',') {
        ++p_;
        skip_ws();
        continue;
      }
      if (*p_ == ']') {
        ++p_;
        break;
      }
      fail("expected ',' or ']'");
      return Value();
    }
    ValueArray a(std::make_move_iterator(stack.begin() + static_cast<ptrdiff_t>(base)),
                 std::make_move_iterator(stack.end()));
    stack.resize(base);
    return Value(std::move(a));
  }

  Value parse_object(size_t depth) {
    if (depth > max_depth_) {
      fail("nesting too deep");
      return Value();
    }
    ++p_;
    skip_ws();
    ValueObject o;
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return Value(std::move(o));
    }
    // Members go straight into the object: a scratch stack would cost a move and a destruction
    // per member. Eight slots hold a typical payload without growing.
    o.reserve(8);
    for (;;) {
      if (p_ == end_ || *p_ != '"') {
        fail("expected a member name");
        return Value();
      }
      std::string_view name;
      if (!parse_string(name)) return Value();
      skip_ws();
      if (p_ == end_ || *p_ != ':') {
        fail("expected ':' after the member name");
        return Value();
      }
      ++p_;
      skip_ws();
      if (name.data() == unescaped_.data()) {
        // The value's own strings reuse unescaped_: take the name out first.
        std::string owned(name);
        o.emplace_back(std::move(owned), parse_value(depth));
      } else {
        o.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                       std::forward_as_tuple(parse_value(depth)));
      }
      if (!ok_) return Value();
      skip_ws();
      if (p_ == end_) {
        fail("unexpected end of input, expected ',' or '}'");
        return Value();
      }
      if (*p_ == ',') {
        ++p_;
        skip_ws();
        continue;
      }
      if (*p_ == '}') {
        ++p_;
        break;
      }
      fail("expected ',' or '}'");
      return Value();
    }
    if (has_duplicates(o)) merge_duplicates(o);
    // Bound the waste of the reservation (windows may keep many records): at most twice the size.
    if (o.size() * 2 < o.capacity()) o.shrink_to_fit();
    return Value(std::move(o));
  }

  static bool has_duplicates(const ValueObject& o) {
    const size_t n = o.size();
    if (n <= 16) {
      for (size_t i = 0; i < n; ++i) {
        for (size_t j = i + 1; j < n; ++j) {
          if (o[i].first == o[j].first) return true;
        }
      }
      return false;
    }
    std::vector<std::string_view> names;
    names.reserve(n);
    for (const auto& m : o) names.emplace_back(m.first);
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) != names.end();
  }

  // A repeated name keeps its first position and takes the last value, as JavaScript and Go do,
  // so Value::find and object equality see unique names. Rare; a hash map keeps it linear.
  static void merge_duplicates(ValueObject& o) {
    std::unordered_map<std::string_view, size_t> position;  // name -> index in the result
    std::vector<size_t> target(o.size());
    size_t count = 0;
    for (size_t i = 0; i < o.size(); ++i) {
      auto ins = position.try_emplace(o[i].first, count);
      if (ins.second) ++count;
      target[i] = ins.first->second;
    }
    ValueObject merged(count);
    for (size_t i = 0; i < o.size(); ++i) {
      Member& to = merged[target[i]];
      if (to.first.empty()) to.first = std::move(o[i].first);
      to.second = std::move(o[i].second);
    }
    o = std::move(merged);
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  size_t max_depth_;
  bool ok_ = true;
  JsonError error_;
  std::string unescaped_;
};

}  // namespace

Result<Value, JsonError> parse_json(std::string_view text, size_t max_depth) {
  return Parser(text, max_depth).run();
}

}  // namespace verge

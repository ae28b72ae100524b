// String functions. Positions and lengths count characters (Unicode code points), not bytes;
// numbytes counts bytes. lower/upper change ASCII letters only. Regular expressions are
// ECMAScript (std::regex), compiled once per distinct pattern and kept in a small per-thread
// cache, since compiling costs far more than matching.
// GCC 12 with sanitizers reports a false -Wmaybe-uninitialized inside std::regex's own
// std::function members (libstdc++'s code, instantiated here); silence it for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cmath>
#include <cstdio>
#include <list>
#include <regex>
#include <unordered_map>
#include <vector>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

// Longest input the regular expression functions accept: libstdc++'s matcher recurses per
// character, so an unbounded input could exhaust the stack.
constexpr size_t kMaxRegexInput = 4096;
constexpr size_t kRegexCacheSize = 64;
constexpr int64_t kMaxPad = 1 << 20;
constexpr int64_t kMaxRepeat = 1000;  // largest {n,m} count in a pattern
constexpr size_t kMaxPattern = 1024;  // longest pattern

bool null_out(Value& out) {
  out = Value();
  return true;
}

bool string_arg(const Value& v, std::string_view fn, CallContext& ctx, const std::string*& s) {
  if (!v.is_string()) return type_error(ctx, fn, "a string", v);
  s = &v.as_string();
  return true;
}

bool int_arg(const Value& v, std::string_view fn, CallContext& ctx, int64_t& i) {
  auto x = integral(v);
  if (!x) return type_error(ctx, fn, "an integer", v);
  i = *x;
  return true;
}

// Length of the UTF-8 sequence starting with byte c (1 for a stray byte, so any input walks).
size_t seq_len(unsigned char c) {
  if (c < 0xc0) return 1;
  if (c < 0xe0) return 2;
  if (c < 0xf0) return 3;
  return 4;
}

// Byte offset of the character at index `chars` (or s.size() past the end).
size_t byte_offset(std::string_view s, int64_t chars) {
  size_t at = 0;
  while (chars > 0 && at < s.size()) {
    at += seq_len(static_cast<unsigned char>(s[at]));
    --chars;
  }
  return std::min(at, s.size());
}

int64_t char_count(std::string_view s) {
  int64_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// std::regex backtracks, and a quantifier applied to something that is itself quantified
// ("(a+)+", "a?*") takes exponential time on a short input: one such pattern would stall the
// rule's thread. Such patterns are refused up front, as are counts above kMaxRepeat (a{100000}
// compiles to that many states). Overlapping alternatives under a quantifier, "(a|a)*", can
// still be slow; they are rare in practice and not detected.
bool has_nested_quantifier(std::string_view p) {
  std::vector<bool> group_quantified;  // per open group: does its content have a quantifier?
  bool prev_quantifier = false;        // the previous token was a quantifier
  bool prev_quantified_group = false;  // the previous token closed a group holding one
  bool lazy = false;                   // the previous quantifier already has its lazy '?'
  auto quantifier = [&]() {
    if (prev_quantifier || prev_quantified_group) return true;
    if (!group_quantified.empty()) group_quantified.back() = true;
    prev_quantifier = true;
    prev_quantified_group = false;
    lazy = false;
    return false;
  };
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    switch (c) {
      case '\\': {
        ++i;  // the escaped character is an atom
        // A backreference (\12): libstdc++ overflows on a very long number.
        size_t digits = 0;
        while (i + digits < p.size() && p[i + digits] >= '0' && p[i + digits] <= '9') ++digits;
        if (digits > 4) return true;
        prev_quantifier = prev_quantified_group = false;
        break;
      }
      case '[':
        // A class is one atom: skip to its closing bracket (in ECMAScript "[]" is an empty
        // class, so a ']' right after '[' closes it).
        ++i;
        while (i < p.size() && p[i] != ']') {
          if (p[i] == '\\') ++i;
          ++i;
        }
        prev_quantifier = prev_quantified_group = false;
        break;
      case '(':
        group_quantified.push_back(false);
        if (i + 1 < p.size() && p[i + 1] == '?') ++i;  // (?: (?= (?! are not quantifiers
        prev_quantifier = prev_quantified_group = false;
        break;
      case ')': {
        bool inner = false;
        if (!group_quantified.empty()) {
          inner = group_quantified.back();
          group_quantified.pop_back();
          if (inner && !group_quantified.empty()) group_quantified.back() = true;
        }
        prev_quantifier = false;
        prev_quantified_group = inner;
        break;
      }
      case '?':
        if (prev_quantifier && !lazy) {  // a lazy quantifier ("*?"): still the same quantifier
          lazy = true;
          break;
        }
        if (quantifier()) return true;
        break;
      case '*':
      case '+':
        if (quantifier()) return true;
        break;
      case '{':
        if (i + 1 < p.size() && p[i + 1] >= '0' && p[i + 1] <= '9') {
          // {n}, {n,}, {n,m}: each count unrolls into that many copies of the atom.
          int64_t count = 0;
          while (i < p.size() && p[i] != '}') {
            if (p[i] >= '0' && p[i] <= '9') {
              count = count * 10 + (p[i] - '0');
              if (count > kMaxRepeat) return true;
            } else {
              count = 0;
            }
            ++i;
          }
          if (quantifier()) return true;
          break;
        }
        prev_quantifier = prev_quantified_group = false;
        break;
      default:
        prev_quantifier = prev_quantified_group = false;
    }
  }
  return false;
}

// The compiled pattern, or nullptr with ctx.error set.
const std::regex* compiled(const std::string& pattern, std::string_view fn, CallContext& ctx) {
  struct Cache {
    std::list<std::pair<std::string, std::regex>> lru;  // most recent first
    std::unordered_map<std::string_view, decltype(lru)::iterator> index;
  };
  thread_local Cache cache;
  if (auto it = cache.index.find(pattern); it != cache.index.end()) {
    cache.lru.splice(cache.lru.begin(), cache.lru, it->second);
    return &it->second->second;
  }
  if (pattern.size() > kMaxPattern) {
    fail(ctx, fn, "regular expression longer than 1024 bytes");
    return nullptr;
  }
  if (has_nested_quantifier(pattern)) {
    fail(ctx, fn,
         "regular expression '" + pattern +
             "' is refused: it repeats a repetition (like (a+)+) or has a count above 1000 or a "
             "longer number, which std::regex can take exponential time or memory on");
    return nullptr;
  }
  std::regex re;
  try {
    // std::regex reports a bad pattern only by throwing; keep it from leaving this function.
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(ctx, fn, "invalid regular expression '" + pattern + "': " + e.what());
    return nullptr;
  }
  if (cache.lru.size() >= kRegexCacheSize) {
    cache.index.erase(cache.lru.back().first);
    cache.lru.pop_back();
  }
  cache.lru.emplace_front(pattern, std::move(re));
  cache.index.emplace(cache.lru.front().first, cache.lru.begin());
  return &cache.lru.front().second;
}

// Runs `f` and turns the exceptions std::regex may throw while matching (error_complexity,
// error_stack) into a function error.
template <class F>
bool guarded_match(std::string_view fn, CallContext& ctx, F f) {
  try {
    return f();
  } catch (const std::regex_error& e) {
    return fail(ctx, fn, std::string("regular expression failed: ") + e.what());
  }
}

bool f_concat(Args a, CallContext&, Value& out) {
  // Null arguments are skipped (as in PostgreSQL), so one missing field does not blank the rest.
  std::string s;
  for (const auto& v : a) {
    if (v.is_null()) continue;
    if (v.is_string()) {
      s += v.as_string();
    } else {
      v.append_json(s);
    }
  }
  out = Value(std::move(s));
  return true;
}

// `if_null` is the result when either argument is null (eKuiper's choices: false for the
// predicates, -1 for indexof).
template <class F>
bool two_strings(Args a, CallContext& ctx, Value& out, std::string_view fn, Value if_null, F f) {
  if (any_null(a)) {
    out = std::move(if_null);
    return true;
  }
  const std::string* x = nullptr;
  const std::string* y = nullptr;
  if (!string_arg(a[0], fn, ctx, x) || !string_arg(a[1], fn, ctx, y)) return false;
  out = f(*x, *y);
  return true;
}

bool f_endswith(Args a, CallContext& c, Value& o) {
  return two_strings(
      a, c, o, "endswith", Value(false),
      [](const std::string& s, const std::string& x) { return Value(s.ends_with(x)); });
}
bool f_startswith(Args a, CallContext& c, Value& o) {
  return two_strings(
      a, c, o, "startswith", Value(false),
      [](const std::string& s, const std::string& x) { return Value(s.starts_with(x)); });
}
bool f_indexof(Args a, CallContext& c, Value& o) {
  return two_strings(
      a, c, o, "indexof", Value(int64_t{-1}), [](const std::string& s, const std::string& x) {
        const size_t at = s.find(x);
        return Value(at == std::string::npos ? int64_t{-1}
                                             : char_count(std::string_view(s).substr(0, at)));
      });
}

template <class F>
bool one_string(Args a, CallContext& ctx, Value& out, std::string_view fn, F f) {
  if (a[0].is_null()) return null_out(out);
  const std::string* s = nullptr;
  if (!string_arg(a[0], fn, ctx, s)) return false;
  out = f(*s);
  return true;
}

// length and numbytes of null are 0, as in eKuiper; length also counts an array's elements or an
// object's members.
bool f_length(Args a, CallContext& c, Value& o) {
  const Value& x = a[0];
  if (x.is_null() || x.is_array() || x.is_object()) {
    o = Value(static_cast<int64_t>(x.is_array()    ? x.as_array().size()
                                   : x.is_object() ? x.as_object().size()
                                                   : 0));
    return true;
  }
  return one_string(a, c, o, "length", [](const std::string& s) { return Value(char_count(s)); });
}
bool f_numbytes(Args a, CallContext& c, Value& o) {
  if (a[0].is_null()) {
    o = Value(int64_t{0});
    return true;
  }
  return one_string(a, c, o, "numbytes",
                    [](const std::string& s) { return Value(static_cast<int64_t>(s.size())); });
}
bool f_lower(Args a, CallContext& c, Value& o) {
  return one_string(a, c, o, "lower", [](std::string s) {
    for (auto& ch : s) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    return Value(std::move(s));
  });
}
bool f_upper(Args a, CallContext& c, Value& o) {
  return one_string(a, c, o, "upper", [](std::string s) {
    for (auto& ch : s) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    return Value(std::move(s));
  });
}
bool f_trim(Args a, CallContext& c, Value& o) {
  return one_string(a, c, o, "trim", [](const std::string& s) {
    std::string_view v = s;
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    return Value(v);
  });
}
bool f_ltrim(Args a, CallContext& c, Value& o) {
  return one_string(a, c, o, "ltrim", [](const std::string& s) {
    std::string_view v = s;
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    return Value(v);
  });
}
bool f_rtrim(Args a, CallContext& c, Value& o) {
  return one_string(a, c, o, "rtrim", [](const std::string& s) {
    std::string_view v = s;
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    return Value(v);
  });
}
bool f_reverse(Args a, CallContext& c, Value& o) {
  return one_string(a, c, o, "reverse", [](const std::string& s) {
    // Reverses characters, keeping each UTF-8 sequence's bytes in order.
    std::string r;
    r.reserve(s.size());
    size_t end = s.size();
    while (end > 0) {
      size_t start = end - 1;
      while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80 &&
             end - start < 4) {
        --start;
      }
      r.append(s, start, end - start);
      end = start;
    }
    return Value(std::move(r));
  });
}

// lpad/rpad(s, n): eKuiper pads with n spaces (not to a width of n).
template <bool Left>
bool pad(Args a, CallContext& ctx, Value& out, std::string_view fn) {
  if (any_null(a)) return null_out(out);
  const std::string* s = nullptr;
  int64_t n = 0;
  if (!string_arg(a[0], fn, ctx, s) || !int_arg(a[1], fn, ctx, n)) return false;
  if (n < 0 || n > kMaxPad) return fail(ctx, fn, "the padding must be between 0 and 1048576");
  std::string r;
  r.reserve(s->size() + static_cast<size_t>(n));
  if (!Left) r += *s;
  r.append(static_cast<size_t>(n), ' ');
  if (Left) r += *s;
  out = Value(std::move(r));
  return true;
}
bool f_lpad(Args a, CallContext& c, Value& o) { return pad<true>(a, c, o, "lpad"); }
bool f_rpad(Args a, CallContext& c, Value& o) { return pad<false>(a, c, o, "rpad"); }

bool f_substring(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) return null_out(out);
  const std::string* s = nullptr;
  int64_t start = 0;
  if (!string_arg(a[0], "substring", ctx, s) || !int_arg(a[1], "substring", ctx, start)) {
    return false;
  }
  int64_t end = INT64_MAX;
  if (a.size() > 2 && !int_arg(a[2], "substring", ctx, end)) return false;
  if (start < 0) return fail(ctx, "substring", "start must not be negative");
  if (end < start) return fail(ctx, "substring", "end must not be before start");
  const size_t from = byte_offset(*s, start);
  const size_t to = end == INT64_MAX ? s->size() : byte_offset(*s, end);
  out = Value(std::string_view(*s).substr(from, to - from));
  return true;
}

bool f_split_value(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) return null_out(out);
  const std::string* s = nullptr;
  const std::string* sep = nullptr;
  int64_t index = 0;
  if (!string_arg(a[0], "split_value", ctx, s) || !string_arg(a[1], "split_value", ctx, sep) ||
      !int_arg(a[2], "split_value", ctx, index)) {
    return false;
  }
  if (sep->empty()) return fail(ctx, "split_value", "the separator must not be empty");
  if (index < 0) {
    // From the end, as eKuiper: -1 is the last part.
    int64_t parts = 1;
    for (size_t at = s->find(*sep); at != std::string::npos; at = s->find(*sep, at + sep->size())) {
      ++parts;
    }
    index += parts;
    if (index < 0) return null_out(out);
  }
  size_t at = 0;
  for (int64_t i = 0; i < index; ++i) {
    const size_t next = s->find(*sep, at);
    if (next == std::string::npos) return null_out(out);  // fewer parts than index + 1
    at = next + sep->size();
  }
  const size_t next = s->find(*sep, at);
  out = Value(
      std::string_view(*s).substr(at, next == std::string::npos ? std::string::npos : next - at));
  return true;
}

bool regex_args(Args a, std::string_view fn, CallContext& ctx, const std::string*& s,
                const std::regex*& re) {
  const std::string* pattern = nullptr;
  if (!string_arg(a[0], fn, ctx, s) || !string_arg(a[1], fn, ctx, pattern)) return false;
  if (s->size() > kMaxRegexInput) {
    return fail(ctx, fn, "input longer than 4096 bytes for a regular expression");
  }
  re = compiled(*pattern, fn, ctx);
  return re != nullptr;
}

bool f_regexp_matches(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) {
    out = Value(false);  // as eKuiper
    return true;
  }
  const std::string* s = nullptr;
  const std::regex* re = nullptr;
  if (!regex_args(a, "regexp_matches", ctx, s, re)) return false;
  return guarded_match("regexp_matches", ctx, [&] {
    out = Value(std::regex_search(*s, *re));
    return true;
  });
}

bool f_regexp_replace(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) return null_out(out);
  const std::string* s = nullptr;
  const std::regex* re = nullptr;
  const std::string* repl = nullptr;
  if (!regex_args(a, "regexp_replace", ctx, s, re) ||
      !string_arg(a[2], "regexp_replace", ctx, repl)) {
    return false;
  }
  return guarded_match("regexp_replace", ctx, [&] {
    out = Value(std::regex_replace(*s, *re, *repl));
    return true;
  });
}

bool f_regexp_substr(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) return null_out(out);
  const std::string* s = nullptr;
  const std::regex* re = nullptr;
  if (!regex_args(a, "regexp_substr", ctx, s, re)) return false;
  return guarded_match("regexp_substr", ctx, [&] {
    std::smatch m;
    out = std::regex_search(*s, m, *re) ? Value(m.str(0)) : Value();
    return true;
  });
}

// format(x, d): x with d decimals and thousands separators, as eKuiper's format without a locale.
bool f_format(Args a, CallContext& ctx, Value& out) {
  if (any_null(a)) return null_out(out);
  auto x = a[0].number();
  if (!x) return type_error(ctx, "format", "a number", a[0]);
  int64_t d = 0;
  if (!int_arg(a[1], "format", ctx, d)) return false;
  if (d < 0 || d > 20) return fail(ctx, "format", "decimals must be between 0 and 20");
  if (!std::isfinite(*x)) return null_out(out);
  char buf[400];
  const int n = std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(d), *x);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return null_out(out);
  std::string_view num(buf, static_cast<size_t>(n));
  std::string r;
  if (num.front() == '-') {
    r += '-';
    num.remove_prefix(1);
  }
  const size_t dot = std::min(num.find('.'), num.size());
  for (size_t i = 0; i < dot; ++i) {
    if (i > 0 && (dot - i) % 3 == 0) r += ',';
    r += num[i];
  }
  r += num.substr(dot);
  out = Value(std::move(r));
  return true;
}

const ScalarFunction kString[] = {
    {"concat", 0, -1, f_concat},
    {"endswith", 2, 2, f_endswith},
    {"format", 2, 2, f_format},
    {"indexof", 2, 2, f_indexof},
    {"length", 1, 1, f_length},
    {"lower", 1, 1, f_lower},
    {"lpad", 2, 2, f_lpad},
    {"ltrim", 1, 1, f_ltrim},
    {"numbytes", 1, 1, f_numbytes},
    {"regexp_matches", 2, 2, f_regexp_matches},
    {"regexp_replace", 3, 3, f_regexp_replace},
    {"regexp_substr", 2, 2, f_regexp_substr},
    {"reverse", 1, 1, f_reverse},
    {"rpad", 2, 2, f_rpad},
    {"rtrim", 1, 1, f_rtrim},
    {"split_value", 3, 3, f_split_value},
    {"startswith", 2, 2, f_startswith},
    {"substring", 2, 3, f_substring},
    {"trim", 1, 1, f_trim},
    {"upper", 1, 1, f_upper},
};

}  // namespace

std::span<const ScalarFunction> string_functions() { return kString; }

}  // namespace verge::rules::fn

// JSON path functions over nested values, with a JSONPath subset: $ (the value itself), .name,
// ['name'] or ["name"], [n] (negative counts from the end), [*] and .* (every element or member).
#include <vector>

#include "rules/functions_internal.h"

namespace verge::rules::fn {
namespace {

using Args = std::span<const Value>;

struct Step {
  enum Kind : uint8_t { Name, Index, Wildcard } kind = Name;
  std::string name;
  int64_t index = 0;
};

// Parses a path into steps; false with `error` set on a malformed path.
bool parse_path(std::string_view p, std::vector<Step>& steps, std::string& error) {
  size_t i = 0;
  while (i < p.size() && p[i] == ' ') ++i;
  if (i >= p.size() || p[i] != '$') {
    error = "a path starts with '$'";
    return false;
  }
  ++i;
  while (i < p.size()) {
    if (p[i] == '.') {
      ++i;
      if (i < p.size() && p[i] == '*') {
        steps.push_back({Step::Wildcard, {}, 0});
        ++i;
        continue;
      }
      const size_t start = i;
      while (i < p.size() && p[i] != '.' && p[i] != '[') ++i;
      if (i == start) {
        error = "expected a member name after '.'";
        return false;
      }
      steps.push_back({Step::Name, std::string(p.substr(start, i - start)), 0});
    } else if (p[i] == '[') {
      ++i;
      if (i < p.size() && (p[i] == '\'' || p[i] == '"')) {
        const char q = p[i++];
        std::string name;
        while (i < p.size() && p[i] != q) {
          if (p[i] == '\\' && i + 1 < p.size()) ++i;
          name += p[i++];
        }
        if (i + 1 >= p.size() || p[i + 1] != ']') {
          error = "unterminated ['name']";
          return false;
        }
        i += 2;
        steps.push_back({Step::Name, std::move(name), 0});
      } else if (i < p.size() && p[i] == '*') {
        if (i + 1 >= p.size() || p[i + 1] != ']') {
          error = "expected ']' after '*'";
          return false;
        }
        i += 2;
        steps.push_back({Step::Wildcard, {}, 0});
      } else {
        bool neg = false;
        if (i < p.size() && p[i] == '-') {
          neg = true;
          ++i;
        }
        const size_t start = i;
        int64_t n = 0;
        while (i < p.size() && p[i] >= '0' && p[i] <= '9' && i - start < 18) {
          n = n * 10 + (p[i] - '0');
          ++i;
        }
        if (i == start || i >= p.size() || p[i] != ']') {
          error = "expected an index, '*' or a quoted name in [...]";
          return false;
        }
        ++i;
        steps.push_back({Step::Index, {}, neg ? -n : n});
      }
    } else {
      error = "expected '.' or '['";
      return false;
    }
  }
  return true;
}

// Appends the values `steps` reach from v; stops after the first when `first_only`.
void walk(const Value& v, std::span<const Step> steps, std::vector<const Value*>& out,
          bool first_only) {
  if (first_only && !out.empty()) return;
  if (steps.empty()) {
    out.push_back(&v);
    return;
  }
  const Step& s = steps.front();
  const auto rest = steps.subspan(1);
  switch (s.kind) {
    case Step::Name:
      if (const Value* m = v.find(s.name)) walk(*m, rest, out, first_only);
      return;
    case Step::Index:
      if (const Value* e = v.at(s.index)) walk(*e, rest, out, first_only);
      return;
    case Step::Wildcard:
      if (v.is_array()) {
        for (const auto& e : v.as_array()) walk(e, rest, out, first_only);
      } else if (v.is_object()) {
        for (const auto& m : v.as_object()) walk(m.second, rest, out, first_only);
      }
      return;
  }
}

enum class Mode { Query, First, Exists };

template <Mode M>
bool path_fn(Args a, CallContext& ctx, Value& out) {
  constexpr std::string_view name = M == Mode::Query   ? "json_path_query"
                                    : M == Mode::First ? "json_path_query_first"
                                                       : "json_path_exists";
  if (!a[1].is_null() && !a[1].is_string()) return type_error(ctx, name, "a path string", a[1]);
  if (a[1].is_null() || (a[0].is_null() && M != Mode::Exists)) {
    out = Value();
    return true;
  }
  std::vector<Step> steps;
  std::string error;
  if (!parse_path(a[1].as_string(), steps, error)) {
    return fail(ctx, name, "invalid path '" + a[1].as_string() + "': " + error);
  }
  std::vector<const Value*> found;
  walk(a[0], steps, found, M != Mode::Query);
  if (M == Mode::Exists) {
    out = Value(!found.empty());
    return true;
  }
  bool wildcard = false;
  for (const auto& s : steps) wildcard = wildcard || s.kind == Step::Wildcard;
  if (M == Mode::Query && wildcard) {
    // Every match, as an array (empty when nothing matched).
    ValueArray arr;
    arr.reserve(found.size());
    for (const Value* v : found) arr.push_back(*v);
    out = Value(std::move(arr));
    return true;
  }
  out = found.empty() ? Value() : *found.front();
  return true;
}

const ScalarFunction kJson[] = {
    {"json_path_query", 2, 2, path_fn<Mode::Query>},
    {"json_path_query_first", 2, 2, path_fn<Mode::First>},
    {"json_path_exists", 2, 2, path_fn<Mode::Exists>},
};

}  // namespace

std::span<const ScalarFunction> json_functions() { return kJson; }

}  // namespace verge::rules::fn

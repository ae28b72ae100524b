// The function registry: joins the tables of the function files into one list per kind and looks
// names up (case-insensitively) for the planner, once per call site.
#include <algorithm>
#include <vector>

#include "rules/functions_internal.h"

namespace verge::rules {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

const std::vector<ScalarFunction>& scalars() {
  // Built once, on first use (thread-safe static initialisation), then only read.
  static const std::vector<ScalarFunction> all = [] {
    std::vector<ScalarFunction> v;
    for (auto table : {fn::math_functions(), fn::string_functions(), fn::convert_functions(),
                       fn::time_functions(), fn::json_functions(), fn::hash_functions()}) {
      v.insert(v.end(), table.begin(), table.end());
    }
    return v;
  }();
  return all;
}

template <class T>
const T* find_in(std::span<const T> table, std::string_view name) {
  auto it =
      std::find_if(table.begin(), table.end(), [&](const T& f) { return iequals(name, f.name); });
  return it == table.end() ? nullptr : &*it;
}

}  // namespace

const ScalarFunction* find_scalar(std::string_view name) {
  return find_in(scalar_functions(), name);
}
const AggregateFunction* find_aggregate(std::string_view name) {
  return find_in(aggregate_functions(), name);
}
const AnalyticFunction* find_analytic(std::string_view name) {
  return find_in(analytic_functions(), name);
}

std::span<const ScalarFunction> scalar_functions() { return scalars(); }
std::span<const AggregateFunction> aggregate_functions() { return fn::aggregate_table(); }
std::span<const AnalyticFunction> analytic_functions() { return fn::analytic_table(); }

namespace fn {

bool type_error(CallContext& ctx, std::string_view fn, std::string_view what, const Value& v) {
  ctx.error.assign(fn);
  ctx.error += ": expected ";
  ctx.error += what;
  ctx.error += ", got ";
  ctx.error += Value::type_name(v.type());
  return false;
}

bool fail(CallContext& ctx, std::string_view fn, std::string_view message) {
  ctx.error.assign(fn);
  ctx.error += ": ";
  ctx.error += message;
  return false;
}

}  // namespace fn
}  // namespace verge::rules

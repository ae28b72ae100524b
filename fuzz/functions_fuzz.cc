// Calls every scalar, aggregate and analytic function with argument rows parsed from the input
// (two bytes pick the function, the rest is a JSON array of argument arrays). A function must
// either succeed or fail with an error message; never crash, hang or fail silently.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include "core/value.h"
#include "rules/functions.h"
using namespace verge;
using namespace verge::rules;
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto fns = scalar_functions();
  const auto aggs = aggregate_functions();
  const auto ans = analytic_functions();
  const size_t total = fns.size() + aggs.size() + ans.size();
  const size_t pick = (data[0] | (data[1] << 8)) % total;
  auto r = parse_json(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2));
  if (!r || !r->is_array()) return 0;
  const auto& rows = r->as_array();
  CallContext ctx;
  ctx.now_ms = 1700000000000;
  if (pick < fns.size()) {
    const auto& f = fns[pick];
    for (const auto& row : rows) {
      if (!row.is_array()) continue;
      const auto& a = row.as_array();
      const int n = static_cast<int>(a.size());
      if (n < f.min_args || (f.max_args >= 0 && n > f.max_args)) continue;
      Value out;
      ctx.error.clear();
      if (!f.fn(a, ctx, out) && ctx.error.empty()) std::abort();
      (void)out.to_json();
    }
  } else if (pick < fns.size() + aggs.size()) {
    const auto& f = aggs[pick - fns.size()];
    auto acc = f.make();
    for (const auto& row : rows) {
      if (!row.is_array()) continue;
      const auto& a = row.as_array();
      const int n = static_cast<int>(a.size());
      if ((n < f.min_args && !(n == 0 && f.star_allowed)) || n > f.max_args) continue;
      ctx.error.clear();
      if (!acc->add(a, ctx) && ctx.error.empty()) std::abort();
    }
    (void)acc->result().to_json();
  } else {
    const auto& f = ans[pick - fns.size() - aggs.size()];
    auto st = f.make();
    for (const auto& row : rows) {
      if (!row.is_array()) continue;
      const auto& a = row.as_array();
      const int n = static_cast<int>(a.size());
      if (n < f.min_args || (f.max_args >= 0 && n > f.max_args)) continue;
      Value out;
      ctx.error.clear();
      if (!st->call(a, ctx, out) && ctx.error.empty()) std::abort();
    }
  }
  return 0;
}

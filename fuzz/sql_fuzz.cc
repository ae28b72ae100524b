// Fuzzes the rule language's parser: any bytes give a statement or an error with a position,
// never a crash, a hang or unbounded recursion. A parsed expression also prints back to text
// that parses to the same text (to_string is what logs and default column names use).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rules/parser.h"

namespace {

void check_error(const verge::rules::SqlError& e) {
  if (e.pos.line < 1 || e.pos.column < 1 || e.message.empty()) std::abort();
  (void)verge::rules::format_error(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view sql(reinterpret_cast<const char*>(data), size);
  auto s = verge::rules::parse_select(sql);
  if (!s) check_error(s.error());
  auto c = verge::rules::parse_create(sql);
  if (!c) check_error(c.error());
  auto e = verge::rules::parse_expression(sql);
  if (!e) {
    check_error(e.error());
    return 0;
  }
  const std::string once = verge::rules::to_string(**e);
  auto again = verge::rules::parse_expression(once);
  if (!again) {
    // The printed form adds parentheses, so a tree near the nesting limit may print to text
    // that is over it; any other failure is a printer or parser bug.
    if (again.error().message.find("nested too deeply") == std::string::npos) std::abort();
    return 0;
  }
  if (verge::rules::to_string(**again) != once) std::abort();
  return 0;
}

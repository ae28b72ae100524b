// Fuzzes the JSON parser and Value's JSON output: any bytes either parse or give an error with an
// offset inside the input, and whatever parses writes back as JSON that parses to an equal value
// (with an equal hash) and writes back identically.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = verge::parse_json(text, 32);
  if (!r) {
    if (r.error().offset > size || r.error().message.empty()) std::abort();
    return 0;
  }
  const std::string out = r->to_json();
  auto back = verge::parse_json(out, 32);
  if (!back) std::abort();
  if (!(*back == *r) || back->hash() != r->hash()) std::abort();
  if (back->to_json() != out) std::abort();
  // Ordering is antisymmetric where it is defined.
  auto c = verge::compare_values(*r, *back);
  if (c && *c != 0) std::abort();
  return 0;
}

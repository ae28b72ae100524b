// Fuzzes what a node does with a desired-state document from its hub before applying it: parse,
// validate, and diff against the empty state and against itself. A document that validates must
// diff against itself to nothing, and against the empty state to one put per item.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "core/value.h"
#include "sync/desired.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace verge;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = parse_json(text);
  if (!doc) return 0;
  auto valid = sync::validate_desired(*doc);
  if (!valid) {
    if (valid.error().message.empty()) std::abort();
    return 0;
  }
  if (!sync::diff_desired(*doc, *doc).empty()) std::abort();
  size_t items = 0;  // distinct names: JSON may repeat a key
  for (std::string_view kind : sync::kDesiredKinds) {
    if (const Value* k = doc->find(kind); k != nullptr && k->type() == Value::Type::Object) {
      std::set<std::string> names;
      for (const auto& [name, spec] : k->as_object()) names.insert(name);
      items += names.size();
    }
  }
  const auto changes = sync::diff_desired(Value(ValueObject{}), *doc);
  if (changes.size() != items) std::abort();
  for (const auto& c : changes) {
    if (c.op != sync::ItemChange::Op::Put || c.spec == nullptr) std::abort();
  }
  return 0;
}

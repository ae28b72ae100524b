// Fuzzes the row templates of the actions (rules/template.h): parsing any text never crashes;
// a template that parses renders against a fixed row in both missing-field modes, and a
// template without fields renders to its own text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rules/template.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const verge::Value& row() {
  static const verge::Value v = *verge::parse_json(
      R"({"a":{"b":[1,{"c":"x"}],"s":"t"},"n":null,"f":1.5,"json":2,"":"empty"})");
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto t = verge::rules::Template::parse(in);
  if (!t) {
    check(!t.error().message.empty());
    return 0;
  }
  check(t->source() == in);
  auto lenient = t->render(row(), verge::rules::Template::Missing::Null);
  check(lenient.has_value());  // missing fields render as null: never an error
  auto strict = t->render(row(), verge::rules::Template::Missing::Error);
  if (strict) check(*strict == *lenient);
  if (!t->has_fields()) check(*lenient == in);
  return 0;
}

// Row templates of the actions: "alerts/{{deviceId}}/{{a.b[0]}}" with row fields substituted.
// A template is parsed once when its action is created; rendering is a walk over its parts.
//
//   {{path}}   a field of the row: names separated by '.', array elements as [n] (negative
//              counts from the end), spaces inside the braces ignored. Strings are inserted raw,
//              every other value as compact JSON.
//   {{json}}   the whole row as JSON (so a top-level column called "json" cannot be named).
// There is no escape for a literal "{{": templates are topics, keys and small payloads.
//
// Immutable after parse(); safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "core/value.h"

namespace verge::rules {

class Template {
 public:
  // How a field missing from the row (or null) renders.
  enum class Missing : uint8_t {
    Null,   // the text "null" (payloads: keeps `{"t": {{temp}}}` valid JSON)
    Error,  // rendering fails naming the field (topics, keys, device ids, series names)
  };

  // Errors: "unterminated {{ at offset 7", "empty {{}} at offset 3", "bad path 'a..b'".
  static Result<Template> parse(std::string_view text);
  // The template that renders the whole row as JSON (an omitted payload).
  static Template whole_row();

  // Appends the rendering of `row` to `out` (out may hold a partial result on error).
  Result<void> render(const Value& row, std::string& out, Missing missing = Missing::Null) const;
  Result<std::string> render(const Value& row, Missing missing = Missing::Null) const {
    std::string out;
    auto r = render(row, out, missing);
    if (!r) return unexpected(r.error());
    return out;
  }

  const std::string& source() const { return source_; }
  bool has_fields() const;  // false: the template is constant text

 private:
  struct Step {
    std::string name;   // a member name, or empty for an index
    int64_t index = 0;  // used when name is empty
  };
  struct Field {
    std::vector<Step> path;  // empty: the whole row
    std::string text;        // the path as written, for errors
  };
  using Part = std::variant<std::string, Field>;

  std::string source_;
  std::vector<Part> parts_;
};

// Appends `v` as a template inserts it: strings raw, everything else as compact JSON.
void append_template_value(const Value& v, std::string& out);

}  // namespace verge::rules

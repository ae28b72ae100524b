#include "rules/template.h"

#include <charconv>

namespace verge::rules {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Error bad_path(std::string_view path, std::string_view why) {
  return Error{"bad path '" + std::string(path) + "' in template: " + std::string(why)};
}

}  // namespace

Result<Template> Template::parse(std::string_view text) {
  Template t;
  t.source_ = std::string(text);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.emplace_back(std::string(text.substr(pos)));
      break;
    }
    if (open > pos) t.parts_.emplace_back(std::string(text.substr(pos, open - pos)));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return unexpected(Error{"unterminated {{ at offset " + std::to_string(open)});
    }
    const std::string_view inner = trim(text.substr(open + 2, close - open - 2));
    if (inner.empty()) return unexpected(Error{"empty {{}} at offset " + std::to_string(open)});
    Field f;
    f.text = std::string(inner);
    if (inner != "json") {
      // name ( '.' name | '[' int ']' )*
      size_t i = 0;
      bool need_name = true;
      while (i < inner.size()) {
        const char c = inner[i];
        if (c == '[') {
          const size_t end = inner.find(']', i);
          if (end == std::string_view::npos) return unexpected(bad_path(inner, "missing ']'"));
          const std::string_view num = inner.substr(i + 1, end - i - 1);
          int64_t idx = 0;
          auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), idx);
          if (num.empty() || ec != std::errc() || p != num.data() + num.size()) {
            return unexpected(bad_path(inner, "index must be an integer"));
          }
          if (need_name && f.path.empty()) {
            return unexpected(bad_path(inner, "starts with an index"));
          }
          f.path.push_back(Step{"", idx});
          i = end + 1;
          need_name = false;
        } else if (c == '.') {
          if (need_name) return unexpected(bad_path(inner, "empty name"));
          need_name = true;
          ++i;
        } else if (c == ']' || c == '{' || c == '}' || c == ' ' || c == '\t') {
          return unexpected(bad_path(inner, std::string("unexpected '") + c + "'"));
        } else {
          if (!need_name) return unexpected(bad_path(inner, "expected '.' or '['"));
          size_t end = i;
          while (end < inner.size() && inner[end] != '.' && inner[end] != '[' &&
                 inner[end] != ']' && inner[end] != ' ' && inner[end] != '{' && inner[end] != '}' &&
                 inner[end] != '\t') {
            ++end;
          }
          f.path.push_back(Step{std::string(inner.substr(i, end - i)), 0});
          i = end;
          need_name = false;
        }
      }
      if (need_name) return unexpected(bad_path(inner, "ends with '.'"));
    }
    t.parts_.emplace_back(std::move(f));
    pos = close + 2;
  }
  return t;
}

Template Template::whole_row() {
  Template t;
  t.source_ = "{{json}}";
  t.parts_.emplace_back(Field{{}, "json"});
  return t;
}

bool Template::has_fields() const {
  for (const auto& p : parts_) {
    if (std::holds_alternative<Field>(p)) return true;
  }
  return false;
}

void append_template_value(const Value& v, std::string& out) {
  if (v.is_string()) {
    out += v.as_string();
  } else {
    v.append_json(out);
  }
}

Result<void> Template::render(const Value& row, std::string& out, Missing missing) const {
  for (const auto& part : parts_) {
    if (const auto* s = std::get_if<std::string>(&part)) {
      out += *s;
      continue;
    }
    const Field& f = std::get<Field>(part);
    const Value* v = &row;
    for (const Step& step : f.path) {
      v = step.name.empty() ? v->at(step.index) : v->find(step.name);
      if (v == nullptr) break;
    }
    if (v == nullptr || v->is_null()) {
      if (missing == Missing::Error) {
        return unexpected(Error{"field '" + f.text + "' is missing or null in the row"});
      }
      out += "null";
      continue;
    }
    append_template_value(*v, out);
  }
  return {};
}

}  // namespace verge::rules

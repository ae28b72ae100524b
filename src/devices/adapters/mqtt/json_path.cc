#include "devices/adapters/mqtt/json_path.h"

#include <charconv>

namespace verge::devices {

Result<JsonPath> JsonPath::parse(std::string_view text) {
  JsonPath path;
  size_t i = 0;
  const auto bad = [&](const std::string& why) {
    return unexpected(Error{"bad JSON path '" + std::string(text) + "': " + why});
  };
  while (i < text.size()) {
    if (text[i] == '[') {
      const size_t close = text.find(']', i);
      if (close == std::string_view::npos) return bad("missing ']'");
      const std::string_view digits = text.substr(i + 1, close - i - 1);
      int64_t index = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        return bad("expected an integer index in []");
      }
      path.steps_.push_back(Step{"", index});
      i = close + 1;
      if (i < text.size() && text[i] != '.' && text[i] != '[') return bad("expected '.' or '['");
      if (i < text.size() && text[i] == '.') {
        ++i;
        if (i == text.size()) return bad("ends with '.'");
      }
      continue;
    }
    const size_t end = text.find_first_of(".[]", i);
    const std::string_view name = text.substr(i, end - i);
    if (name.empty()) return bad("empty member name");
    path.steps_.push_back(Step{std::string(name), 0});
    i = end == std::string_view::npos ? text.size() : end;
    if (i < text.size() && text[i] == ']') return bad("unexpected ']'");
    if (i < text.size() && text[i] == '.') {
      ++i;
      if (i == text.size()) return bad("ends with '.'");
    }
  }
  return path;
}

const Value* JsonPath::find(const Value& root) const {
  const Value* v = &root;
  for (const Step& s : steps_) {
    v = s.member.empty() ? v->at(s.index) : v->find(s.member);
    if (v == nullptr) return nullptr;
  }
  return v;
}

}  // namespace verge::devices

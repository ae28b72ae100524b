#include "cmd/ctl_doc.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace verge::cmd::ctl {

namespace {

// A copy of core/config.cc's yaml_to_value, which is private to that file: plain scalars read as
// null, bool, int or float when they look like one; quoted scalars stay strings.
Value yaml_to_value(const YAML::Node& n) {
  if (n.IsSequence()) {
    ValueArray a;
    for (const auto& e : n) a.push_back(yaml_to_value(e));
    return a;
  }
  if (n.IsMap()) {
    ValueObject o;
    for (const auto& kv : n) o.emplace_back(kv.first.Scalar(), yaml_to_value(kv.second));
    return o;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  double d = 0;
  auto [pd, ecd] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ecd == std::errc() && pd == s.data() + s.size()) return d;
  return s;
}

}  // namespace

Result<Value> parse_doc_text(std::string_view text, std::string_view name) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    auto v = parse_json(text);
    if (!v) {
      return unexpected(Error{std::string(name) + ": invalid JSON at offset " +
                              std::to_string(v.error().offset) + ": " + v.error().message});
    }
    return std::move(*v);
  }
  try {
    return yaml_to_value(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    std::string where(name);
    if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
    return unexpected(Error{where + ": invalid YAML: " + e.msg});
  }
}

Result<Value> read_doc_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(Error{path + ": cannot open"});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_doc_text(text.str(), path);
}

}  // namespace verge::cmd::ctl

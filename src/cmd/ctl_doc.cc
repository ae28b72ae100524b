#include "cmd/ctl_doc.h"

#include "core/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace verge::cmd::ctl {

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
  return parse_yaml_value(text, name);
}

Result<Value> read_doc_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(Error{path + ": cannot open"});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_doc_text(text.str(), path);
}

}  // namespace verge::cmd::ctl

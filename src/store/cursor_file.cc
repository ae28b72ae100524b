#include "store/cursor_file.h"

#include <cstdio>
#include <cstdlib>

#include "store/crc32c.h"

namespace verge::store {
namespace {
constexpr std::string_view kFirstLine = "verge-cursors 1\n";
}

bool valid_cursor_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

std::string encode_cursors(const CursorMap& cursors) {
  std::string out(kFirstLine);
  for (const auto& [name, offset] : cursors) {
    out += name;
    out += ' ';
    out += std::to_string(offset);
    out += '\n';
  }
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc32c %08x\n", crc32c(out));
  out += crc;
  return out;
}

Result<CursorMap> decode_cursors(std::string_view text) {
  const auto bad = [](const std::string& why) {
    return unexpected(Error{"cursor file is damaged: " + why});
  };
  if (text.substr(0, kFirstLine.size()) != kFirstLine) return bad("bad first line");
  const size_t crc_line = text.rfind("crc32c ");
  if (crc_line == std::string_view::npos || text.size() != crc_line + 16 || text.back() != '\n') {
    return bad("no checksum line");
  }
  char* end = nullptr;
  const std::string hex(text.substr(crc_line + 7, 8));
  const unsigned long want = std::strtoul(hex.c_str(), &end, 16);
  if (end != hex.c_str() + 8 || want != crc32c(text.substr(0, crc_line))) return bad("crc");
  CursorMap out;
  std::string_view body = text.substr(kFirstLine.size(), crc_line - kFirstLine.size());
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    const std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || !valid_cursor_name(line.substr(0, sp))) {
      return bad("bad line");
    }
    const std::string num(line.substr(sp + 1));
    if (num.empty() || num.size() > 20 ||
        num.find_first_not_of("0123456789") != std::string::npos) {
      return bad("bad offset");
    }
    out[std::string(line.substr(0, sp))] = std::strtoull(num.c_str(), nullptr, 10);
  }
  return out;
}

Result<CursorMap> load_cursors(Filesystem& fs, const std::string& dir) {
  const std::string path = dir + "/cursors";
  if (!fs.exists(path)) return CursorMap{};
  auto f = fs.open(path, OpenMode::Read);
  if (!f) return unexpected(Error{f.error().message});
  auto size = (*f)->size();
  if (!size) return unexpected(Error{size.error().message});
  if (*size > (16u << 20)) return unexpected(Error{path + ": cursor file is too large"});
  std::string text(*size, '\0');
  auto n = (*f)->read_at(0, text.data(), text.size());
  if (!n) return unexpected(Error{n.error().message});
  text.resize(*n);
  auto m = decode_cursors(text);
  if (!m) return unexpected(Error{path + ": " + m.error().message});
  return m;
}

FsResult<void> save_cursors(Filesystem& fs, const std::string& dir, const CursorMap& cursors) {
  const std::string tmp = dir + "/cursors.tmp";
  auto f = fs.open(tmp, OpenMode::Create);
  if (!f) return unexpected(f.error());
  if (auto r = (*f)->append(encode_cursors(cursors)); !r) return r;
  if (auto r = (*f)->sync(); !r) return r;
  f->reset();
  return fs.rename(tmp, dir + "/cursors");
}

}  // namespace verge::store
